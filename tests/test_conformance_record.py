"""The README's first command, as a lab files it: both simulated profiles in one run folder,
every summary valid against the shipped schema, every evidence hash recomputes, the record
complete, every test listed (skipped ones with their reason), not_covered derived from data,
and the totals line with the bench time covered."""

from __future__ import annotations

import subprocess

import pytest

from bench.report.coverage import clause_list, limit_keys
from bench.report.verify import verify_run
from tests.support.runs import ROOT, conformance_command

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    done = subprocess.run(conformance_command(reports, "readme"), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return reports / "readme", done.stdout


def test_every_summary_is_valid_and_every_evidence_hash_recomputes(run):
    run_dir, _ = run
    summaries, problems = verify_run(run_dir)
    assert problems == []
    assert sorted(s["dut"]["kind"] for s in summaries) == ["ac", "dc"]
    for summary in summaries:
        assert summary["complete"] is True and summary["end_reason"] == "finished"
        assert summary["finished"] and summary["git_commit"] != ""
        assert len(summary["profile_sha256"]) == 64 and summary["sim"] is not None
        assert summary["evidence"] and any(e["test"] for e in summary["evidence"])
        assert all(not e["file"].startswith("/") and e["file"] != "summary.json" for e in summary["evidence"])


def test_every_test_is_listed_with_its_checks(run):
    run_dir, _ = run
    for summary in verify_run(run_dir)[0]:
        tests = summary["tests"]
        assert summary["totals"]["tests"] == len(tests) > 0
        skipped = [t for t in tests if t["outcome"] == "skipped"]
        assert skipped and all(t["reason"] for t in skipped)
        assert sum(t["checks"] for t in tests) == len(summary["checks"])
        assert all(t["clause"] for t in tests)
        assert all(c["clause"] == c["key"].rpartition(":")[0] and c["limit_source"] for c in summary["checks"])
        ran = [t for t in tests if t["outcome"] == "passed"]
        assert all(t["checks"] > 0 for t in ran) and sum(t["bench_time_s"] for t in ran) > 0


def test_not_covered_names_every_clause_and_key_not_judged(run):
    run_dir, _ = run
    required = {c["id"] for c in clause_list() if c.get("required")}
    for summary in verify_run(run_dir)[0]:
        judged_keys = {c["key"] for c in summary["checks"]}
        judged_clauses = {c["clause"] for c in summary["checks"]}
        listed = {entry["clause"]: entry["why"] for entry in summary["not_covered"]}
        assert set(listed) == (required - judged_clauses) | (set(limit_keys()) - judged_keys)
        assert all(why and ":" in why for why in listed.values())
        assert "changji:4.4.3" not in listed  # the energy register against the analyzer (metering case)
        assert listed["changji:4.2.1"].startswith("not judged on its own")
        assert listed["changji:4.2.10.4b"].startswith(("the GB/T 20234.4 connector", "other DUT kind"))
        other = "dc" if summary["dut"]["kind"] == "ac" else "ac"
        other_key = "changji:4.2.10.5:power_error" if other == "dc" else "changji:4.2.9.5:pwm_frequency"
        assert listed[other_key].startswith("other DUT kind")


def test_the_run_prints_its_totals_and_bench_time(run):
    _, out = run
    lines = [line for line in out.splitlines() if line.startswith("bench: sim-")]
    assert len(lines) == 2 and all("bench time" in line and "checks passed" in line for line in lines)
    assert any(
        line.startswith("bench conformance: 2 profile(s)") and "bench time covered" in line for line in out.splitlines()
    )
