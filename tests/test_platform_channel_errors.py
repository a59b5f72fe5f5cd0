"""Issue 4: a platform-channel error gives one clear line and leaves the bench safe.

On a whole simulated bench (BenchSession) with the pile delivering, each test provokes one
error — a charge point with the wrong id, a malformed OCPP frame, a Modbus exception
response, a lost connection (Modbus and OCPP) — and checks the error the case would see, then
ends the test as the plugin does (``end_test``: the safe-state sequence) and reads the order
back from the simulated instruments' own history (plant.history: time, actor, what, value),
not from what the bench believes it did. The channel-level details of each error are tested
in tests/platform/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.api import facade_for
from bench.core.errors import InstrumentLost
from bench.core.profile import load_profile
from bench.platform.errors import (
    ModbusExceptionResponse,
    PlatformLost,
    PlatformProtocolError,
    PlatformRefused,
)
from bench.session.safe_state import CURRENT_OFF_A
from bench.session.session import BenchSession
from instruments import registry
from instruments.sim.platform.ocpp_charge_point import SimChargePoint
from tests.platform.raw_charge_point import wait_for  # real-time wait: a frame crossing loopback
from tests.support.nodes import FakeNode

ROOT = Path(__file__).resolve().parents[1]
PROFILES = {
    ("ac", "modbus"): "sim-ac-7kw",
    ("ac", "ocpp16"): "sim-ac-7kw-ocpp",
    ("dc", "modbus"): "sim-dc-60kw",
    ("dc", "ocpp16"): "sim-dc-60kw-ocpp",
}


@pytest.fixture
def delivering(tmp_path):
    """Open a simulated bench (kind, control), bring the pile to delivering; yields a builder
    returning (session, bench view, node). Sessions are closed at the end."""
    opened: list[BenchSession] = []

    def open_(kind: str, control: str):
        profile = load_profile(ROOT / "profiles" / f"{PROFILES[kind, control]}.toml", registry.transports())
        session = BenchSession(profile, tmp_path / f"{kind}-{control}")
        opened.append(session)
        session.open()
        node = FakeNode("tests/test_platform_channel_errors.py", f"{kind}_{control}")
        session.begin_test(node)
        bench = facade_for(session, "quick")
        bench.deliver()
        assert bench.try_wait_until(bench.output_active, 10.0, what="output on") is not None, "not delivering"
        return session, bench, node

    yield open_
    for session in opened:
        session.close()


def one_line(error: Exception, *parts: str) -> str:
    text = str(error)
    assert "\n" not in text, f"not one line: {text!r}"
    for part in parts:
        assert part in text, f"{part!r} missing from: {text}"
    return text


def end_and_check_safe(session: BenchSession, node: FakeNode, lost_platform: bool = False) -> None:
    """End the test as the plugin does; the safe-state sequence ran in order, read back from
    the simulated plant's own history."""
    since = session.clock.now()
    session.end_test(node)
    steps = session.safe_state_reports[-1]["steps"]
    outcomes = {step["step"]: step["outcome"] for step in steps}
    expected = {step: "done" for step in outcomes}
    if lost_platform:
        expected["platform stop"] = "skipped"
    assert outcomes == expected, json.dumps(steps, indent=1, ensure_ascii=False)
    history = [entry for entry in session.sim.plant.history if entry[0] >= since]
    if session.profile.dut.kind == "ac":
        assert_ac_order(history)
    else:
        assert_dc_order(history)


def first(history, actor: str, what: str, value, after: float = float("-inf")) -> float | None:
    return next((t for t, a, w, v in history if a == actor and w == what and v == value and t >= after), None)


