"""The safe-state sequence runs on every exit path of a run: a failing check, an exception,
a timeout (pytest-timeout, signal method, so teardown still runs), Ctrl-C, SIGTERM and SIGHUP. Read back from
the run's own records: summary.json (safe-state reports) and the simulated instruments'
history (sim_history.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.runs import run_case_file

ROOT = Path(__file__).resolve().parents[1]

CASE = """
import os, signal, time
import pytest

pytestmark = pytest.mark.dut("dc")


def test_exit(bench):
    bench.deliver()
    bench.wait(1.0)
    {exit}
"""
EXITS = {
    "failing check": 'bench.check_reading("changji:4.2.10.5:power_error", 13000.0, reference=12000.0)',
    "exception": 'raise RuntimeError("something broke in the middle of charging")',
    "timeout": "time.sleep(30)",
    "ctrl-c": "os.kill(os.getpid(), signal.SIGINT); time.sleep(5)",
    "sigterm": "os.kill(os.getpid(), signal.SIGTERM); time.sleep(5)",
    "sighup": "os.kill(os.getpid(), signal.SIGHUP); time.sleep(5)",
}


def run_case(exit_path: str, tmp_path: Path):
    case = tmp_path / "test_exit_path.py"
    case.write_text(CASE.format(exit=EXITS[exit_path]), encoding="utf-8")
    result = run_case_file(case, "profiles/sim-dc-60kw.toml", tmp_path / "reports", "exit", "--timeout", "3")
    run_dir = tmp_path / "reports" / "exit" / "sim-dc-60kw"
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    history = [json.loads(line) for line in (run_dir / "sim_history.jsonl").read_text(encoding="utf-8").splitlines()]
    return result, summary, history


@pytest.mark.parametrize("exit_path", sorted(EXITS))
def test_the_safe_state_runs_on_every_exit_path(exit_path, tmp_path):
    result, summary, history = run_case(exit_path, tmp_path)
    assert result.returncode != 0, result.stdout[-1500:]
    steps = [step for report in summary["safe_state"] for step in report["steps"]]
    done = [step["step"] for step in steps if step["outcome"] == "done"]
    for step in ("K5/K6 open", "battery simulator off", "inlet below 60 V"):
        assert step in done, f"{exit_path}: {step!r} not done: {summary['safe_state']}"
    # From the simulated instruments: the charger stopped, K5/K6 opened, then the battery went off.
    stop = next(t for t, actor, what, value in history if actor == "charger" and what == "stop")
    k5k6 = next(
        t for t, actor, what, value in history if actor == "ev" and what == "k5k6" and value is False and t >= stop
    )
    battery = next(
        t
        for t, actor, what, value in history
        if actor == "battery" and what == "output" and value is False and t >= stop
    )
    assert stop <= k5k6 <= battery
