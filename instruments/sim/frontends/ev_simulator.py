"""The simulated EV simulator / relay board: a ModbusDevice served by ModbusFrontEnd.

It implements the register map by reading the map file (the map is the board's
documentation, instruments/ev/ev_simulator_map.toml), acts on the plant through an
EvSimulatorPort, and measures plant signals at bench time with the board's register
resolution and a little seeded noise. The heartbeat watchdog runs on the bench clock: each
heartbeat schedules the expiry with ``clock.call_at``; no thread of its own. On expiry the
board opens its relays by itself, in the map's steps: K5/K6 and S2; the watchdog outputs;
the last watchdog outputs and (``watchdog_unplug``) CP to state 1.

The general-purpose relay outputs drive *lines*: ``lines`` maps an output number to a
callable that puts the wire's state on the plant (``line(closed)``), e.g. a battery
simulator's inhibit input or a relay in the CC1 line. The simulated bench builds it from
the profile's ``[instruments.ev.wiring]``; an output without a line drives nothing. Each
line is put in the output's power-up state (open) when the board is built.

The bench's E-stop / interlock input (status bit ``estop_input``) is a test-only control
of the simulated board (``estop_input``, ``set_estop_input``): on a real board it is a
wire from the lab's E-stop chain.

Board behaviour the map file describes: writes outside the allowed values → exception 03;
addresses outside the map → 02; closing S2, K5/K6 or an output while the watchdog has
expired or the E-stop input is open (an output also while the watchdog's sequence runs) → 04.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.core.clock import Clock, Timer
from bench.protocols.modbus.registers import EV_BOARD_MAP
from instruments.sim.modbus import ILLEGAL_DATA_ADDRESS, ILLEGAL_DATA_VALUE, SERVER_DEVICE_FAILURE, ModbusException
from instruments.sim.plant.ports import EvSimulatorPort, Signal

# The map file lives with the driver; the simulated board reads it as its documentation.
DEFAULT_MAP_PATH = EV_BOARD_MAP

_WIDTH = {"u16": 1, "i16": 1, "u32": 2, "i32": 2}

# Measurement noise of the simulated board (1 sigma, engineering units): design figures of
# this simulation, well below each register's use on the bench; no standard behind them.
DEFAULT_NOISE = {
    "cp_high": 0.02,
    "cp_low": 0.02,
    "cp_duty": 0.02,
    "cp_frequency": 0.2,
    "load_current": 0.02,
    "cc1_voltage": 0.01,
    "aux_voltage": 0.01,
    "inlet_voltage": 0.05,
}
# Which plant signal each measured register reads.
SIGNAL_OF = {
    "load_current": "ac_current",
    "cc1_voltage": "cc1",
    "aux_voltage": "aux_voltage",
    "inlet_voltage": "inlet_voltage",
}
CP_REGISTERS = ("cp_high", "cp_low", "cp_duty", "cp_frequency")
PLATEAU_SAMPLES = 8  # samples averaged in the middle half of each PWM plateau
RMS_SAMPLES = 200
# Step of the watchdog's opening sequence when the map's [board] table does not give one.
DEFAULT_WATCHDOG_STEP_S = 0.05
OUTPUT_PREFIX = "output_"


@dataclass(frozen=True)
class _Reg:
    name: str
    table: str
    address: int
    count: int
    signed: bool
    scale: float
    low: float | None
    high: float | None
    values: frozenset[int]
    bits: Mapping[str, int] = field(default_factory=dict)
    power_on: float = 0.0

    def to_words(self, value: float) -> list[int]:
        """Engineering value → words; an out-of-range reading saturates as an ADC would."""
        return self.raw_words(int(round(value / self.scale)))

    def raw_words(self, raw: int) -> list[int]:
        bits = 16 * self.count
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.signed else (0, (1 << bits) - 1)
        raw = min(hi, max(lo, raw)) & ((1 << bits) - 1)
        return [(raw >> (16 * (self.count - 1 - i))) & 0xFFFF for i in range(self.count)]

    def from_words(self, words: list[int]) -> int:
        raw = 0
        for word in words:
            raw = raw << 16 | word
        if self.signed and raw >= 1 << (16 * self.count - 1):
            raw -= 1 << (16 * self.count)
        return raw

    def accepts(self, raw: int) -> bool:
        if self.values:
            return raw in self.values
        value = raw * self.scale
        tolerance = self.scale / 2
        return (self.low is None or value >= self.low - tolerance) and (
            self.high is None or value <= self.high + tolerance
        )


@dataclass(frozen=True)
class _CpReading:
    high: float
    low: float
    duty: float
    frequency: float


def read_board_map(path: Path) -> tuple[dict[str, _Reg], int, dict]:
    """Registers by name, the map version word and the [board] table of the map file."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    registers = {}
    for table in ("input", "holding"):
        for name, entry in data.get(table, {}).items():
            typ = entry["type"]
            registers[name] = _Reg(
                name=name,
                table=table,
                address=entry["address"],
                count=_WIDTH.get(typ) or entry["count"],
                signed=typ.startswith("i"),
                scale=float(entry.get("scale", 1.0)),
                low=entry.get("min"),
                high=entry.get("max"),
                values=frozenset(int(k) for k in entry.get("values", {})),
                bits=dict(entry.get("bits", {})),
                power_on=float(entry.get("power_on", 0)),
            )
    major, minor = (int(p) for p in data["map"]["version"].split("."))
    return registers, major << 8 | minor, dict(data.get("board", {}))


