"""The DC vehicle side: the battery simulator behind K5/K6 and the electronic load across
the inlet, as current–voltage characteristics for the operating-point solver.

``absorb(v)`` is the current a component takes from the inlet at inlet voltage ``v``
(positive = sinking, i.e. charging; negative = sourcing into the inlet). Every curve is
continuous and non-decreasing in ``v``, so the operating point with the charger is unique.

Both instruments have a hardware inhibit (interlock) input: ``set_inhibit(True)`` is that
line open (the EV simulator's watchdog drops it), and the output / input is then off
whatever the instrument's own setting (``on``), as on the real units. An instrument whose
inhibit input is not wired is never inhibited.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from instruments.sim.plant.history import RecordedSettings, StateHistory

# Below this voltage a sink in constant-current mode cannot hold its current; it falls
# linearly to 0 A at 0 V (a design figure of this simulation: electronic loads and
# regenerative supplies need about a volt across their terminals).
SINK_MIN_V = 1.0
# Conductance with which a CV sink holds its voltage (A/V): stiff, but finite so that the
# characteristic stays a function.
CV_SINK_CONDUCTANCE = 1000.0
# Smallest internal resistance used for the battery simulator's CV priority (Ω).
MIN_RESISTANCE_OHM = 1e-4


def _sink_ramp(v: float) -> float:
    return min(max(v / SINK_MIN_V, 0.0), 1.0)


class BatterySimulatorModel(RecordedSettings):
    """BatterySimulatorPort: a bidirectional DC supply at the vehicle side of K5/K6.

    CV priority holds ``voltage`` behind ``battery_resistance_ohm`` within its source/sink
    current and power limits; CC priority forces ``current`` (negative = sink) and holds
    ``voltage`` as its voltage limit.
    """

    _actor = "battery"

    def __init__(
        self,
        history: StateHistory,
        resistance_ohm: float,
        on_change: Callable[[str], None],
        node_voltage: Callable[[], float | None],
    ):
        super().__init__(history, on_change)
        self._node_voltage = node_voltage  # inlet voltage when K5/K6 are closed, else None
        self.resistance = max(float(resistance_ohm), MIN_RESISTANCE_OHM)
        self.on = False  # the instrument's own output setting (OUTP)
        self.inhibited = False  # its hardware inhibit line is open
        self.priority = "voltage"
        self.voltage = 0.0
        self.current = 0.0
        self.source_limit_a = math.inf
        self.sink_limit_a = math.inf  # magnitude
        self.source_limit_w = math.inf
        self.sink_limit_w = math.inf  # magnitude

    # -- BatterySimulatorPort: settings ----------------------------------------------------
    def set_output(self, on: bool) -> None:
        self._set("on", "output", bool(on))

    def set_inhibit(self, active: bool) -> None:
        """The hardware inhibit line open (True) or made (False)."""
        self._set("inhibited", "inhibit", bool(active))

    @property
    def active(self) -> bool:
        """The output is on: switched on and not inhibited."""
        return self.on and not self.inhibited

    def set_priority(self, mode: str) -> None:
        if mode not in ("voltage", "current"):
            raise ValueError(f"battery simulator priority must be 'voltage' or 'current', got {mode!r}")
        self._set("priority", "priority", mode)

    def set_voltage(self, volts: float) -> None:
        self._set("voltage", "voltage_v", float(volts))

    def set_current(self, amps: float) -> None:
        self._set("current", "current_a", float(amps))

    def set_current_limits(self, source_a: float, sink_a: float) -> None:
        self._set("source_limit_a", "source_limit_a", abs(float(source_a)))
        self._set("sink_limit_a", "sink_limit_a", abs(float(sink_a)))

    def set_power_limits(self, source_w: float, sink_w: float) -> None:
        self._set("source_limit_w", "source_limit_w", abs(float(source_w)))
        self._set("sink_limit_w", "sink_limit_w", abs(float(sink_w)))

    # -- BatterySimulatorPort: readings ----------------------------------------------------
    def terminal_voltage(self) -> float:
        node = self._node_voltage()
        if node is not None:
            return node
        if not self.active:
            return 0.0
        return self.voltage if self.priority == "voltage" or self.current > 0 else 0.0

    def terminal_current(self) -> float:
        node = self._node_voltage()
        return -self.absorb(node) if node is not None else 0.0

    def status(self) -> set[str]:
        if not self.active:
            return {"off"}
        v = self.terminal_voltage()
        if self.priority == "current":
            if v >= self.voltage and self.voltage > 0:
                return {"cv"}
            return {"cc-" if self.current < 0 else "cc+"}
        amps = self.absorb(v) if self._node_voltage() is not None else 0.0
        sink_a, source_a = self._caps(v)
        if amps >= sink_a - 1e-9:
            return {"cp-" if sink_a < self.sink_limit_a else "cc-"}
        if -amps >= source_a - 1e-9:
            return {"cp+" if source_a < self.source_limit_a else "cc+"}
        return {"cv"}

    # -- for the plant ---------------------------------------------------------------------
    def holds_voltage(self) -> bool:
        """On and able to hold the inlet up by itself (CV priority, or sourcing in CC)."""
        return self.active and (self.priority == "voltage" or self.current > 0)

    def _caps(self, v: float) -> tuple[float, float]:
        v = max(v, 1e-6)
        return min(self.sink_limit_a, self.sink_limit_w / v), min(self.source_limit_a, self.source_limit_w / v)

    def absorb(self, v: float) -> float:
        if not self.active:
            return 0.0
        if self.priority == "voltage":
            sink_a, source_a = self._caps(v)
            return min(max((v - self.voltage) / self.resistance, -source_a), sink_a)
        forced = -self.current * (_sink_ramp(v) if self.current < 0 else 1.0)
        return forced + max(0.0, v - self.voltage) / self.resistance


class ElectronicLoadModel(RecordedSettings):
    """ElectronicLoadPort: a DC electronic load across the vehicle inlet (sink only)."""

    _actor = "load"

    def __init__(self, history: StateHistory, on_change: Callable[[str], None], inlet_voltage: Callable[[], float]):
        super().__init__(history, on_change)
        self._inlet_voltage = inlet_voltage
        self.on = False  # the instrument's own input setting (LOAD)
        self.inhibited = False  # its hardware inhibit line is open
        self.mode = "cc"
        self.current = 0.0
        self.voltage = 0.0
        self.cv_current_limit = math.inf

    def set_input(self, on: bool) -> None:
        self._set("on", "input", bool(on))

    def set_inhibit(self, active: bool) -> None:
        """The hardware inhibit line open (True) or made (False)."""
        self._set("inhibited", "inhibit", bool(active))

    @property
    def active(self) -> bool:
        """The input sinks: switched on and not inhibited."""
        return self.on and not self.inhibited

    def set_mode(self, mode: str) -> None:
        if mode not in ("cc", "cv"):
            raise ValueError(f"electronic load mode must be 'cc' or 'cv', got {mode!r}")
        self._set("mode", "mode", mode)

    def set_current(self, amps: float) -> None:
        self._set("current", "current_a", max(float(amps), 0.0))

    def set_voltage(self, volts: float) -> None:
        self._set("voltage", "voltage_v", float(volts))

    def set_cv_current_limit(self, amps: float) -> None:
        self._set("cv_current_limit", "cv_current_limit_a", abs(float(amps)))

    def terminal_voltage(self) -> float:
        return self._inlet_voltage()

    def terminal_current(self) -> float:
        return self.absorb(self._inlet_voltage())

    # -- for the plant ---------------------------------------------------------------------
    def absorb(self, v: float) -> float:
        if not self.active:
            return 0.0
        if self.mode == "cc":
            return self.current * _sink_ramp(v)
        return min(max((v - self.voltage) * CV_SINK_CONDUCTANCE, 0.0), self.cv_current_limit)

    def drains(self) -> bool:
        """Pulls an isolated inlet down by itself (CC with a current set)."""
        return self.active and self.mode == "cc" and self.current > 0
