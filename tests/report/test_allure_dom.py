"""The Allure report as a lab files it: built from a small real run by the locally installed
Allure 3 CLI (npm ci, never npx), opened in headless Chromium, and read from the rendered DOM.

The run: one operating point of the CP PWM case (4.2.9.5) on the full grid (which keeps plots)
against a simulated pile whose duty is 0.7 % off, so a check fails and a plot is attached.
The single-file report renders in JavaScript; a test's page opens at the URL fragment
``#<test result id>`` (Allure 3: md5 of the result's uuid); attachments show collapsed by
name and type, their content embedded in the page.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import allure_html
from bench.report.allure_environment import environment_items, parse_properties, properties_text, write_environment
from bench.report.allure_html import build_allure_report, find_cli, find_node
from bench.report.chromium import dump_dom, find_chromium

ROOT = Path(__file__).resolve().parents[2]
RUN_ID = "dom"
PROFILE = "sim-ac-7kw"
TITLE = "Conformance — Bench Simulation SIM-AC7 (S/N SIMAC0001)"
RUN = [
    sys.executable,
    "-m",
    "pytest",
    "testcases/ac/test_cp_pwm.py",
    "--profile",
    f"profiles/{PROFILE}.toml",
    "--grid",
    "full",
    "--sim-set",
    "pwm_duty_offset_pct=0.7",
    "--run-id",
    RUN_ID,
    "-k",
    "offered_current and 16",
    "-q",
    "-p",
    "no:hypothesispytest",
    "-p",
    "no:cacheprovider",
    "-o",
    "addopts=",
]
# Not recorded by the run: added to the environment to see that a problem reaches the report.
PROBLEM = {"role": "scope", "kind": "calibration_overdue", "message": "calibration due 2025-01-31 is past (DOM test)"}

needs_cli = pytest.mark.skipif(
    find_node() is None or find_cli() is None,
    reason="the local Allure CLI is missing: run `npm ci` in the project root (and install Node.js)",
)
needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="no Chromium (Debian: apt-get install chromium)")


def _text(dom: str) -> str:
    """The visible text of a DOM dump, whitespace folded."""
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", dom)
    return re.sub(
        r"\s+", " ", text.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    ).strip()


def _summary_line_value(value) -> str:
    """A check's value as the report's step names write it (bench.core.checks.Check.summary)."""
    return f"{value:.6g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else repr(value)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    report_dir = tmp_path_factory.mktemp("allure-dom")
    done = subprocess.run(
        [*RUN, "--report-dir", str(report_dir)], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 1, f"expected one failing case:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    run_dir = report_dir / RUN_ID
    profile_dir = run_dir / PROFILE
    checks = [
        json.loads(line)
        for line in (profile_dir / "checks.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    failing = next(c for c in checks if c["verdict"] == "fail")
    results = [
        json.loads(p.read_text(encoding="utf-8")) for p in (profile_dir / "allure-results").glob("*-result.json")
    ]
    result = next(r for r in results if r["name"] == failing["test"].split("::")[-1])
    # summary.json may be changing shape; the environment needs only what it can read of it.
    try:
        summary = json.loads((profile_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {}
    summary = {**summary, "problems": [*(summary.get("problems") or []), PROBLEM]}
    write_environment(profile_dir / "allure-results", summary)
    page = build_allure_report(run_dir, TITLE)
    return {
        "run_dir": run_dir,
        "profile_dir": profile_dir,
        "page": page,
        "failing": failing,
        "result": result,
        "summary": summary,
    }


@needs_cli
@needs_chromium
def test_report_dom_shows_clause_failing_value_plot_and_environment(built):
    page = built["page"]
    assert page == built["run_dir"] / "report.html" and page.is_file()
    html = page.read_text(encoding="utf-8")
    assert "googletagmanager" not in html  # the report phones nowhere
    assert not (built["run_dir"] / "allure-report").exists()  # one file, no second copy

    front = dump_dom(page)
    front_text = _text(front)
    assert TITLE in front_text
    assert "4.2.9.5" in front_text  # the story (clause) in the tree: epic → feature → story
    assert "Residential charging technical rules" in front_text
    dut = built["summary"].get("dut") or {}
    for shown in (dut.get("model"), dut.get("serial"), PROBLEM["message"]):
        if shown:
            assert shown in front_text, f"environment value {shown!r} not in the report's Metadata"

    result = built["result"]
    test_id = hashlib.md5(result["uuid"].encode()).hexdigest()
    leaf = re.search(
        r'data-tree-node-id="([0-9a-f]{32})"[^>]*>(?:(?!</button>).)*?' + re.escape(result["name"]), front, flags=re.S
    )
    if leaf:  # the tree is open in a small report: its leaf names the page to open
        test_id = leaf.group(1)

    test_dom = dump_dom(page, fragment=test_id)
    test_text = _text(test_dom)
    failing = built["failing"]
    assert result["name"] in test_text
    assert f"{failing['key']}: {_summary_line_value(failing['value'])}" in test_text
    assert "FAIL" in test_text

    plots = [a for a in result["attachments"] if a.get("type") == "image/png"]
    assert plots, "the full grid attaches a plot"
    blocks = re.findall(
        r'<div data-testid="test-result-attachment".*?(?=<div data-testid="test-result-attachment"|$)',
        test_dom,
        flags=re.S,
    )
    plot_blocks = [b for b in blocks if plots[0]["name"] in _text(b) and "image/png" in b]
    assert plot_blocks, f"no attachment {plots[0]['name']!r} (image/png) on the test's page"
    assert "test-result-attachment-missed" not in plot_blocks[0]
    png = (built["profile_dir"] / "allure-results" / plots[0]["source"]).read_bytes()
    assert base64.b64encode(png).decode() in html  # the image itself is inside the one file


def test_csv_beside_the_plot_holds_the_plotted_points(built):
    result = built["result"]
    csvs = [a for a in result["attachments"] if a["source"].endswith(".csv")]
    plot = next(a for a in result["attachments"] if a.get("type") == "image/png")
    # the plotted points beside the plot, and the record's per-cycle figures (issue 11)
    assert sorted(a["name"] for a in csvs) == [plot["name"], f"{plot['name']} per cycle"]
    test_dirs = [p for p in (built["profile_dir"] / "tests").iterdir() if p.is_dir()]
    pngs = [p for d in test_dirs for p in d.glob("*.png")]
    per_cycle = [p for d in test_dirs for p in d.glob("*per_cycle.csv")]
    assert per_cycle
    assert all(p.read_text(encoding="utf-8").startswith("start_s,period_s,frequency_hz") for p in per_cycle)
    assert pngs
    for png in pngs:
        table = png.with_suffix(".csv")
        assert table.is_file(), f"no CSV beside {png.name}"
        with table.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["time (ms)", "cp (V)"]
        times = [float(r[0]) for r in rows[1:]]
        assert 100 < len(times) <= 40000 and times == sorted(times)


@needs_cli
def test_several_profiles_environments_are_merged(tmp_path):
    run_dir = tmp_path / "run"
    for name, serial in (("lab-ac", "AC-0001"), ("lab-dc", "DC-0002")):
        write_environment(
            run_dir / name / "allure-results",
            {
                "dut": {"kind": "ac", "model": f"M-{name}", "manufacturer": "X", "serial": serial, "firmware": "1"},
                "mode": "type-test",
            },
        )
    page = build_allure_report(run_dir, "Conformance — two piles")
    assert page is not None
    merged = parse_properties((run_dir / "allure-environment" / "environment.properties").read_text("ascii"))
    assert merged["[lab-ac] DUT serial"] == "AC-0001" and merged["[lab-dc] DUT serial"] == "DC-0002"
    # The report's environment widget is embedded base64 in the one file.
    blob = re.search(r'"widgets/allure_environment\.json","([^"]+)"', page.read_text(encoding="utf-8"))
    assert blob, "no environment widget in the report"
    environment = {item["name"]: item["values"] for item in json.loads(base64.b64decode(blob.group(1)))}
    assert environment["[lab-ac] DUT serial"] == ["AC-0001"] and environment["[lab-dc] DUT serial"] == ["DC-0002"]
    assert "<title> Conformance — two piles </title>" in page.read_text(encoding="utf-8")


def test_without_the_cli_one_line_and_the_command_for_later(tmp_path, capsys):
    run_dir = tmp_path / "run"
    write_environment(run_dir / "p" / "allure-results", {"dut": {"model": "M", "serial": "S"}})
    assert build_allure_report(run_dir, "T", project_root=tmp_path / "no-project") is None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "npm ci" in err[0] or "Node.js" in err[0]
    assert "npx" not in err[0]
    assert allure_html.later_command(run_dir) in err[0]
    assert allure_html.title_from_config(run_dir) == "T"  # the later build keeps the title
    assert not (run_dir / "report.html").exists()


def test_environment_from_a_summary():
    summary = {
        "dut": {"kind": "ac", "model": "PILE-7", "manufacturer": "Acme", "serial": "SN1", "firmware": ""},
        "profile_sha256": "ab" * 32,
        "mode": "development",
        "git_commit": None,
        "instruments": [
            {
                "role": "scope",
                "identity": "KEYSIGHT,DSOX3024T,MY1,1.0",
                "model_matches": True,
                "calibration_due": "2025-01-31",
                "calibration_ok": False,
                "accuracy": {"voltage": {"pct_reading": 1.5, "offset": 0.1}},
            }
        ],
        "problems": [PROBLEM],
    }
    items = environment_items(summary)
    assert items["DUT model"] == "PILE-7" and items["DUT serial"] == "SN1" and "DUT firmware" not in items
    assert items["Profile SHA-256"] == "ab" * 32 and items["Git commit"] == "not a git checkout"
    assert items["scope calibration due"] == "2025-01-31 OVERDUE"
    assert items["scope accuracy"] == "voltage ±(1.5 % of reading + 0.1)"
    assert PROBLEM["message"] in items.values()
    assert list(items)[:5] == [
        "DUT model",
        "DUT serial",
        "DUT manufacturer",
        "Mode",
        "Problem 1 (scope, calibration_overdue)",
    ]


def test_properties_round_trip():
    items = {" key = : # !": " lead \\ back\nline é 😀", "plain": "a=b:c"}
    text = properties_text(items)
    assert text.isascii()
    assert parse_properties(text) == items


def test_the_cli_is_pinned_and_node_modules_ignored():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "node_modules/" in ignored
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    assert package["private"] is True and re.fullmatch(r"\d+\.\d+\.\d+", package["dependencies"]["allure"])
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/allure"]["version"] == package["dependencies"]["allure"]
    assert "scripts" not in package


def test_plotted_table_shapes():
    import numpy as np

    from bench.api.scope import _plotted_table

    same = np.array([0.0, 0.1, 0.2])
    header, rows = _plotted_table(
        {"cp": (same, np.array([1.0, np.nan, 3.0])), "aux": (same, np.array([4.0, 5.0, 6.0]))}
    )
    assert header == ["time (ms)", "cp (V)", "aux (V)"]
    assert rows == [[0.0, 1.0, 4.0], [0.1, "", 5.0], [0.2, 3.0, 6.0]]
    header, rows = _plotted_table(
        {"cp": (np.array([0.0, 1.0]), np.array([1.0, 2.0])), "aux": (np.array([0.5]), np.array([9.0]))}
    )
    assert header == ["cp time (ms)", "cp (V)", "aux time (ms)", "aux (V)"]
    assert rows == [[0.0, 1.0, 0.5, 9.0], [1.0, 2.0, "", ""]]
