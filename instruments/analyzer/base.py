"""The power-analyzer role: numeric items (function, element) read as one list.

A reading the analyzer marks as no number (no data, over-range) has ``value`` None and is
never fed into a check as a number (docs/design.md#limits-and-checks: such a reading makes the check "invalid").
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from instruments.base import Driver

Element = int | str  # 1 … 6, or "SIGMA"/"SIGMB" for the wiring-unit sums


@dataclass(frozen=True)
class Reading:
    quantity: str  # the analyzer's function name: "U", "I", "P", "S", "LAMBDA", "FU", "WH" …
    element: Element
    value: float | None  # None = invalid (the analyzer answered NAN/INF or its 9.9E+37 codes)
    raw: str  # the analyzer's own text for this item

    @property
    def valid(self) -> bool:
        return self.value is not None


class PowerAnalyzer(Driver, abc.ABC):
    """Role "analyzer"."""

    roles = ("analyzer",)
    # DC output of a charger: voltage, current, power; AC input also apparent power,
    # power factor and voltage frequency.
    dc_functions = ("U", "I", "P")
    ac_functions = ("U", "I", "P", "S", "LAMBDA", "FU")

    def __init__(self, config, clock, dut_guard=None):
        super().__init__(config, clock, dut_guard)
        self.items: list[tuple[str, Element]] = []  # what read() returns, in order

    @abc.abstractmethod
    def configure(self, items: list[tuple[str, Element]]) -> None:
        """Make ``read()`` return these (function, element) items, in this order."""

    @abc.abstractmethod
    def read(self) -> list[Reading]:
        """One reading of every configured item."""

    def read_element(self, element: Element, ac: bool = False) -> dict[str, Reading]:
        """U, I, P of one element (and S, LAMBDA, FU with ``ac``), by function name."""
        wanted = [(function, element) for function in (self.ac_functions if ac else self.dc_functions)]
        if self.items != wanted:
            self.configure(wanted)
        return {reading.quantity: reading for reading in self.read()}

    @abc.abstractmethod
    def integration_start(self) -> None: ...

    @abc.abstractmethod
    def integration_stop(self) -> None: ...

    @abc.abstractmethod
    def integration_reset(self) -> None: ...

    @abc.abstractmethod
    def energy(self, element: Element = 1) -> Reading:
        """Integrated active energy (watt-hours) of ``element`` since the integration started."""
