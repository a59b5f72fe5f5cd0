"""The AC-source / grid-simulator role: the supply the charger under test is fed from."""

from __future__ import annotations

import abc

from instruments.base import Driver


class AcSource(Driver, abc.ABC):
    """Role "grid"."""

    roles = ("grid",)

    @abc.abstractmethod
    def set_supply(self, volts_rms: float, frequency_hz: float) -> None: ...

    @abc.abstractmethod
    def set_current_limit(self, amps: float) -> None: ...

    @abc.abstractmethod
    def set_output(self, on: bool) -> None: ...

    @abc.abstractmethod
    def measure(self) -> dict[str, float]:
        """{"voltage_v", "current_a", "power_w", "frequency_hz"} at the output (rms, W)."""

    def safe_off(self) -> str:
        """Output off for the safe-state sequence; returns what was done (the step's detail).

        Raises InstrumentLost (naming the role) when the instrument is gone, which the
        safe-state sequence reports as a skipped step; InstrumentError when it refuses.
        """
        self.set_output(False)
        return "output off"
