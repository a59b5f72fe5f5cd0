"""Simulated Chroma 61800 / 61600 AC source, the bench's grid simulator (docs/instruments.md §5).

Acts on an AcSourcePort (wiring ``{1: port}``) from the moment it is built: it powers up
with the output off at 0 V unless ``power_on_*`` say the bench was left running. Its
read-back is measured from the plant's supply signals (``supply_voltage``, ``supply_current``
unless given) over the last ``MEASURE_WINDOW_S`` of bench time, synchronised to whole cycles.

Rules:
* A voltage level and the range are checked together at the end of each program message,
  so ``VOLT:AC 220;VOLT:RANG HIGH`` works and ``VOLT:AC 220`` alone in the LOW range queues
  ``-222,"Data out of range"`` and changes nothing [C] 61603 manual p.72.
* A command after ``;`` that does not fit the current path is taken from the root (that
  manual example would otherwise be ``VOLT:VOLT:RANG``).
* ``VOLT:LIM:AC`` caps the level: a higher ``VOLT:AC`` is out of range.

Replies: NR2 — volts, watts, VA, var and hertz with 2 decimals, amperes, power factor and
crest factor with 3; ``OUTP?`` ``ON``/``OFF`` [U]; ``VOLT:RANG?`` ``LOW``/``HIGH`` [U].
"""

from __future__ import annotations

import numpy as np

from instruments.sim.frontends.common import Meter, RootFallback, Settings, idn, resolve_signal
from instruments.sim.frontends.power_window import analyse, sample_window
from instruments.sim.scpi import DATA_OUT_OF_RANGE, Call, ScpiError, ScpiFrontEnd

VOLTAGE_RANGES = {"LOW": 150.0, "HIGH": 300.0}  # [C] 61503 p.8-12 (61500: 0–150 / 0–300 V)
FREQUENCY_RANGE = (15.0, 1000.0)  # [C] 61503 list range
MEASURE_WINDOW_S = 0.2  # design figure: 10 cycles at 50 Hz
VOLTAGE_RESOLUTION, CURRENT_RESOLUTION = 0.01, 0.001


def two(value: float) -> str:
    return f"{value:.2f}"


def three(value: float) -> str:
    return f"{value:.3f}"


