"""What the AC pile and the DC charger plants share: settings, history, signals, energy,
listeners."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from bench.core import sim_parameters
from instruments.sim.plant.history import StateHistory
from instruments.sim.plant.signals import PiecewiseSignal, Shape


def resolve_sim(sim: Mapping | None) -> dict:
    """The full `[sim]` table: defaults, overridden by ``sim`` (each value checked).

    A profile's resolved table passes through unchanged; tests may pass only overrides.
    """
    resolved = sim_parameters.defaults()
    for key, value in (sim or {}).items():
        resolved[key] = sim_parameters.coerce(key, value)
    return resolved


class PlantBase:
    kind = ""
    actor = ""  # the DUT's name in the history ("pile" / "charger")

    def __init__(self, clock, dut, sim: Mapping | None, rng: np.random.Generator | None):
        self.clock = clock
        self.dut = dut
        self.sim = resolve_sim(sim)
        self.rng = rng if rng is not None else np.random.default_rng(self.sim["seed"])
        self.history = StateHistory(clock)
        self._signals: dict[str, PiecewiseSignal] = {}
        self._listeners: list[Callable[[str], None]] = []
        self._energy_j = 0.0
        self._power_w = 0.0
        self._energy_t = clock.now()

    # -- Plant -------------------------------------------------------------------------------
    def signal(self, name: str):
        """Raises KeyError for a wiring point this plant does not have."""
        return self._signals[name]

    def signal_names(self) -> tuple[str, ...]:
        return tuple(self._signals)

    # -- notifications to whoever drives the DUT's logic (the lead's wiring) ----------------
    def add_listener(self, fn: Callable[[str], None]) -> None:
        """``fn(name)`` is called (on the clock, must not sleep) when the DUT decides
        something its protocol logic must act on; the names are listed per plant."""
        self._listeners.append(fn)

    def _notify(self, name: str) -> None:
        self.history.record(self.actor, "notify", name)
        for fn in list(self._listeners):
            fn(name)

    # -- helpers -----------------------------------------------------------------------------
    def _new_signal(self, name: str, unit: str, initial: Shape) -> PiecewiseSignal:
        signal = PiecewiseSignal(name, unit, self.clock, initial)
        self._signals[name] = signal
        return signal

    def _set_power(self, watts: float) -> None:
        """Energy bookkeeping for a piecewise-constant power (AC: rms values)."""
        now = self.clock.now()
        self._energy_j += self._power_w * (now - self._energy_t)
        self._energy_t = now
        self._power_w = watts

    def energy_kwh(self) -> float:
        return (self._energy_j + self._power_w * (self.clock.now() - self._energy_t)) / 3.6e6
