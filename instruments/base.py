"""What every driver shares: its configuration, identity, and the setpoint guard.

A driver is a short class: where it is (the resource string, from the profile) stays
out of how it talks (its commands). Drivers never know whether the other end is hardware
or the simulated bench.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bench.core.clock import Clock
from bench.core.errors import SetpointRefused
from bench.core.profile import InstrumentConfig


@dataclass(frozen=True)
class Identity:
    maker: str
    model: str
    serial: str
    firmware: str
    raw: str  # the instrument's own answer (*IDN? or the Modbus device identification)


@dataclass(frozen=True)
class Guard:
    """Allowed setpoint range of one quantity, and whose range it is (for the message)."""

    low: float
    high: float
    whose: str  # "instrument" or "DUT"


class Driver:
    """Base of all drivers. Subclasses set ``transport``, ``roles`` and their commands."""

    driver_name = "?"
    transport = "?"  # "visa" | "modbus"
    roles: tuple[str, ...] = ()
    # Quantity → (low, high) the instrument family can take when the profile gives no rating.
    default_rating: Mapping[str, tuple[float, float]] = {}

    def __init__(
        self, config: InstrumentConfig, clock: Clock, dut_guard: Mapping[str, tuple[float, float]] | None = None
    ):
        self.config = config
        self.clock = clock
        self.role = config.role
        self._guards: dict[str, list[Guard]] = {}
        for quantity, (low, high) in {**self.default_rating, **config.rating}.items():
            self._guards.setdefault(quantity, []).append(Guard(low, high, "instrument"))
        for quantity, (low, high) in (dut_guard or {}).items():
            self._guards.setdefault(quantity, []).append(Guard(low, high, "DUT"))
        self.identity: Identity | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def identify(self) -> Identity:
        raise NotImplementedError

    # -- setpoints ---------------------------------------------------------------------------
    def guard(self, quantity: str, value: float, unit: str) -> float:
        """Refuse ``value`` (raise SetpointRefused, nothing sent) outside any range for ``quantity``.

        ``quantity`` is named with its unit suffix, e.g. "voltage_v", "current_a".
        """
        for guard in self._guards.get(quantity, ()):
            if not guard.low <= value <= guard.high:
                raise SetpointRefused(self.role, quantity, value, guard.low, guard.high, unit, guard.whose)
        return value

    def describe(self) -> str:
        return f"{self.role} ({self.driver_name} at {self.config.resource})"
