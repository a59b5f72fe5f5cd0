"""One clock, two speeds: the same simulated session, run twice, gives the same CAN traces and
the same measured values, byte for byte (docs/design.md#one-clock-two-speeds).

Everything that varies run to run on real hardware — noise, the grid's phase, the order of
frames — comes from the profile's seed and the virtual clock, so two runs of one profile
are identical: a failing case can be replayed exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.api import facade_for
from bench.core.profile import load_profile
from bench.session.session import BenchSession
from instruments import registry
from tests.support.nodes import FakeNode

ROOT = Path(__file__).resolve().parents[1]


def run_session(run_dir: Path) -> dict:
    """A DC charging session: start, measure, change the power, capture, stop."""
    profile = load_profile(ROOT / "profiles/sim-dc-60kw.toml", registry.transports())
    session = BenchSession(profile, run_dir)
    session.open()
    node = FakeNode("tests/test_determinism.py", "scenario")
    session.begin_test(node)
    bench = facade_for(session, "quick")
    measured = []
    try:
        bench.deliver()
        for _ in range(5):
            bench.wait(0.5)
            measured.append(tuple(sorted(bench.output().items())))
            measured.append(bench.battery.measure())
        bench.command_output_level(30_000.0)
        record = bench.capture(
            "current after a power change",
            {"output_current": 20.0, "inlet_voltage": 100.0},
            seconds_per_div=0.2,
            save=False,
            offsets_v={"output_current": 80.0, "inlet_voltage": 400.0},
        )
        measured.append(bench.output_level())
        bench.stop_by_bms()
        bench.wait(2.0)
        measured.append(bench.ev.inlet_voltage())
    finally:
        session.end_test(node)
        session.close()
    traces = {path.name: path.read_bytes() for path in (run_dir / "tests" / "scenario").glob("can.*")}
    return {
        "measured": json.dumps(measured).encode(),
        "scope": b"".join(np.ascontiguousarray(w.volts).tobytes() for w in record.waveforms.values()),
        "traces": traces,
        "platform_log": (run_dir / "platform.log").read_bytes(),
        "checks_and_history": (run_dir / "sim_history.jsonl").read_bytes(),
    }


def test_two_runs_of_one_simulated_session_are_identical(tmp_path):
    first = run_session(tmp_path / "first")
    second = run_session(tmp_path / "second")
    assert set(first["traces"]) == {"can.asc", "can.blf", "can.log"}
    assert len(first["traces"]["can.log"].splitlines()) > 300, "the session should have put frames on the bus"
    for name in first["traces"]:
        assert first["traces"][name] == second["traces"][name], f"CAN trace {name} differs between runs"
    for key in ("measured", "scope", "platform_log", "checks_and_history"):
        assert first[key] == second[key], f"{key} differs between runs"


def test_a_different_seed_changes_the_noise(tmp_path, monkeypatch):
    """The comparison above can fail: the seed reaches the measured values."""
    first = run_session(tmp_path / "seed1")
    original = BenchSession.__init__

    def with_seed(self, profile, run_dir):
        original(self, profile.with_sim({"seed": 2}), run_dir)

    monkeypatch.setattr(BenchSession, "__init__", with_seed)
    second = run_session(tmp_path / "seed2")
    assert not np.isnan(np.frombuffer(first["scope"])).any(), "the record is off screen"
    assert first["scope"] != second["scope"]
