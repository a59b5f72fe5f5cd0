"""The simulated EV simulator board, called directly as a ModbusDevice (no sockets).

The fakes here (port, signals) are also used by the driver-against-simulator test.
Expected register words are written from the map file's documentation by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from instruments.sim.frontends.ev_simulator import EvSimulatorBoard
from instruments.sim.modbus import ModbusException
from tests.support.transcript import new_clock

IDENTITY = {0: "Bench Simulation", 1: "EVSIM-AC", 2: "1.0", 5: "EVSIM-AC", 0x80: "SIM-EV-1"}
NO_NOISE = dict.fromkeys(
    ("cp_high", "cp_low", "cp_duty", "cp_frequency", "load_current", "cc1_voltage", "aux_voltage", "inlet_voltage"), 0.0
)


# ----------------------------------------------------------------------------------------
# Fakes: an EvSimulatorPort that records every call, and a few Signals
# ----------------------------------------------------------------------------------------
class FakeEvPort:
    def __init__(self, clock):
        self.clock = clock
        self.calls: list[tuple[float, str, object]] = []

    def _record(self, what, value):
        self.calls.append((self.clock.now(), what, value))

    def set_plugged(self, plugged):
        self._record("set_plugged", plugged)

    def set_s2(self, closed):
        self._record("set_s2", closed)

    def set_diode_fault(self, shorted):
        self._record("set_diode_fault", shorted)

    def set_load_current(self, amps):
        self._record("set_load_current", amps)

    def set_cc2_connected(self, connected):
        self._record("set_cc2_connected", connected)

    def set_vehicle_contactors(self, closed):
        self._record("set_vehicle_contactors", closed)

    def set_estop(self, pressed):
        self._record("set_estop", pressed)

    def heartbeat(self, counter):
        self._record("heartbeat", counter)

    def state(self):
        return {}

    def seen(self, *names):
        return [(what, value) for _, what, value in self.calls if not names or what in names]


class Constant:
    unit = "V"

    def __init__(self, name, value):
        self.name, self.value = name, value

    def at(self, t):
        return self.value

    def sample(self, times):
        return np.full(len(times), self.value, dtype=float)

    def next_crossing(self, start, end, level, rising):
        return None


class SquareWave:
    """CP PWM: ``high`` from each k/f for duty/f, ``low`` for the rest of the period."""

    name, unit = "cp", "V"

    def __init__(self, frequency, duty, high, low):
        self.f, self.d, self.high, self.low = frequency, duty, high, low

    def at(self, t):
        return self.high if (t * self.f) % 1.0 < self.d else self.low

    def sample(self, times):
        return np.array([self.at(t) for t in times])

    def next_crossing(self, start, end, level, rising):
        offset = 0.0 if rising else self.d
        k = math.ceil(start * self.f - offset - 1e-9)
        t = (k + offset) / self.f
        return t if t <= end else None


class Sine:
    name, unit = "ac_current", "A"

    def __init__(self, rms, frequency=50.0):
        self.peak, self.f = rms * math.sqrt(2), frequency

    def at(self, t):
        return self.peak * math.sin(2 * math.pi * self.f * t)

    def sample(self, times):
        return self.peak * np.sin(2 * math.pi * self.f * np.asarray(times))

    def next_crossing(self, start, end, level, rising):
        return None


class FakeSignals:
    """signals(name) → Signal; KeyError for a wiring point the plant does not have."""

    def __init__(self, **signals):
        self.signals = signals

    def __call__(self, name):
        return self.signals[name]


def make_board(clock, signals=None, noise=NO_NOISE, seed=1):
    port = FakeEvPort(clock)
    board = EvSimulatorBoard(
        clock, port, signals or FakeSignals(), identity=IDENTITY, rng=np.random.default_rng(seed), noise=noise
    )
    return board, port


def exception_code(call, *args):
    with pytest.raises(ModbusException) as info:
        call(*args)
    return info.value.code


def s16(word):
    return word - 0x10000 if word >= 0x8000 else word


# ----------------------------------------------------------------------------------------
@pytest.fixture
def clock():
    return new_clock()


def test_power_on_registers_as_the_map_documents(clock):
    board, port = make_board(clock)
    assert board.read_input(0, 3) == [0x0101, 0, 0b01]  # map 1.1; no relay closed; watchdog expired
    assert board.read_holding(100, 3) == [1, 0, 0]  # unplugged, diode in circuit, 0 A
    assert board.read_holding(120, 2) == [0, 50]  # heartbeat 0, watchdog 5.0 s
    assert board.identification() == IDENTITY
    assert port.calls == []


def test_ac_commands_reach_the_port_in_circuit_order(clock):
    board, port = make_board(clock)
    board.write(120, [1])  # heartbeat arms the watchdog
    board.write(100, [3])  # plug in with S2 closed in one step
    board.write(101, [1])
    board.write(102, [1600])  # 16.00 A
    assert port.seen() == [
        ("heartbeat", 1),
        ("set_plugged", True),
        ("set_s2", True),
        ("set_diode_fault", True),
        ("set_load_current", 16.0),
    ]
    assert board.read_input(1, 1) == [0b1000_0111]  # plugged, S2 closed, diode fault, watchdog ok
    board.write(100, [1])  # pull the plug: S2 opens first
    assert port.seen()[-2:] == [("set_s2", False), ("set_plugged", False)]
    board.write(100, [1])  # no change: the relays do not move
    assert len(port.seen()) == 7


def test_dc_commands_reach_the_port(clock):
    board, port = make_board(clock)
    board.write(120, [7])
    board.write(110, [1, 1, 1])  # FC16 over cc2_state, vehicle_contactors, estop
    assert port.seen("set_cc2_connected", "set_vehicle_contactors", "set_estop") == [
        ("set_cc2_connected", True),
        ("set_vehicle_contactors", True),
        ("set_estop", True),
    ]
    assert board.read_input(1, 2) == [0b1101_1000, 0b10]  # cc2, K5/K6, estop, watchdog ok; estop fault


def test_bad_writes_are_refused_with_the_documented_exception_and_change_nothing(clock):
    board, port = make_board(clock)
    assert exception_code(board.write, 100, [4]) == 0x03  # cp_state only 1, 2, 3
    assert exception_code(board.write, 102, [6301]) == 0x03  # 63.01 A > 63 A
    assert exception_code(board.write, 121, [0]) == 0x03  # watchdog time 0 s < 0.1 s
    assert exception_code(board.write, 103, [0]) == 0x02  # no register there
    assert exception_code(board.write, 110, [1, 1, 1, 0]) == 0x02  # runs past estop into a gap
    assert exception_code(board.read_input, 2, 10) == 0x02  # spans the gap after uptime
    assert exception_code(board.write, 100, [3]) == 0x04  # no heartbeat yet: S2 may not close
    assert exception_code(board.write, 111, [1]) == 0x04  # nor K5/K6
    assert exception_code(board.write, 110, [1, 7, 0]) == 0x03  # one bad value: nothing is written
    assert board.read_holding(110, 3) == [0, 0, 0]
    assert port.calls == []


def test_watchdog_opens_k5k6_and_s2_on_the_bench_clock(clock):
    board, port = make_board(clock)
    board.write(121, [20])  # 2.0 s
    board.write(120, [1])
    board.write(100, [3])
    board.write(110, [1, 1])
    clock.sleep(1.0)
    board.write(120, [1])  # the same value again is no heartbeat
    clock.sleep(0.9)
    assert board.read_holding(111, 1) == [1]
    board.write(120, [2])  # heartbeat at t = 1.9 s
    clock.sleep(1.99)
    assert ("set_vehicle_contactors", False) not in port.seen()
    clock.sleep(0.02)
    opened = [(t, what) for t, what, value in port.calls if value is False]
    assert opened == [(pytest.approx(3.9), "set_vehicle_contactors"), (pytest.approx(3.9), "set_s2")]
    assert board.read_holding(100, 1) == [2] and board.read_holding(111, 1) == [0]
    assert board.read_input(1, 2) == [0b0000_1001, 0b01]  # plugged, cc2; watchdog expired
    assert exception_code(board.write, 111, [1]) == 0x04
    board.write(120, [3])
    board.write(111, [1])
    assert board.read_input(2, 1) == [0]


def test_cp_pwm_meter_reads_levels_duty_and_frequency(clock):
    board, _ = make_board(clock, FakeSignals(cp=SquareWave(1000.0, 0.533, 9.0, -12.0)))
    clock.sleep(0.0123)
    high, low, duty, frequency = board.read_input(10, 4)
    assert (s16(high), s16(low), duty, frequency) == (900, -1200, 533, 10000)


def test_cp_without_pwm_reads_the_steady_level_in_both_registers(clock):
    board, _ = make_board(clock, FakeSignals(cp=Constant("cp", 6.02)))
    clock.sleep(0.1)
    assert board.read_input(10, 4) == [602, 602, 1000, 0]
    board, _ = make_board(clock, FakeSignals(cp=Constant("cp", -12.0)))
    assert [s16(w) for w in board.read_input(10, 4)] == [-1200, -1200, 0, 0]


def test_dc_read_backs_follow_the_plant_signals(clock):
    signals = FakeSignals(
        aux_voltage=Constant("aux_voltage", 12.04),
        cc1=Constant("cc1", 4.0),
        inlet_voltage=Constant("inlet_voltage", 749.87),
    )
    board, _ = make_board(clock, signals)
    assert board.read_input(20, 4) == [400, 1204, 74987 >> 16, 74987 & 0xFFFF]
    assert board.read_input(1, 1)[0] & 1 << 5  # aux present
    signals.signals["aux_voltage"] = Constant("aux_voltage", 8.9)  # below the 9.0 V threshold
    signals.signals["inlet_voltage"] = Constant("inlet_voltage", -1.5)
    assert not board.read_input(1, 1)[0] & 1 << 5
    assert board.read_input(22, 2) == [0xFFFF, (-150) & 0xFFFF]  # i32, high word first


def test_missing_wiring_reads_zero_and_the_load_current_is_rms(clock):
    board, _ = make_board(clock, FakeSignals(ac_current=Sine(16.0)))
    clock.sleep(1.0)
    assert board.read_input(14, 1) == [1600]
    assert board.read_input(20, 4) == [0, 0, 0, 0]  # an AC plant has no DC signals
    assert board.read_input(10, 4) == [0, 0, 0, 0]


def test_noise_is_small_seeded_and_repeatable(clock):
    def readings(seed):
        board, _ = make_board(
            new_clock(), FakeSignals(aux_voltage=Constant("aux_voltage", 12.0)), noise=None, seed=seed
        )
        return [board.read_input(21, 1)[0] for _ in range(50)]

    first = readings(5)
    assert first == readings(5)
    assert len(set(first)) > 1 and all(abs(w - 1200) <= 5 for w in first)
