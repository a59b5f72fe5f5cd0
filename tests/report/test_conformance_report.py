"""The clause-by-clause conformance report (bench/report/conformance_report.py, `bench report`),
rendered from a small run folder in tests/report/data/run/: an AC pile on a simulated bench
(development mode, interrupted, a failing check, an invalid one, an overdue calibration, a
model mismatch, a lost instrument, a skipped and an errored test) and a DC charger in type-test
mode where every check passed."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from bench import cli
from bench.core.errors import BenchError
from bench.report import chromium
from bench.report.conformance_report import (
    HTML_NAME,
    PDF_NAME,
    find_summaries,
    fmt_limits,
    fmt_number,
    fmt_value,
    load_clauses,
    write_conformance_report,
)

DATA = Path(__file__).with_name("data") / "run"
AC = "lab-ac"
DC = "lab-dc"
FAILING_QUANTITY = "CP high level, state 2 (connected, S2 open)"


@pytest.fixture
def run_dir(tmp_path) -> Path:
    target = tmp_path / "20261207-010000"
    shutil.copytree(DATA, target)
    return target


def edit_summary(run_dir: Path, profile: str, change) -> Path:
    path = run_dir / profile / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    change(summary)
    path.write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    return path


def render(run_dir: Path) -> str:
    page, pdf = write_conformance_report(run_dir, pdf=False)
    assert pdf is None and page == run_dir / HTML_NAME
    return page.read_text(encoding="utf-8")


def section(page: str, profile: str) -> str:
    """The text of one DUT's section."""
    start = page.index(f'<section class="dut" id="dut-{profile}">')
    return page[start : page.index("</section>", start)]


def row_of(page: str, needle: str) -> str:
    """The table row holding ``needle``."""
    at = page.index(needle)
    return page[page.rindex("<tr", 0, at) : page.index("</tr>", at)]


def test_the_report_holds_every_part_of_the_record(run_dir):
    page = render(run_dir)
    ac, dc = section(page, AC), section(page, DC)
    text = html.unescape(ac)
    clauses = load_clauses()
    assert page.index('id="dut-lab-ac"') < page.index('id="dut-lab-dc"')  # sorted by folder name

    # identity and run record
    for field in (
        "Bench Simulation",
        "SIM-AC7",
        "SIMAC0001",
        "1.0.0",
        "profiles/lab-ac.toml",
        "3f" * 32,
        "0.1.0",
        "2026-12-07T01:00:00+00:00",
        "2026-12-07T01:00:20+00:00",
        "900 s (0:15:00)",
        "interrupted (SIGTERM)",
    ):
        assert field in text, field
    assert "INCOMPLETE RUN — not a valid type-test record" in text
    assert "DEVELOPMENT RUN — not a valid type-test record" in text
    assert "analyzer: calibration due 2026-06-30 is past" in text  # problems[]
    assert "not a valid type-test record" not in dc and "0123456789abcdef0123456789abcdef01234567" in dc

    # overall verdicts, up top
    assert re.search(r'class="overall v-fail">\s*<span class="label">Overall verdict</span> <span class="big">FAIL', ac)
    assert re.search(r'class="overall v-pass">\s*<span class="label">Overall verdict</span> <span class="big">PASS', dc)

    # instruments: identity, model mismatch, calibration OVERDUE
    analyzer = row_of(ac, "YOKOGAWA,WT5000,SIM-WT-1,SIM-1.0")
    assert "2026-06-30" in analyzer and "OVERDUE" in analyzer and "voltage: ±(0.05 % rdg + 0.05)" in analyzer
    assert "MISMATCH: expected DSOX3034T" in row_of(ac, "KEYSIGHT TECHNOLOGIES,DSOX3024T")

    # clause by clause, in the order of clauses.toml, unknown clauses last
    order = re.findall(r'<span class="clause-id">([^<]+)</span>', ac)
    assert order == [
        "changji:4.2.2",
        "changji:4.2.6",
        "changji:4.2.9.4",
        "changji:4.2.9.5",
        "gbt18487.1:A",
        "lab:extra",
    ]
    assert clauses["gbt18487.1:A"]["title"] in text
    assert clauses["changji:4.2.9.4"]["text_zh"] in text  # the seed's wording
    failing = row_of(ac, FAILING_QUANTITY)
    assert "1.73" in failing and "± 0.235 V" in failing and "[8, 10] V" in failing and "state = 2" in failing
    assert re.search(r'class="verdict v-fail">FAIL<', failing)
    assert re.search(r'<span class="clause-id">gbt18487\.1:A</span> <span class="verdict badge v-fail">FAIL', ac)
    assert re.search(
        r'<span class="clause-id">changji:4\.2\.6</span> <span class="verdict badge v-invalid">INVALID', ac
    )
    assert "no reading" in row_of(ac, "orderly-charging command")
    assert "= yes" in row_of(ac, "command carried out (output follows)")
    assert "≤ 3 s" in row_of(ac, "S2 closes → pile closes the AC supply")
    assert "GB/T 18487.1-2015 Annex A via IEC 61851-1: +9 V ± 1 V (docs/limits.md §2)" in text  # limit source

    # skipped tests, not covered, safe state, lost instruments, evidence, sign-off
    assert "testcases/x.py::test_skipped" in text and "AC case; the profile's DUT is DC" in text
    for clause, why in (
        ("changji:4.2.8", "it sets nothing to judge"),
        ("changji:4.4.3", "JJG 1148 / JJG 1149"),
        ("changji:4.2.9.3:timed_power_change", "interrupted before the case ran"),
    ):
        assert why in html.unescape(row_of(ac, f'<td class="nowrap">{clause}</td>')), clause
    assert "2 safe-state sequences (8 steps) ran." in text and "instrument lost: grid" in text
    lost = ac[ac.index('<table class="grid lost">') :]
    assert "TCPIP0::10.0.0.7::5025::SOCKET: no answer to *IDN?" in row_of(lost, "<td><strong>grid</strong></td>")
    assert "2 evidence files" in text and "lab-ac/summary.json" in text
    for line in ("Tested by", "Reviewed by", "Date", "Signature"):
        assert f"<th>{line}</th>" in ac and f"<th>{line}</th>" in dc

    # the simulated bench's parameters, scalars only; none on real hardware
    assert "pwm_duty_offset_pct" in text and "nested_blob" not in page and "should" not in page
    assert "Simulated bench parameters" not in dc


