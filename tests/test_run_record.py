"""The run record survives anything: SIGKILL of pytest or of `bench conformance` at any moment,
SIGTERM / SIGHUP / Ctrl-C, and a run folder is never reused.

After a kill, summary.json parses, says ``complete: false`` and lists every finished test with
its checks; no process of the run is left driving instruments. Every summary validates against
the shipped schema.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from bench.report.schema import schema_errors
from tests.support.runs import (
    ROOT,
    checks_written,
    conformance_command,
    kill,
    pytest_command,
    read_summary,
    start,
    wait_for_tests,
    wait_no_process,
)

pytestmark = pytest.mark.slow


def assert_record_of_finished_tests(run_dir, summary_before_kill=None) -> dict:
    """summary.json after a crash: parses, valid, incomplete, every finished test and its checks."""
    summary = read_summary(run_dir / "summary.json")
    assert summary is not None, f"{run_dir}/summary.json does not parse"
    assert schema_errors(summary) == []
    assert summary["complete"] is False
    listed = {t["nodeid"]: t for t in summary["tests"]}
    if summary_before_kill is not None:
        assert set(t["nodeid"] for t in summary_before_kill["tests"]) <= set(listed)
    # Every check of a listed test is in the record, as checks.jsonl wrote it when it was made.
    written = [c for c in checks_written(run_dir) if c["test"] in listed]
    recorded = [c for c in summary["checks"] if c["test"] in listed]
    assert [(c["key"], c["value"]) for c in recorded] == [(c["key"], c["value"]) for c in written]
    for nodeid, entry in listed.items():
        assert entry["checks"] == sum(1 for c in recorded if c["test"] == nodeid)
    # Tests whose checks were written but that are not listed: at most the one the kill cut short.
    unlisted = {c["test"] for c in checks_written(run_dir)} - set(listed)
    assert len(unlisted) <= 1, unlisted
    return summary


@pytest.mark.parametrize("after_tests", [0, 4, 14])
def test_sigkill_of_pytest_leaves_a_record_of_every_finished_test(tmp_path, after_tests):
    run_dir = tmp_path / "reports" / "kill" / "sim-dc-60kw"
    process = start(pytest_command("profiles/sim-dc-60kw.toml", tmp_path / "reports", "kill"), tmp_path / "log")
    before = wait_for_tests(run_dir / "summary.json", after_tests, process)
    kill(process)
    process.wait(timeout=30)
    assert wait_no_process(str(tmp_path)) == []
    summary = assert_record_of_finished_tests(run_dir, before)
    assert summary["end_reason"] is None  # killed outright: nobody could say why


@pytest.mark.parametrize("moment", [("sim-ac-7kw", 3), ("sim-ac-7kw", 30), ("sim-dc-60kw", 8)])
def test_sigkill_of_bench_conformance_stops_its_child_with_the_safe_state(tmp_path, moment):
    profile, after_tests = moment
    run_dir = tmp_path / "reports" / "kill" / profile
    parent = start(conformance_command(tmp_path / "reports", "kill"), tmp_path / "log")
    # The DC record starts with the AC cases (skipped): count the DC cases that ran, charging.
    before = wait_for_tests(run_dir / "summary.json", after_tests, parent, ran=profile.startswith("sim-dc"))
    kill(parent)
    parent.wait(timeout=30)
    # The child notices that its parent has gone, runs the safe state and closes its record.
    assert wait_no_process(str(tmp_path)) == [], (tmp_path / "log").read_text()[-2000:]
    summary = assert_record_of_finished_tests(run_dir, before)
    assert summary["end_reason"] == "interrupted (SIGTERM)", summary["end_reason"]
    assert summary["finished"] is not None
    if summary["instruments"]:
        assert summary["safe_state"], "no safe state after the parent was killed"
        last = summary["safe_state"][-1]
        assert all(step["outcome"] in ("done", "skipped") for step in last["steps"]), last


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_to_bench_conformance_stops_the_run_with_the_safe_state(tmp_path, signum):
    run_dir = tmp_path / "reports" / "stop" / "sim-dc-60kw"
    parent = start(
        conformance_command(tmp_path / "reports", "stop", "--profile", "profiles/sim-dc-60kw.toml"), tmp_path / "log"
    )
    wait_for_tests(run_dir / "summary.json", 2, parent, ran=True)  # past the AC cases (skipped): charging
    parent.send_signal(signum)
    code = parent.wait(timeout=60)
    log = (tmp_path / "log").read_text()
    assert code == 128 + signum, log[-2000:]
    assert wait_no_process(str(tmp_path)) == []
    summary = assert_record_of_finished_tests(run_dir)
    assert summary["end_reason"] == f"interrupted ({signal.Signals(signum).name})"
    reasons = [r["reason"] for r in summary["safe_state"]]
    assert reasons and reasons[-1] == "end of run", reasons
    assert f"stopped by {signal.Signals(signum).name}" in log


def test_a_run_folder_is_never_reused(tmp_path):
    (tmp_path / "reports" / "taken").mkdir(parents=True)
    done = subprocess.run(
        conformance_command(tmp_path / "reports", "taken"), cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "never reused" in done.stderr, done.stderr
    (tmp_path / "reports" / "again" / "sim-ac-7kw").mkdir(parents=True)
    direct = subprocess.run(
        pytest_command("profiles/sim-ac-7kw.toml", tmp_path / "reports", "again"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert direct.returncode == 2
    assert "never reused" in direct.stdout + direct.stderr
    assert not list((tmp_path / "reports" / "again" / "sim-ac-7kw").iterdir()), "the old folder was written to"


def test_a_profile_mistake_is_one_line_and_exit_2(tmp_path):
    from tests.support.runs import profile_copy

    broken = profile_copy(tmp_path, "sim-dc-60kw", **{r"^rated_power_kw = .*$": 'rated_power_kw = "sixty"'})
    done = subprocess.run(
        conformance_command(tmp_path / "reports", "bad", "--profile", str(broken)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert str(broken) in lines[0] and "dut.rated_power_kw" in lines[0] and "a number" in lines[0]
    assert not (tmp_path / "reports" / "bad").exists(), "a run folder for a run that never started"


def test_a_failing_case_prints_its_checks_not_the_plugin_source(tmp_path):
    done = subprocess.run(
        pytest_command(
            "profiles/sim-ac-7kw.toml",
            tmp_path / "reports",
            "fail",
            "--clause",
            "changji:4.2.9.5",
            "--grid",
            "quick",
            "--sim-set",
            "pwm_duty_offset_pct=0.7",
            "-k",
            "follow",
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert "check(s) did not pass" in done.stdout
    assert "changji:4.2.9.5:duty_error" in done.stdout and "→ FAIL" in done.stdout
    assert "bench/plugin.py" not in done.stdout and "pytest_pyfunc_call" not in done.stdout
    assert "bench: sim-ac-7kw:" in done.stdout and "bench time" in done.stdout
    summary = read_summary(tmp_path / "reports" / "fail" / "sim-ac-7kw" / "summary.json")
    failed = [t for t in summary["tests"] if t["outcome"] == "failed"]
    assert failed and all(t["reason"].endswith("check(s) did not pass:") for t in failed)
    assert summary["complete"] is True
    assert schema_errors(summary) == []


def test_the_schema_refuses_a_broken_summary():
    assert schema_errors({"schema_version": "1.0"})
    assert sys.modules["bench.report.schema"].SCHEMA_PATH.is_file()
