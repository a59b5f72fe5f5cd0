"""Before energising (docs/design.md#safety-net-outside-python): the bench reads the E-stop /
interlock input of the EV simulator / relay board and, for a DC charger, checks that the inlet
is dead (below 60 V). Otherwise it refuses with one line naming what, and switches nothing on:
the simulated plant's own history shows no output, contactor, relay or inhibit line moved.

Both conditions are set in the simulated bench through the test-only control
``BENCH_SIM_START_CONDITIONS`` (instruments/sim/bench.py), never a profile key or a [sim]
parameter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from bench.core.errors import BenchError
from bench.core.profile import load_profile
from bench.session.session import BenchSession, EnergiseRefused
from instruments import registry
from instruments.sim.bench import START_CONDITIONS_ENV
from tests.support.runs import ENERGISING, PYTEST_ARGS, ROOT, sim_history

# What would count as switched on beyond ENERGISING: an inhibit line made, the CC1 line made.
RELEASED = {("battery", "inhibit"): False, ("load", "inhibit"): False, ("ev", "cc1"): True}
SAFE_STATE_TAIL = "nothing was switched on, the bench stays in its safe state"


def open_session(tmp_path, monkeypatch, name: str, **conditions):
    if conditions:
        monkeypatch.setenv(START_CONDITIONS_ENV, json.dumps(conditions))
    else:
        monkeypatch.delenv(START_CONDITIONS_ENV, raising=False)
    profile = load_profile(ROOT / "profiles" / f"{name}.toml", registry.transports())
    run_dir = tmp_path / name
    session = BenchSession(profile, run_dir)
    return session, run_dir


def refusal(tmp_path, monkeypatch, name: str, **conditions) -> tuple[str, list]:
    session, run_dir = open_session(tmp_path, monkeypatch, name, **conditions)
    with pytest.raises(EnergiseRefused) as info:
        session.open()
    return str(info.value), sim_history(run_dir)


def switched_on(history: list) -> list:
    """Entries after power-up (t = 0 power-on states excluded by value) that energise anything."""
    return [
        entry
        for entry in history
        if ((entry[1], entry[2]) in ENERGISING and entry[3] is True)
        or RELEASED.get((entry[1], entry[2]), object()) == entry[3]
    ]


@pytest.mark.parametrize("name", ["sim-dc-60kw", "sim-ac-7kw"])
def test_an_open_estop_input_refuses_before_anything_is_switched_on(tmp_path, monkeypatch, name):
    message, history = refusal(tmp_path, monkeypatch, name, estop_input=True)
    assert "\n" not in message
    assert message == (
        "refused before energising: E-stop / interlock input active (EV simulator status bit "
        f"estop_input); {SAFE_STATE_TAIL}"
    )
    assert history, "the simulated plant kept no history"
    assert switched_on(history) == [], "something was switched on before the refusal"


def test_a_live_inlet_refuses_naming_its_voltage(tmp_path, monkeypatch):
    message, history = refusal(tmp_path, monkeypatch, "sim-dc-60kw", inlet_voltage_v=400.0)
    match = re.fullmatch(rf"refused before energising: inlet at (\d+\.\d) V ≥ 60 V; {SAFE_STATE_TAIL}", message)
    assert match, message
    assert float(match.group(1)) == pytest.approx(400.0, abs=0.5)
    assert ("charger", "inlet_charged_v", 400.0) in [tuple(e[1:]) for e in history]
    assert switched_on(history) == []


def test_both_conditions_are_named_in_one_line(tmp_path, monkeypatch):
    message, history = refusal(tmp_path, monkeypatch, "sim-dc-60kw", estop_input=True, inlet_voltage_v=61.0)
    assert "\n" not in message
    assert "E-stop / interlock input active" in message and re.search(r"inlet at 6\d\.\d V ≥ 60 V", message)
    assert message.endswith(SAFE_STATE_TAIL)
    assert switched_on(history) == []


def test_a_dead_inlet_and_a_closed_estop_input_energise(tmp_path, monkeypatch):
    session, run_dir = open_session(tmp_path, monkeypatch, "sim-dc-60kw", estop_input=False, inlet_voltage_v=59.0)
    session.open()
    try:
        ev = session.instrument("ev")
        assert not ev.estop_input() and ev.inlet_voltage() < 60.0
        assert not ev.faults()["watchdog_expired"]
        # The safety net is armed: the inhibit lines are made, the watchdog knows what to open.
        wiring = session.profile.instruments["ev"].wiring
        assert [ev.read_raw(f"output_{wiring[line]}") for line in ("battery_inhibit", "load_inhibit", "cc1")] == [
            1,
            1,
            0,
        ]
        bits = {line: 1 << (output - 1) for line, output in wiring.items()}
        assert ev.read_raw("watchdog_outputs") == sum(bits.values())
        assert ev.read_raw("watchdog_outputs_last") == bits["cc1"]
        assert ev.read_raw("watchdog_unplug") == 1
    finally:
        session.close()
    history = sim_history(run_dir)
    assert ("grid", "output", True) in [tuple(e[1:]) for e in history]


def test_the_board_refuses_to_close_a_relay_while_the_estop_input_is_open(tmp_path, monkeypatch):
    """A second layer under the bench's check: the board itself keeps its relays open."""
    from instruments.sim.bench import SimulatedBench
    from instruments.sim.modbus import ModbusException
    from tests.support.transcript import new_clock

    monkeypatch.setenv(START_CONDITIONS_ENV, json.dumps({"estop_input": True}))
    profile = load_profile(ROOT / "profiles" / "sim-dc-60kw.toml", registry.transports())
    sim = SimulatedBench(profile, new_clock())
    sim.start()
    try:
        board = sim.front_ends["ev"]
        board.write(120, [1])  # heartbeat: the watchdog is armed
        for address in (111, 130):  # K5/K6, output_1 (the battery's inhibit line)
            with pytest.raises(ModbusException) as info:
                board.write(address, [1])
            assert info.value.code == 0x04
        assert board.read_input(1, 1)[0] >> 8 & 1  # status bit estop_input
        board.set_estop_input(False)
        board.write(130, [1])
        assert sim.plant.battery.inhibited is False
    finally:
        sim.stop()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("not json", "not JSON"),
        ('{"estop_input": "yes"}', "expected"),
        ('{"inlet_voltage_v": -5}', "expected"),
        ('{"inlet_v": 400}', "expected"),
    ],
)
def test_a_malformed_start_condition_is_one_line(monkeypatch, text, expected):
    from instruments.sim.bench import start_conditions

    monkeypatch.setenv(START_CONDITIONS_ENV, text)
    with pytest.raises(BenchError, match=expected) as info:
        start_conditions()
    assert "\n" not in str(info.value) and START_CONDITIONS_ENV in str(info.value)


@pytest.mark.slow
def test_a_refused_run_ends_with_one_line_and_switches_nothing_on(tmp_path):
    """The way a lab meets it: the conformance suite on a bench whose E-stop is pressed."""
    env = {**os.environ, START_CONDITIONS_ENV: json.dumps({"estop_input": True})}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "testcases/dc/test_stopping.py",
            "--profile",
            "profiles/sim-dc-60kw.toml",
            "--report-dir",
            str(tmp_path / "reports"),
            "--run-id",
            "estop",
            "-q",
            *PYTEST_ARGS,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    output = done.stdout + done.stderr
    # Refused before energising, as a type test's refusal: one line, exit code 3.
    lines = [line for line in output.splitlines() if "refused before energising" in line]
    assert done.returncode == 3, output[-3000:]
    assert len(lines) == 1 and lines[0].rstrip(" !").endswith(SAFE_STATE_TAIL), output[-3000:]
    assert "E-stop / interlock input active" in lines[0]
    history = sim_history(tmp_path / "reports" / "estop" / "sim-dc-60kw")
    assert history and switched_on(history) == []