class Chroma61800FrontEnd(Settings, RootFallback, ScpiFrontEnd):
    def __init__(
        self,
        name: str,
        clock,
        identity: tuple[str, str, str, str],
        wiring: dict,
        rng: np.random.Generator,
        *,
        plant=None,
        current_max: float = 63.0,
        voltage_signal="supply_voltage",
        current_signal="supply_current",
        voltage_ranges: dict | None = None,
        power_on_voltage: float = 0.0,
        power_on_frequency: float = 50.0,
        power_on_output: bool = False,
    ):
        super().__init__(name)
        self.clock = clock
        self.idn = idn(identity)
        self.port = wiring[1]
        self.voltage_signal = resolve_signal(plant, voltage_signal, name, "voltage read-back")
        self.current_signal = resolve_signal(plant, current_signal, name, "current read-back")
        self.ranges = dict(voltage_ranges or VOLTAGE_RANGES)
        self.current_max = current_max
        self.voltmeter = Meter(rng, VOLTAGE_RESOLUTION, noise=0.02)
        self.ammeter = Meter(rng, CURRENT_RESOLUTION, noise=0.002)
        self.reset(power_on_voltage, power_on_frequency, power_on_output)
        self._declare()

    def reset(self, voltage: float = 0.0, frequency: float = 50.0, output: bool = False) -> None:
        """*RST (0 V, 50 Hz, output off), or the power-on state the bench was left in."""
        self.output = output
        self.voltage = voltage
        self.voltage_range = "LOW" if voltage <= self.ranges["LOW"] else "HIGH"
        self.voltage_limit = max(self.ranges.values())
        self.frequency = frequency
        self.current_limit = self.current_max
        self._pending: dict[str, object] = {}
        self._apply()

    # -- declaration -------------------------------------------------------------------------
    def _declare(self) -> None:
        top = max(self.ranges.values())
        self._setting(
            "[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]:AC",
            lambda c: two(self.voltage),
            lambda c: self._pending.__setitem__("voltage", c.number(0, low=0.0, high=top)),
        )
        self._setting("[SOURce:]VOLTage:RANGe", lambda c: self.voltage_range, self._set_range)
        self._setting(
            "[SOURce:]VOLTage:LIMit:AC",
            lambda c: two(self.voltage_limit),
            lambda c: self._pending.__setitem__("limit", c.number(0, low=0.0, high=top)),
        )
        self._setting("[SOURce:]FREQuency[:IMMediate]", lambda c: two(self.frequency), self._set_frequency)
        self._setting("[SOURce:]CURRent:LIMit", lambda c: three(self.current_limit), self._set_current_limit)
        self._setting("OUTPut[:STATe]", lambda c: "ON" if self.output else "OFF", self._set_output)
        for verb in ("MEASure", "FETCh"):
            for query, pick in (
                ("VOLTage:ACDC", lambda w: two(self.voltmeter.read(w.urms))),
                ("VOLTage:DC", lambda w: two(self.voltmeter.read(w.udc))),
                ("CURRent:AC", lambda w: three(self.ammeter.read(w.irms))),
                ("CURRent:AMPLitude:MAXimum", lambda w: three(self.ammeter.read(w.ipeak))),
                ("CURRent:CREStfactor", lambda w: three(w.ipeak / w.irms if w.irms > 0 else 0.0)),
                ("FREQuency", lambda w: two(w.fu or 0.0)),
                ("POWer:AC[:REAL]", lambda w: two(w.p)),
                ("POWer:AC:APParent", lambda w: two(w.s)),
                ("POWer:AC:REACtive", lambda w: two(w.q)),
                ("POWer:AC:PFACtor", lambda w: three(w.lam if w.lam is not None else 0.0)),
            ):
                self.command(f"{verb}[:SCALar]:{query}?", lambda c, pick=pick: pick(self._window()))

    # -- settings ----------------------------------------------------------------------------
    def _set_range(self, call: Call) -> None:
        text = call.arg(0).strip().upper()
        name = {"LOW": "LOW", "L": "LOW", "HIGH": "HIGH", "HI": "HIGH", "H": "HIGH"}.get(text)
        if name not in self.ranges:
            raise ScpiError(-224, "Illegal parameter value")
        self._pending["range"] = name

    def _set_frequency(self, call: Call) -> None:
        self.frequency = call.number(0, *FREQUENCY_RANGE)
        self.port.set_frequency(self.frequency)

    def _set_current_limit(self, call: Call) -> None:
        self.current_limit = call.number(0, low=0.0, high=self.current_max)
        self.port.set_current_limit(self.current_limit)

    def _set_output(self, call: Call) -> None:
        self.output = call.boolean(0)
        self.port.set_output(self.output)

    def handle_message(self, message: str) -> bytes:
        self._pending = {}
        reply = super().handle_message(message)
        if self._pending:
            self._settle_level()
        return reply

    def _settle_level(self) -> None:
        """Level, range and limit of one message are checked together."""
        voltage = self._pending.get("voltage", self.voltage)
        voltage_range = self._pending.get("range", self.voltage_range)
        limit = self._pending.get("limit", self.voltage_limit)
        self._pending = {}
        if voltage > self.ranges[voltage_range] or voltage > limit:
            self.push_error(*DATA_OUT_OF_RANGE)
            return
        changed = voltage != self.voltage
        self.voltage, self.voltage_range, self.voltage_limit = voltage, voltage_range, limit
        if changed:
            self.port.set_voltage(voltage)

    def _apply(self) -> None:
        port = self.port
        port.set_voltage(self.voltage)
        port.set_frequency(self.frequency)
        port.set_current_limit(self.current_limit)
        port.set_output(self.output)

    # -- measurement -------------------------------------------------------------------------
    def _window(self):
        end = self.clock.now()
        start = max(0.0, end - MEASURE_WINDOW_S)
        if end - start < 1e-3:  # nothing to average over yet: the present instant
            times = np.array([end, end])
            return analyse(times, self.voltage_signal.sample(times), self.current_signal.sample(times))
        return analyse(*sample_window(self.voltage_signal, self.current_signal, start, end))