class EvSimulatorBoard:
    """ModbusDevice of the simulated relay board (see instruments/sim/modbus.py)."""

    def __init__(
        self,
        clock: Clock,
        port: EvSimulatorPort,
        signals: Callable[[str], Signal],
        map_path: str | Path = DEFAULT_MAP_PATH,
        identity: Mapping[int, str] | None = None,
        rng: np.random.Generator | None = None,
        noise: Mapping[str, float] | None = None,
        lines: Mapping[int, Callable[[bool], None]] | None = None,
        estop_input: bool = False,
    ):
        self.clock = clock
        self.port = port
        self.signals = signals
        self.identity = dict(identity or {0: "Bench Simulation", 1: "EVSIM", 2: "1.0", 5: "EVSIM"})
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.noise = {**DEFAULT_NOISE, **(noise or {})}
        self.registers, self.map_version, board = read_board_map(Path(map_path))
        self.aux_threshold_v = float(board["aux_present_threshold_v"])
        self.pwm_window_s = float(board["pwm_window_s"])
        self.rms_window_s = float(board["rms_window_s"])
        self.watchdog_step_s = float(board.get("watchdog_step_s", DEFAULT_WATCHDOG_STEP_S))
        # relay outputs by number (output_1 → 1)
        self.outputs = {
            int(name[len(OUTPUT_PREFIX) :]): name
            for name in self.registers
            if name.startswith(OUTPUT_PREFIX) and name[len(OUTPUT_PREFIX) :].isdigit()
        }
        self.lines = dict(lines or {})
        unknown = sorted(set(self.lines) - set(self.outputs))
        if unknown:
            raise ValueError(f"the board has no relay output {unknown[0]} (outputs: {sorted(self.outputs)})")
        self.estop_input = bool(estop_input)
        self._at: dict[str, dict[int, tuple[_Reg, int]]] = {"input": {}, "holding": {}}
        for reg in self.registers.values():
            for offset in range(reg.count):
                self._at[reg.table][reg.address + offset] = (reg, offset)
        self._holding = {
            reg.name: int(round(reg.power_on / reg.scale)) for reg in self.registers.values() if reg.table == "holding"
        }
        self._powered_at = clock.now()
        self._last_heartbeat: float | None = None
        self._expired = True  # until the first heartbeat: relays may not close
        self._watchdog: Timer | None = None
        self._sequence: list[Timer] = []  # the watchdog's pending opening steps
        self._cp_cache: tuple[float, _CpReading | None] | None = None
        for number, line in self.lines.items():  # the wires start where the relays are at power-up
            line(bool(self._holding[self.outputs[number]]))

    # -- ModbusDevice ------------------------------------------------------------------------
    def read_holding(self, address: int, count: int) -> list[int]:
        return self._read("holding", address, count, lambda reg: reg.raw_words(self._holding[reg.name]))

    def read_input(self, address: int, count: int) -> list[int]:
        return self._read("input", address, count, lambda reg: reg.to_words(self._measure(reg.name)))

    def write(self, address: int, values: list[int]) -> None:
        updates = self._split_write(address, values)
        for reg, raw in updates:
            if not reg.accepts(raw):
                raise ModbusException(ILLEGAL_DATA_VALUE)
            closes = (
                (reg.name == "cp_state" and raw == 3)
                or (reg.name == "vehicle_contactors" and raw == 1)
                or (reg.name.startswith(OUTPUT_PREFIX) and raw == 1)
            )
            if closes and (
                self._expired or self.estop_input or (reg.name.startswith(OUTPUT_PREFIX) and self._sequence)
            ):
                raise ModbusException(SERVER_DEVICE_FAILURE)
        for reg, raw in updates:
            old = self._holding[reg.name]
            self._holding[reg.name] = raw
            self._apply(reg, old, raw)

    def identification(self) -> dict[int, str]:
        return dict(self.identity)

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        for step in self._sequence:
            step.cancel()
        self._sequence.clear()

    # -- test-only control -------------------------------------------------------------------
    def set_estop_input(self, pressed: bool) -> None:
        """The lab's E-stop / interlock chain open (pressed) or closed, at the board's input."""
        self.estop_input = bool(pressed)

    # -- register access ---------------------------------------------------------------------
    def _read(self, table: str, address: int, count: int, words_of: Callable[[_Reg], list[int]]) -> list[int]:
        index = self._at[table]
        out, cache = [], {}
        for addr in range(address, address + count):
            if addr not in index:
                raise ModbusException(ILLEGAL_DATA_ADDRESS)
            reg, offset = index[addr]
            if reg.name not in cache:
                cache[reg.name] = words_of(reg)
            out.append(cache[reg.name][offset])
        return out

    def _split_write(self, address: int, values: list[int]) -> list[tuple[_Reg, int]]:
        """The registers a write covers; it must start and end on register boundaries."""
        index = self._at["holding"]
        updates, addr = [], address
        while addr < address + len(values):
            reg, offset = index.get(addr, (None, 1))
            if reg is None or offset != 0 or addr + reg.count > address + len(values):
                raise ModbusException(ILLEGAL_DATA_ADDRESS)
            updates.append((reg, reg.from_words(values[addr - address : addr - address + reg.count])))
            addr += reg.count
        return updates

    # -- commands ----------------------------------------------------------------------------
    def _apply(self, reg: _Reg, old: int, new: int) -> None:
        name, port = reg.name, self.port
        if name == "heartbeat":
            if new != old:
                self._last_heartbeat = self.clock.now()
                self._expired = False
                port.heartbeat(new)
                self._arm_watchdog()
            return
        if name == "watchdog_time":
            self._arm_watchdog()
            return
        if new == old:
            return  # a relay already in that position does not move
        if name == "cp_state":
            if old == 3:
                port.set_s2(False)
            if (old == 1) != (new == 1):
                port.set_plugged(new != 1)
            if new == 3:
                port.set_s2(True)
        elif name == "diode_fault":
            port.set_diode_fault(bool(new))
        elif name == "load_current_setpoint":
            port.set_load_current(new * reg.scale)
        elif name == "cc2_state":
            port.set_cc2_connected(bool(new))
        elif name == "vehicle_contactors":
            port.set_vehicle_contactors(bool(new))
        elif name == "estop":
            port.set_estop(bool(new))
        elif name.startswith(OUTPUT_PREFIX):
            self._drive_output(int(name[len(OUTPUT_PREFIX) :]), bool(new))

    def _drive_output(self, number: int, closed: bool) -> None:
        line = self.lines.get(number)
        if line is not None:
            line(closed)

    def _watchdog_s(self) -> float:
        return self._holding["watchdog_time"] * self.registers["watchdog_time"].scale

    def _arm_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._last_heartbeat is not None:
            self._watchdog = self.clock.call_at(self._last_heartbeat + self._watchdog_s(), self._expire)

    def _expire(self) -> None:
        """Step 1 of the watchdog's sequence: K5/K6 and S2 open; the next steps follow on the
        board's own clock, whatever the bench does (a late heartbeat does not stop them)."""
        self._watchdog = None
        self._expired = True
        if self._holding["vehicle_contactors"]:
            self._holding["vehicle_contactors"] = 0
            self.port.set_vehicle_contactors(False)
        if self._holding["cp_state"] == 3:
            self._holding["cp_state"] = 2
            self.port.set_s2(False)
        if not self._sequence:
            self._sequence = [
                self.clock.call_later(self.watchdog_step_s, self._expire_outputs),
                self.clock.call_later(2 * self.watchdog_step_s, self._expire_last),
            ]

    def _watchdog_mask(self, name: str) -> int:
        return self._holding[name] if name in self._holding else 0

    def _open_outputs(self, mask: int) -> None:
        for number, name in sorted(self.outputs.items()):
            if mask >> (number - 1) & 1 and self._holding[name]:
                self._holding[name] = 0
                self._drive_output(number, False)

    def _expire_outputs(self) -> None:
        """Step 2: the watchdog outputs that are not opened last (e.g. the inhibit lines)."""
        last = self._watchdog_mask("watchdog_outputs_last")
        self._open_outputs(self._watchdog_mask("watchdog_outputs") & ~last)

    def _expire_last(self) -> None:
        """Step 3: the last watchdog outputs (e.g. CC1) and, if configured, CP to state 1."""
        self._sequence = []
        self._open_outputs(self._watchdog_mask("watchdog_outputs") & self._watchdog_mask("watchdog_outputs_last"))
        if self._watchdog_mask("watchdog_unplug") and self._holding["cp_state"] != 1:
            if self._holding["cp_state"] == 3:  # closed again in between: S2 first
                self.port.set_s2(False)
            self._holding["cp_state"] = 1
            self.port.set_plugged(False)

    # -- measurements ------------------------------------------------------------------------
    def _measure(self, name: str) -> float:
        if name == "map_version":
            return self.map_version
        if name == "status":
            return self._bit_word("status", self._status())
        if name == "faults":
            return self._bit_word(
                "faults", {"watchdog_expired": self._expired, "estop_active": bool(self._holding["estop"])}
            )
        if name == "uptime":
            return math.floor(self.clock.now() - self._powered_at)
        if name in CP_REGISTERS:
            reading = self._cp()
            return 0.0 if reading is None else getattr(reading, name[3:])
        signal = self._signal(SIGNAL_OF[name])
        if signal is None:
            return 0.0  # nothing wired to that input
        now = self.clock.now()
        if name == "load_current":
            start = max(0.0, now - self.rms_window_s)
            samples = signal.sample(np.linspace(start, now, RMS_SAMPLES, endpoint=False))
            value = float(np.sqrt(np.mean(np.square(samples))))
        else:
            value = signal.at(now)
        return self._noisy(name, value)

    def _status(self) -> dict[str, bool]:
        cp_state = self._holding["cp_state"]
        aux = self._signal("aux_voltage")
        return {
            "plugged": cp_state >= 2,
            "s2_closed": cp_state == 3,
            "diode_fault": bool(self._holding["diode_fault"]),
            "cc2_connected": bool(self._holding["cc2_state"]),
            "vehicle_contactors": bool(self._holding["vehicle_contactors"]),
            "aux_present": aux is not None and aux.at(self.clock.now()) >= self.aux_threshold_v,
            "estop": bool(self._holding["estop"]),
            "watchdog_ok": not self._expired,
            "estop_input": self.estop_input,
        }

    def _bit_word(self, name: str, flags: Mapping[str, bool]) -> int:
        bits = self.registers[name].bits
        return sum(1 << bits[flag] for flag, on in flags.items() if on and flag in bits)

    def _cp(self) -> _CpReading | None:
        now = self.clock.now()
        if self._cp_cache is None or self._cp_cache[0] != now:
            self._cp_cache = (now, self._measure_cp(now))
        return self._cp_cache[1]

    def _measure_cp(self, now: float) -> _CpReading | None:
        """The board's PWM meter: first full period in the window, threshold 0 V."""
        cp = self._signal("cp")
        if cp is None:
            return None
        start = max(0.0, now - self.pwm_window_s)
        rise = cp.next_crossing(start, now, 0.0, True)
        fall = cp.next_crossing(rise, now, 0.0, False) if rise is not None else None
        rise2 = cp.next_crossing(fall, now, 0.0, True) if fall is not None else None
        if rise2 is None or rise2 <= rise:
            level = self._noisy("cp_high", float(np.mean(cp.sample(np.linspace(start, now, PLATEAU_SAMPLES)))))
            return _CpReading(level, level, 100.0 if level > 0 else 0.0, 0.0)
        period = rise2 - rise
        high = self._plateau(cp, rise, fall)
        low = self._plateau(cp, fall, rise2)
        return _CpReading(
            self._noisy("cp_high", high),
            self._noisy("cp_low", low),
            self._noisy("cp_duty", 100.0 * (fall - rise) / period),
            self._noisy("cp_frequency", 1.0 / period),
        )

    @staticmethod
    def _plateau(cp: Signal, start: float, end: float) -> float:
        quarter = (end - start) / 4
        return float(np.mean(cp.sample(np.linspace(start + quarter, end - quarter, PLATEAU_SAMPLES))))

    def _signal(self, name: str) -> Signal | None:
        try:
            return self.signals(name)
        except KeyError:
            return None

    def _noisy(self, name: str, value: float) -> float:
        sigma = self.noise.get(name, 0.0)
        return value + float(self.rng.normal(0.0, sigma)) if sigma > 0 else value