def test_the_same_summaries_give_the_same_page(run_dir):
    assert render(run_dir) == render(run_dir)


def test_a_single_profile_folder_is_a_run_of_its_own(run_dir):
    page = render(run_dir / DC)
    assert (run_dir / DC / HTML_NAME).exists() and "DC-60 Pro" in page and "SIM-AC7" not in page


@pytest.mark.parametrize(
    "value, text",
    [
        (0.5069999999999997, "0.507"),
        (7.630406306802229e-05, "7.63041e-05"),
        (60000.0, "60000"),
        (-0.0, "0"),
        (True, "yes"),
        (None, "—"),
        (12, "12"),
        ("on", "on"),
    ],
)
def test_numbers_read_as_people_read_them(value, text):
    assert fmt_number(value) == text


def test_limits_and_values():
    base = {"low": None, "high": None, "reference": None, "unit": "V", "value": 1.73, "uncertainty": 0.2346484375}
    assert fmt_limits({**base, "low": 8.0, "high": 10.0}) == ("[8, 10] V", "")
    assert fmt_limits({**base, "low": -0.5, "high": 0.5, "reference": 10.0}) == ("[-0.5, 0.5] V", "ref. 10")
    assert fmt_limits({**base, "high": 3.0}) == ("≤ 3 V", "")
    assert fmt_limits({**base, "low": 10.0}) == ("≥ 10 V", "")
    assert fmt_limits({**base, "reference": True}) == ("= yes", "")
    assert fmt_limits(base) == ("—", "")
    assert fmt_value(base) == "1.73 ± 0.235 V"
    assert fmt_value({**base, "uncertainty": None}) == "1.73 V"
    assert fmt_value({**base, "value": None}) == "no reading"
    assert fmt_value({**base, "value": True, "unit": ""}) == "yes"


