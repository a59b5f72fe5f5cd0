"""The grid feeding the pile or charger (AcSourcePort), and the supply-fault watch.

The grid starts on, at the DUT's nominal voltage and frequency: with no AC source in the
profile it is the mains. An AC source front end sets what it wants when it starts.
``voltage`` is the quantity the DUT's ``nominal_supply_v`` names (L–N for an AC pile, as
the profile's rating check uses it; L–L for a three-phase DC charger).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from instruments.sim.plant.history import StateHistory, changed
from instruments.sim.plant.signals import Const, Shape, Sine

# docs/limits.md §7 (U): input outside 0.85–1.15 × nominal → the pile stops within 1 s and reports.
SUPPLY_BAND = (0.85, 1.15)
# Below this fraction of nominal the DUT's own electronics drop out (a design figure of
# this simulation, not a standard's): CP/CC1 at 0 V, every relay open.
UNPOWERED_BELOW = 0.5


class Grid:
    """AcSourcePort: output on/off, rms voltage, frequency, current limit."""

    def __init__(
        self,
        clock,
        history: StateHistory,
        nominal_v: float,
        nominal_hz: float,
        phase_s: float,
        on_change: Callable[[], None],
    ):
        self._clock = clock
        self._history = history
        self._on_change = on_change
        self.nominal_v = nominal_v
        self.on = True
        self.voltage = nominal_v
        self.frequency = nominal_hz
        self.current_limit: float | None = None
        self._t_ref = -phase_s  # the sine's zero crossing; moved to keep phase on a frequency change

    # -- AcSourcePort ----------------------------------------------------------------------
    def set_output(self, on: bool) -> None:
        if changed(self._history, "grid", "output", self.on, bool(on)):
            self.on = bool(on)
            self._on_change()

    def set_voltage(self, volts_rms: float) -> None:
        volts_rms = float(volts_rms)
        if changed(self._history, "grid", "voltage_v", self.voltage, volts_rms):
            self.voltage = volts_rms
            self._on_change()

    def set_frequency(self, hz: float) -> None:
        hz = float(hz)
        if hz <= 0:
            raise ValueError(f"grid frequency must be > 0 Hz, got {hz}")
        if changed(self._history, "grid", "frequency_hz", self.frequency, hz):
            now = self._clock.now()
            self._t_ref = now - (now - self._t_ref) * self.frequency / hz
            self.frequency = hz
            self._on_change()

    def set_current_limit(self, amps_rms: float) -> None:
        amps_rms = float(amps_rms)
        if changed(self._history, "grid", "current_limit_a", self.current_limit, amps_rms):
            self.current_limit = amps_rms

    # -- what the DUT sees -----------------------------------------------------------------
    def rms(self) -> float:
        return self.voltage if self.on else 0.0

    def powered(self) -> bool:
        return self.on and self.voltage >= UNPOWERED_BELOW * self.nominal_v

    def in_band(self) -> bool:
        low, high = SUPPLY_BAND
        return low * self.nominal_v <= self.voltage <= high * self.nominal_v

    def sine(self, rms: float) -> Shape:
        """A sine in phase with the grid voltage, of the given rms."""
        if rms == 0 or not self.on:
            return Const(0.0)
        return Sine(math.sqrt(2) * rms, self.frequency, self._t_ref)


class SupplyMonitor:
    """Trips ``supply_fault_stop_s`` after the supply leaves the band (unless the DUT
    ignores supply faults); clears when it is back in band. The owner calls ``update``
    after every grid change and reads ``tripped``."""

    def __init__(self, clock, sim: dict, grid: Grid, history: StateHistory, actor: str, on_trip: Callable[[], None]):
        self._clock = clock
        self._grid = grid
        self._history = history
        self._actor = actor
        self._delay = float(sim["supply_fault_stop_s"])
        self._ignores = bool(sim["ignores_supply_fault"])
        self._on_trip = on_trip
        self._timer = None
        self.tripped = False

    def update(self) -> None:
        bad = self._grid.powered() and not self._grid.in_band()
        if bad:
            if self._ignores:
                if self._history.last_value(self._actor, "supply_fault_ignored") != self._grid.voltage:
                    self._history.record(self._actor, "supply_fault_ignored", self._grid.voltage)
            elif not self.tripped and self._timer is None:
                self._timer = self._clock.call_later(self._delay, self._trip)
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.tripped:
            self.tripped = False
            self._history.record(self._actor, "supply_fault", False)

    def _trip(self) -> None:
        self._timer = None
        self.tripped = True
        self._history.record(self._actor, "supply_fault", True)
        self._on_trip()
