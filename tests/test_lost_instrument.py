"""A simulated instrument's socket closes in the middle of a run.

The run must name the lost instrument, and the safe-state sequence must still run in its
order — read back from the other simulated instruments' own state history
(sim_history.jsonl: time, actor, what, value), not from what the bench believes it did.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.session.safe_state import CURRENT_OFF_A
from tests.support.runs import run_case_file

ROOT = Path(__file__).resolve().parents[1]

CASE = """
import pytest

pytestmark = pytest.mark.dut("dc")


def test_charging_when_the_{role}_is_lost(bench, bench_session):
    bench.deliver()
    bench.wait(2.0)
    bench_session.sim.drop("{role}")
    bench.wait(0.5)
    {use}
"""
USE = {
    "analyzer": "bench.output()",
    "ev": "bench.ev.inlet_voltage()",
}


def run_with_lost(role: str, tmp_path: Path):
    case = tmp_path / f"test_lost_{role}.py"
    case.write_text(CASE.format(role=role, use=USE[role]), encoding="utf-8")
    result = run_case_file(case, "profiles/sim-dc-60kw.toml", tmp_path / "reports", "lost")
    run_dir = tmp_path / "reports" / "lost" / "sim-dc-60kw"
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    history = [json.loads(line) for line in (run_dir / "sim_history.jsonl").read_text(encoding="utf-8").splitlines()]
    return result, summary, history


def first(history, actor, what, value, after=0.0):
    """Bench time of the first history entry (actor, what, value) at or after ``after``."""
    for t, a, w, v in history:
        if a == actor and w == what and v == value and t >= after:
            return t
    return None


@pytest.mark.parametrize("role", ["analyzer", "ev"])
def test_the_run_names_the_lost_instrument_and_the_safe_state_still_runs(role, tmp_path):
    result, summary, history = run_with_lost(role, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-2000:]
    assert f"InstrumentLost: {role}:" in output, output[-2000:]
    assert role in summary["lost_instruments"]

    end_of_test = next(r for r in summary["safe_state"] if r["reason"].startswith("end of test_"))
    outcomes = {step["step"]: step["outcome"] for step in end_of_test["steps"]}
    assert all(outcome != "failed" for outcome in outcomes.values()), end_of_test
    assert outcomes["battery simulator off"] == "done"
    if role == "ev":
        assert outcomes["K5/K6 open"] == "skipped"
        assert outcomes["inlet below 60 V"] == "skipped"
    else:
        assert outcomes["K5/K6 open"] == "done"

    # The order, from the simulated instruments' own history.
    stop_at = first(history, "charger", "stop", "normal")
    battery_off = first(history, "battery", "output", False, after=stop_at or 0.0)
    assert stop_at is not None and battery_off is not None, history[-30:]
    interrupted = [h[3] for h in history if h[2] in ("k5k6_interrupted_a", "k1k2_interrupted_a")]
    assert all(amps <= CURRENT_OFF_A for amps in interrupted), f"a contactor opened above 5 A: {interrupted}"
    assert first(history, "charger", "bleed", True, after=stop_at) is not None, "the charger never discharged"
    k5k6_open = first(history, "ev", "k5k6", False, after=stop_at)
    if role == "ev":
        assert k5k6_open is None, "nobody could have opened K5/K6: the EV simulator was lost"
    else:
        assert k5k6_open is not None and stop_at <= k5k6_open <= battery_off
