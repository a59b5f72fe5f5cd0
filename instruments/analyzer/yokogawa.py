"""Yokogawa WT1800 / WT5000 / WT500 power analyzers (docs/instruments.md §4)."""

from __future__ import annotations

from bench.core.errors import InstrumentError
from instruments.analyzer.base import PowerAnalyzer, Reading
from instruments.registry import register
from instruments.scpi import ScpiDriver

# Numeric replies that are no number (§4 "Numeric reply encoding"): ASCII NAN (item NONE, no
# data) and INF (over-range, overflow, data error); the WT200/WT210/WT110 send 9.9E+37
# (over-range) and 9.91E+37 (no data) as numbers.
INVALID_WORDS = {"NAN", "INF", "+INF", "-INF"}
INVALID_NUMBER = 9.9e37


def parse_numeric(text: str) -> float | None:
    """One ASCII numeric item (NR1/NR3); None when the analyzer marks it invalid."""
    if text.strip().upper() in INVALID_WORDS:
        return None
    value = float(text)  # ValueError for garbage, reported by the caller
    return None if abs(value) >= INVALID_NUMBER else value


@register("yokogawa-wt")
class YokogawaWT(ScpiDriver, PowerAnalyzer):
    """Profile option ``energy_function``: the watt-hour item name, "WH" (WT1800, §4 [C]) or
    "WP" (WT5000 may use it; §4 [U])."""

    error_query = ":STATus:ERRor?"
    init_commands = (":NUMeric:FORMat ASCii",)

    def __init__(self, config, clock, dut_guard=None):
        super().__init__(config, clock, dut_guard)
        self.energy_function = str(config.options.get("energy_function", "WH"))

    def open(self):
        # Before anything is parsed: with headers on, even the error query's reply has one.
        self.link.open()
        self.link.write(":COMMunicate:HEADer OFF")
        self.drain_errors()
        self.identify()
        for command in self.init_commands:
            self.set(command)

    def configure(self, items):
        self.items = []
        self.set(f":NUMeric:NORMal:NUMber {len(items)}")
        for index, (function, element) in enumerate(items, start=1):
            self.set(f":NUMeric:NORMal:ITEM{index} {function},{element}")
        self.items = list(items)

    def read(self):
        if not self.items:
            raise InstrumentError(self.role, "read() before configure(): no numeric items set")
        query = ":NUMeric:NORMal:VALue?"
        reply = self.ask(query)
        fields = [f.strip() for f in reply.split(",")]
        if len(fields) != len(self.items):
            raise InstrumentError(
                self.role, f"{query!r} → {reply[:80]!r}: {len(fields)} values for {len(self.items)} items"
            )
        readings = []
        for (function, element), text in zip(self.items, fields):
            try:
                value = parse_numeric(text)
            except ValueError:
                raise InstrumentError(
                    self.role, f"{query!r}: item {function},{element} → {text!r}: expected a number, NAN or INF"
                ) from None
            readings.append(Reading(function, element, value, text))
        return readings

    def integration_start(self):
        self.set(":INTEGrate:STARt")

    def integration_stop(self):
        self.set(":INTEGrate:STOP")

    def integration_reset(self):
        self.set(":INTEGrate:RESet")

    def energy(self, element=1):
        wanted = [(self.energy_function, element)]
        if self.items != wanted:
            self.configure(wanted)
        return self.read()[0]
