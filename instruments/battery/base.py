"""The battery-simulator role: a bidirectional DC supply that holds the "battery" voltage at the
inlet and sinks the current the charger pushes in.

Sign convention (docs/instruments.md §7): positive current = sourcing, negative = sinking; while
the charger charges, the measured current and power are negative.
"""

from __future__ import annotations

import abc

from instruments.base import Driver

# Regulation states reported by ``regulation()``.
REGULATION_STATES = ("cv", "cc+", "cc-", "cp+", "cp-")


class BatterySimulator(Driver, abc.ABC):
    """Role "battery"."""

    roles = ("battery",)

    @abc.abstractmethod
    def hold_voltage(
        self, volts: float, source_limit_a: float, sink_limit_a: float, sink_power_w: float | None = None
    ) -> None:
        """Voltage priority at ``volts``; limits are magnitudes (≥ 0): at most ``source_limit_a``
        sourced, ``sink_limit_a`` and ``sink_power_w`` sunk. The output state is unchanged."""

    @abc.abstractmethod
    def set_output(self, on: bool) -> None: ...

    @abc.abstractmethod
    def measure(self) -> tuple[float, float, float]:
        """(volts, amps, watts); amps and watts negative while sinking."""

    @abc.abstractmethod
    def regulation(self) -> set[str]:
        """Which loops regulate now, a subset of REGULATION_STATES ("cc-": sink current limit reached)."""

    def safe_off(self) -> str:
        """Output off for the safe-state sequence; returns what was done (the step's detail).

        Raises InstrumentLost (naming the role) when the instrument is gone, which the
        safe-state sequence reports as a skipped step; InstrumentError when it refuses.
        """
        self.set_output(False)
        return "output off"
