"""The DC electronic-load role: sink a set current (CC) or hold the input at a set voltage (CV)."""

from __future__ import annotations

import abc

from instruments.base import Driver


class ElectronicLoad(Driver, abc.ABC):
    """Role "load". Setpoints outside the instrument's or the DUT's rating are refused."""

    roles = ("load",)

    @abc.abstractmethod
    def sink_current(self, amps: float, von_v: float | None = None) -> None:
        """Constant current: sink ``amps`` once the input is above ``von_v`` (input state unchanged)."""

    @abc.abstractmethod
    def hold_voltage(self, volts: float, current_limit_a: float) -> None:
        """Constant voltage: hold the input at ``volts``, sinking at most ``current_limit_a``."""

    @abc.abstractmethod
    def set_input(self, on: bool) -> None: ...

    @abc.abstractmethod
    def measure(self) -> tuple[float, float, float]:
        """(volts, amps, watts) at the input; amps and watts are positive while sinking."""

    def safe_off(self) -> str:
        """Input off for the safe-state sequence; returns what was done (the step's detail).

        Raises InstrumentLost (naming the role) when the instrument is gone, which the
        safe-state sequence reports as a skipped step; InstrumentError when it refuses.
        """
        self.set_input(False)
        return "input off"