def assert_ac_order(history) -> None:
    """Vehicle load off → S2 open → the pile's contactor open → unplugged."""
    load_off = first(history, "ev", "load_current_a", 0.0)
    s2_open = first(history, "ev", "s2", False)
    contactor_open = first(history, "pile", "contactor", False)
    unplugged = first(history, "ev", "plugged", False)
    times = [load_off, s2_open, contactor_open, unplugged]
    assert None not in times and times == sorted(times), history
    # order within one instant: the list is in the order things happened
    order = [
        next(i for i, e in enumerate(history) if (e[1], e[2], e[3]) == key)
        for key in (
            ("ev", "load_current_a", 0.0),
            ("ev", "s2", False),
            ("pile", "contactor", False),
            ("ev", "plugged", False),
        )
    ]
    assert order == sorted(order), history


def assert_dc_order(history) -> None:
    """The charger stops (BST) → K5/K6 open below 5 A → battery simulator off; the charger
    discharges the inlet."""
    stop_at = first(history, "charger", "stop", "normal")
    k5k6_open = first(history, "ev", "k5k6", False, after=stop_at or 0.0)
    battery_off = first(history, "battery", "output", False, after=stop_at or 0.0)
    assert None not in (stop_at, k5k6_open, battery_off), history
    assert stop_at <= k5k6_open <= battery_off, history
    interrupted = [v for _, _, w, v in history if w in ("k5k6_interrupted_a", "k1k2_interrupted_a")]
    assert all(amps <= CURRENT_OFF_A for amps in interrupted), f"a contactor opened above 5 A: {interrupted}"
    assert first(history, "charger", "bleed", True, after=stop_at) is not None, "the charger never discharged"


# -- the four errors -------------------------------------------------------------------------
def test_a_charge_point_with_the_wrong_id(delivering):
    session, bench, node = delivering("ac", "ocpp16")
    intruder = SimChargePoint(session.sim.plant.platform, session.clock, session.platform.base_url, "SIM-AC7-9999")
    with pytest.raises(ConnectionRefusedError, match="HTTP 404"):
        intruder.connect()
    with pytest.raises(PlatformRefused) as caught:
        bench.platform.realtime()
    one_line(caught.value, "refused a charge point with id 'SIM-AC7-9999'", "'SIM-AC7-0001'", session.platform.url)
    assert bench.output_active(), "the refused intruder must not have disturbed the pile"
    end_and_check_safe(session, node)


def test_a_malformed_ocpp_frame(delivering):
    session, bench, node = delivering("dc", "ocpp16")
    pile = session.sim.charge_point
    pile._loop.run(pile._websocket.send('[2, "x1", "MeterValues", {"connectorId": "one"'), 5.0)  # the pile misbehaves
    wait_for(lambda: session.platform.errors)
    with pytest.raises(PlatformProtocolError) as caught:
        bench.platform.realtime()
    one_line(
        caught.value, "malformed OCPP frame from charge point 'SIM-DC60-0001'", "not valid JSON", session.platform.url
    )
    end_and_check_safe(session, node)  # the connection stayed usable: the platform stop is sent


def test_a_modbus_exception_response(delivering):
    session, bench, node = delivering("dc", "modbus")

    def refuse(watts):
        raise ValueError(f"{watts} W: not now")

    session.sim.plant.platform.set_power_limit = refuse  # the pile refuses the setpoint
    with pytest.raises(ModbusExceptionResponse) as caught:
        bench.platform.set_power_limit(30_000)
    one_line(
        caught.value,
        "write of 'power_limit'",
        "holding register",
        "Modbus exception 0x03 (illegal data value)",
        session.platform.endpoint,
    )
    end_and_check_safe(session, node)


@pytest.mark.parametrize("control", ["modbus", "ocpp16"])
def test_a_lost_connection(delivering, control):
    session, bench, node = delivering("dc", control)
    if control == "modbus":
        session.sim.drop("platform")  # the pile's control port goes away
    else:
        session.sim.charge_point.drop()  # the pile's TCP connection is cut, no close frame
        wait_for(lambda: session.platform.errors)
    with pytest.raises(PlatformLost) as caught:
        bench.platform.realtime()
    assert isinstance(caught.value, InstrumentLost)
    one_line(caught.value, session.platform.endpoint)
    end_and_check_safe(session, node, lost_platform=True)  # the rest of the sequence still runs
