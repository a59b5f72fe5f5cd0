"""The EV simulator driver against the simulated board, through pymodbus and the socket hub."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.errors import InstrumentError, InstrumentLost, SetpointRefused
from instruments.ev.modbus_ev_simulator import ModbusEvSimulator
from instruments.sim.frontends.ev_simulator import EvSimulatorBoard
from instruments.sim.hub import SocketHub
from instruments.sim.modbus import ModbusFrontEnd
from tests.sim.test_ev_frontend import IDENTITY, NO_NOISE, Constant, FakeEvPort, FakeSignals, SquareWave
from tests.support.transcript import instrument_config, new_clock


class Bench:
    def __init__(self, signals, dut_guard=None):
        self.clock = new_clock()
        self.port = FakeEvPort(self.clock)
        self.signals = signals
        self.board = EvSimulatorBoard(
            self.clock, self.port, signals, identity=IDENTITY, rng=np.random.default_rng(3), noise=NO_NOISE
        )
        self.hub = SocketHub(self.clock)
        self.front_end = ModbusFrontEnd("ev", self.board, unit_id=1)
        tcp_port = self.hub.serve(self.front_end)
        self.hub.start()
        config = instrument_config("ev", "modbus-ev-simulator", f"modbus+tcp://127.0.0.1:{tcp_port}/1", timeout_s=1.0)
        self.ev = ModbusEvSimulator(config, self.clock, dut_guard)

    def close(self):
        self.ev.close()
        self.hub.stop()
        assert self.hub.errors == []


@pytest.fixture
def bench():
    made = []

    def build(signals=None, dut_guard=None):
        b = Bench(signals or FakeSignals(), dut_guard)
        made.append(b)
        b.ev.open()
        return b

    yield build
    for b in made:
        b.close()


def test_open_identifies_the_board(bench):
    b = bench()
    assert (b.ev.identity.maker, b.ev.identity.model, b.ev.identity.serial, b.ev.identity.firmware) == (
        "Bench Simulation",
        "EVSIM-AC",
        "SIM-EV-1",
        "1.0",
    )
    assert "0x05=EVSIM-AC" in b.ev.identity.raw


def test_ac_commands_reach_the_plant_and_read_backs_follow_it(bench):
    b = bench(FakeSignals(cp=SquareWave(1000.0, 0.267, 6.0, -12.0), ac_current=Constant("ac_current", 15.5)))
    b.ev.heartbeat()
    b.ev.plug(True)
    b.ev.set_s2(True)
    b.ev.set_diode_fault(True)
    b.ev.set_diode_fault(False)
    b.ev.set_load_current(15.5)
    assert b.port.seen() == [
        ("heartbeat", 1),
        ("set_plugged", True),
        ("set_s2", True),
        ("set_diode_fault", True),
        ("set_diode_fault", False),
        ("set_load_current", 15.5),
    ]
    b.clock.sleep(0.1)
    assert b.ev.cp_voltage() == (pytest.approx(6.0), pytest.approx(-12.0))
    assert b.ev.cp_pwm() == (pytest.approx(26.7), pytest.approx(1000.0))
    assert b.ev.load_current() == pytest.approx(15.5)
    assert b.ev.status()["s2_closed"]


def test_dc_commands_reach_the_plant_and_read_backs_follow_it(bench):
    signals = FakeSignals(
        aux_voltage=Constant("aux_voltage", 12.1),
        cc1=Constant("cc1", 3.98),
        inlet_voltage=Constant("inlet_voltage", 402.5),
    )
    b = bench(signals)
    b.ev.heartbeat()
    b.ev.set_cc2(True)
    b.ev.set_vehicle_contactors(True)
    b.ev.set_estop(True)
    assert b.port.seen("set_cc2_connected", "set_vehicle_contactors", "set_estop") == [
        ("set_cc2_connected", True),
        ("set_vehicle_contactors", True),
        ("set_estop", True),
    ]
    assert b.ev.vehicle_contactors() is True
    assert (b.ev.aux_voltage(), b.ev.aux_present(), b.ev.cc1_voltage(), b.ev.inlet_voltage()) == (
        pytest.approx(12.1),
        True,
        pytest.approx(3.98),
        pytest.approx(402.5),
    )
    signals.signals["aux_voltage"] = Constant("aux_voltage", 0.0)
    assert b.ev.aux_present() is False
    assert b.ev.faults() == {"watchdog_expired": False, "estop_active": True}


def test_safe_off_opens_everything_in_order(bench):
    b = bench()
    b.ev.heartbeat()
    b.ev.plug(True)
    b.ev.set_s2(True)
    b.ev.set_load_current(10.0)
    b.ev.set_cc2(True)
    b.ev.set_vehicle_contactors(True)
    del b.port.calls[:]
    b.ev.safe_off()
    assert b.port.seen() == [
        ("set_load_current", 0.0),
        ("set_vehicle_contactors", False),
        ("set_s2", False),
        ("set_plugged", False),
        ("set_cc2_connected", False),
    ]
    b.ev.safe_off()  # already safe: nothing moves, nothing fails
    assert len(b.port.seen()) == 5


def test_watchdog_opens_k5k6_and_s2_when_heartbeats_stop(bench):
    b = bench()
    b.ev.set_watchdog(1.5)
    b.ev.heartbeat()
    b.ev.plug(True)
    b.ev.set_s2(True)
    b.ev.set_vehicle_contactors(True)
    for _ in range(5):  # a live bench: heartbeats every second keep the relays closed
        b.clock.sleep(1.0)
        b.ev.heartbeat()
    last = b.clock.now()
    assert b.ev.vehicle_contactors() and b.ev.status()["s2_closed"]
    b.clock.sleep(3.0)  # the bench goes quiet
    opened = [(t - last, what) for t, what, value in b.port.calls if value is False]
    assert opened == [(pytest.approx(1.5), "set_vehicle_contactors"), (pytest.approx(1.5), "set_s2")]
    assert not b.ev.vehicle_contactors()
    assert b.ev.faults()["watchdog_expired"]
    with pytest.raises(InstrumentError, match=r"vehicle_contactors \(holding 111\).*0x04 \(server device failure\)"):
        b.ev.set_vehicle_contactors(True)
    b.ev.heartbeat()
    b.ev.set_vehicle_contactors(True)
    assert b.ev.vehicle_contactors()


def test_setpoints_outside_the_map_or_the_dut_are_refused_before_sending(bench):
    b = bench(dut_guard={"current_a": (0.0, 32.0)})
    requests = len(b.front_end.log)
    with pytest.raises(SetpointRefused, match="register map"):
        b.ev.set_load_current(70.0)
    with pytest.raises(SetpointRefused, match="DUT range 0 … 32 A"):
        b.ev.set_load_current(40.0)
    with pytest.raises(SetpointRefused, match="watchdog_s"):
        b.ev.set_watchdog(0.0)
    with pytest.raises(InstrumentError, match="plug first"):
        b.ev.set_s2(True)  # asks cp_state, sends nothing
    assert [function for function, _ in b.front_end.log[requests:]] == [0x03]
    assert b.port.calls == []


def test_a_dropped_board_is_a_lost_instrument(bench):
    b = bench()
    b.hub.drop("ev")
    with pytest.raises(InstrumentLost, match=r"^ev: .*modbus\+tcp://127\.0\.0\.1:\d+/1"):
        b.ev.inlet_voltage()