def test_hostile_text_is_escaped(run_dir):
    hostile = '<script>alert("dut")</script>'

    def poison(summary):
        summary["dut"]["model"] = hostile
        summary["run_id"] = 'x</style><script>alert(1)</script>"'
        summary["instruments"][0]["identity"] = '<img src=x onerror="alert(2)">'
        summary["checks"][0]["detail"] = "a & b <b>bold</b>"
        summary["not_covered"][0]["why"] = "</td></tr></table><script>alert(3)</script>"
        summary["sim"]["<i>key</i>"] = "<script>alert(4)</script>"

    edit_summary(run_dir, AC, poison)
    page = render(run_dir)
    assert "<script" not in page and "<img" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(&#34;dut&#34;)&lt;/script&gt;" in page
    assert "a &amp; b &lt;b&gt;bold&lt;/b&gt;" in page
    assert page.count("</style>") == 1
    footer = re.search(r"@bottom-left \{ content: (\"[^\"]*\");", page)
    assert footer and "<" not in footer.group(1) and "\\3c " in footer.group(1)


def test_an_invalid_summary_is_refused_in_one_line_naming_the_file(run_dir, capsys):
    path = edit_summary(run_dir, DC, lambda s: s["checks"][0].update(verdict="maybe"))
    with pytest.raises(BenchError) as caught:
        write_conformance_report(run_dir, pdf=False)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and "$.checks[0].verdict" in message
    assert not (run_dir / HTML_NAME).exists()

    assert cli.main(["report", str(run_dir), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bench report: ") and str(path) in err


def test_not_json_is_refused(run_dir):
    (run_dir / AC / "summary.json").write_text("{ not json", encoding="utf-8")
    with pytest.raises(BenchError, match=r"lab-ac/summary\.json: not a JSON file"):
        write_conformance_report(run_dir, pdf=False)


def test_a_profile_the_index_lists_without_its_summary_is_refused(run_dir):
    (run_dir / "index.json").write_text(
        json.dumps(
            {"profiles": {AC: {"summary": f"{AC}/summary.json"}, "lab-gone": {"summary": "lab-gone/summary.json"}}}
        ),
        encoding="utf-8",
    )
    with pytest.raises(BenchError, match=r"lists profile 'lab-gone' but .*lab-gone/summary\.json is missing"):
        find_summaries(run_dir)


def test_bench_report_writes_the_page_and_prints_one_line(run_dir, capsys):
    (run_dir / "allure-report").mkdir()  # other folders of a run folder are not profiles
    assert cli.main(["report", str(run_dir), "--no-pdf"]) == 0
    out = capsys.readouterr().out
    assert out == f"bench report: {run_dir / HTML_NAME}\n"
    assert (run_dir / HTML_NAME).exists() and not (run_dir / PDF_NAME).exists()


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_bench_report_on_a_folder_without_summaries_is_exit_2(tmp_path, capsys, where):
    folder = tmp_path / where
    if where == "empty":
        (folder / "some-profile").mkdir(parents=True)
    assert cli.main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(folder) in err
    assert ("no such folder" if where == "missing" else "no summary.json") in err


def test_chromium_renders_the_page_and_prints_the_pdf(run_dir, capsys):
    if chromium.find_chromium() is None:
        pytest.skip("no Chromium on this machine")
    (run_dir / PDF_NAME).write_bytes(b"stale")  # an earlier print is replaced, never passed off as this one
    assert cli.main(["report", str(run_dir)]) == 0
    page, pdf = run_dir / HTML_NAME, run_dir / PDF_NAME
    assert capsys.readouterr().out == f"bench report: {page} {pdf}\n"
    assert pdf.read_bytes().startswith(b"%PDF")
    dom = html.unescape(chromium.dump_dom(page, budget_ms=1000))
    assert load_clauses()["gbt18487.1:A"]["title"] in dom
    failing = row_of(dom, FAILING_QUANTITY)
    assert "1.73" in failing and "FAIL" in failing
    assert "Tested by" in dom and "Reviewed by" in dom


def test_without_chromium_there_is_the_page_and_no_pdf(run_dir, capsys, monkeypatch):
    monkeypatch.setattr(chromium, "find_chromium", lambda: None)
    (run_dir / PDF_NAME).write_bytes(b"%PDF stale")  # would not match the new page: removed
    assert cli.main(["report", str(run_dir)]) == 0
    assert capsys.readouterr().out == f"bench report: {run_dir / HTML_NAME} (no PDF: no Chromium on this machine)\n"
    assert (run_dir / HTML_NAME).exists() and not (run_dir / PDF_NAME).exists()


def test_an_unjudged_reading_shows_why_and_its_settle_time(run_dir):
    def unjudge(summary):
        check = summary["checks"][0]
        check["verdict"] = "invalid"
        check["invalid_reason"] = "the output current reached the BMS request: the request set the output"
        check["settle_s"] = 0.8

    edit_summary(run_dir, AC, unjudge)
    page = render(run_dir)
    row = row_of(page, "the request set the output")
    assert "Not judged: the output current reached the BMS request" in row
    assert "settled after 0.80 s" in row
