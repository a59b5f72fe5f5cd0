"""The type-test guard: a type-test profile whose instruments are overdue for calibration, or
are not the model (or serial) the profile names, refuses before anything is energised (exit
code 3, one line per problem), and the simulated plant's history shows nothing switched on.
Development mode runs anyway and flags every problem: totals line, summary.json, Allure.
`bench instruments` exits 3 on the same problems."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.report.schema import schema_errors
from instruments.sim.bench import IDENTITY_OVERRIDE_ENV
from tests.support.runs import ENERGISING, ROOT, conformance_command, profile_copy, read_summary, sim_history

pytestmark = pytest.mark.slow

OVERDUE = {r"^(\[instruments\.battery\][^\[]*?)calibration_due = \S+": r"\1calibration_due = 2025-01-31"}
TYPE_TEST = {r'^mode = "development"': 'mode = "type-test"'}
# The lab wired another scope (model) or another analyzer (serial) than the profile names.
WRONG_MODEL = {"scope": {"model": "DSOX1204G"}}
WRONG_SERIAL = {"analyzer": {"serial": "WT-0042"}}
PROBLEMS = {
    "overdue calibration": (OVERDUE, {}, "battery", "calibration_overdue"),
    "wrong model": ({}, WRONG_MODEL, "scope", "model"),
    "wrong serial": ({}, WRONG_SERIAL, "analyzer", "serial"),
}


def wired(identities: dict) -> dict:
    """The environment of a bench whose simulated instruments answer ``identities``."""
    return dict(os.environ, **{IDENTITY_OVERRIDE_ENV: json.dumps(identities)})


def switched_on(run_dir) -> list:
    return [entry for entry in sim_history(run_dir) if (entry[1], entry[2]) in ENERGISING and entry[3] is True]


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_a_type_test_refuses_before_energising(tmp_path, problem):
    change, identities, role, kind = PROBLEMS[problem]
    profile = profile_copy(tmp_path, "sim-dc-60kw", **change, **TYPE_TEST)
    done = subprocess.run(
        conformance_command(tmp_path / "reports", "tt", "--profile", str(profile)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=wired(identities),
    )
    assert done.returncode == 3, done.stdout[-2000:] + done.stderr[-2000:]
    refusals = [line for line in done.stderr.splitlines() if line.startswith("bench: type-test refused: ")]
    assert len(refusals) == 1 and refusals[0].startswith(f"bench: type-test refused: {role}: "), done.stderr
    run_dir = tmp_path / "reports" / "tt" / "sim-dc-60kw"
    summary = read_summary(run_dir / "summary.json")
    assert schema_errors(summary) == []
    assert summary["complete"] is False and summary["end_reason"].startswith("refused")
    assert [(p["role"], p["kind"]) for p in summary["problems"]] == [(role, kind)]
    assert summary["checks"] == [] and summary["mode"] == "type-test"
    assert sim_history(run_dir), "the simulated plant kept no history"
    assert switched_on(run_dir) == [], "something was switched on before the refusal"


def test_development_mode_runs_and_flags_the_problems(tmp_path):
    profile = profile_copy(tmp_path, "sim-dc-60kw", **OVERDUE)
    done = subprocess.run(
        conformance_command(tmp_path / "reports", "dev", "--profile", str(profile), "--", "-k", "power_within"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=wired(WRONG_MODEL),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "2 INSTRUMENT PROBLEM(S)" in done.stdout
    run_dir = tmp_path / "reports" / "dev" / "sim-dc-60kw"
    summary = read_summary(run_dir / "summary.json")
    assert sorted((p["role"], p["kind"]) for p in summary["problems"]) == [
        ("battery", "calibration_overdue"),
        ("scope", "model"),
    ]
    assert summary["totals"]["problems"] == 2 and summary["checks"]
    battery = next(i for i in summary["instruments"] if i["role"] == "battery")
    assert battery["calibration_ok"] is False and battery["calibration"].startswith("OVERDUE")
    results = [json.loads(p.read_text(encoding="utf-8")) for p in (run_dir / "allure-results").glob("*-result.json")]
    ran = [r for r in results if r["status"] != "skipped"]
    assert ran and all({"name": "tag", "value": "INSTRUMENT PROBLEMS: 2"} in r["labels"] for r in ran)


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_bench_instruments_exits_3_on_a_problem(tmp_path, problem):
    change, identities, role, _ = PROBLEMS[problem]
    profile = profile_copy(tmp_path, "sim-dc-60kw", **change) if change else ROOT / "profiles/sim-dc-60kw.toml"
    done = subprocess.run(
        [sys.executable, "-m", "bench.cli", "instruments", "--profile", str(profile)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=wired(identities),
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"PROBLEM {role}: " in done.stdout
