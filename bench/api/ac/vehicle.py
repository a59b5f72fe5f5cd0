"""The vehicle side of the AC bench (EV simulator): the connector, S2, the vehicle's draw and
its PWM meter."""

from __future__ import annotations

from bench.api.ac.parts import AcBenchParts
from bench.api.timings import (
    CONNECT_SETTLE_S,
)


class AcVehicle(AcBenchParts):
    """The bench playing the vehicle."""

    def plug_in(self) -> None:
        """Connector in, S2 open, the vehicle draws nothing (CP state 2)."""
        self.ev.set_load_current(0.0)
        self.ev.set_s2(False)
        self.ev.plug(True)
        self.wait(CONNECT_SETTLE_S)

    def unplug(self) -> None:
        self.ev.plug(False)

    def close_s2(self) -> float:
        self.ev.set_s2(True)
        return self.now()

    def open_s2(self) -> float:
        self.ev.set_s2(False)
        return self.now()

    def draw(self, amps: float) -> None:
        """The vehicle's charger draws ``amps`` (rms) whenever the pile's supply is on."""
        self.ev.set_load_current(amps)

    def pwm_meter(self) -> tuple[float, float]:
        """The EV simulator's own PWM meter: (duty %, frequency Hz); frequency 0 = no PWM."""
        return self.ev.cp_pwm()

    def pwm_present(self) -> bool:
        return self.pwm_meter()[1] > 0.0
