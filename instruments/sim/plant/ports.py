"""The contract between the simulated plant and the front ends that speak for instruments.

The plant (the pile or charger under test, the vehicle side, the battery simulator, the
grid, the wiring) is physics and behaviour; a front end is one instrument's wire protocol.
A front end only ever

* writes the instrument's own settings into its port (what the real instrument would do to
  the circuit: a DC load sinking 80 A, the EV simulator closing S2), and
* reads physical signals at the points its channels are wired to, at bench time, and adds
  its own resolution, range and noise.

It never reads a commanded value back as a measurement, and never sees a `[sim]` value.
Signal names (the wiring points) are the keys a profile uses in an instrument's
``channels`` table:

=====================  ===  =========================================================
signal                 kind meaning (unit)
=====================  ===  =========================================================
cp                     AC   control pilot at detection point 1 (V, instantaneous)
ac_voltage             AC   pile output voltage L–N after its contactor (V, instantaneous)
ac_current             AC   current drawn by the vehicle (A, instantaneous)
supply_voltage         both grid voltage at the pile's input (V, instantaneous)
supply_current         both current the pile draws from the grid (A, instantaneous)
aux_voltage            DC   12 V auxiliary supply A+ to A− at the vehicle inlet (V)
cc1                    DC   detection point 1 (V)
inlet_voltage          DC   DC+ to DC− at the vehicle inlet (V)
output_current         DC   charger output current, charging positive (A)
=====================  ===  =========================================================

AC quantities are instantaneous (a 50 Hz sine); front ends that report rms compute it over
their own window with ``Signal.sample``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Signal(Protocol):
    """A physical quantity at one wiring point, as a function of bench time."""

    name: str
    unit: str

    def at(self, t: float) -> float:
        """Value at bench time ``t`` (t ≤ now)."""

    def sample(self, times: np.ndarray) -> np.ndarray:
        """Noise-free values at an increasing array of bench times (all ≤ now)."""

    def next_crossing(self, start: float, end: float, level: float, rising: bool) -> float | None:
        """First time in [start, end] at which the signal crosses ``level`` in the given
        direction, or None. Used by the scope's edge trigger."""


class Plant(Protocol):
    kind: str  # "ac" | "dc"

    def signal(self, name: str) -> Signal:
        """Raises KeyError for a wiring point this plant does not have."""

    def signal_names(self) -> tuple[str, ...]: ...


# --------------------------------------------------------------------------------------
# Ports: what each bench instrument does to the circuit
# --------------------------------------------------------------------------------------
class BatterySimulatorPort(Protocol):
    """Bidirectional DC supply at the vehicle side of K5/K6 (the battery simulator)."""

    inhibited: bool  # its hardware inhibit line is open (a wire, not a setting): output off

    def set_output(self, on: bool) -> None: ...
    def set_priority(self, mode: str) -> None:
        """ "voltage" (CV priority: holds a voltage, sources/sinks within the current limits)
        or "current" (CC priority: forces a signed current within the voltage limits)."""

    def set_voltage(self, volts: float) -> None: ...
    def set_current(self, amps: float) -> None:
        """Signed current setpoint for CC priority (negative = sink)."""

    def set_current_limits(self, source_a: float, sink_a: float) -> None:
        """Limits in CV priority: source ≥ 0, sink ≤ 0 (a negative number)."""

    def set_power_limits(self, source_w: float, sink_w: float) -> None: ...
    def terminal_voltage(self) -> float:
        """Voltage at its terminals now (V)."""

    def terminal_current(self) -> float:
        """Current now, positive = sourcing, negative = sinking (A)."""

    def status(self) -> set[str]:
        """Regulation state now: any of "cv", "cc+", "cc-", "cp+", "cp-", "off"."""


class ElectronicLoadPort(Protocol):
    """DC electronic load across the vehicle inlet (sink only)."""

    inhibited: bool  # its hardware inhibit line is open (a wire, not a setting): input off

    def set_input(self, on: bool) -> None: ...
    def set_mode(self, mode: str) -> None:
        """ "cc" (sinks a set current) or "cv" (holds the input at a set voltage)."""

    def set_current(self, amps: float) -> None: ...
    def set_voltage(self, volts: float) -> None: ...
    def set_cv_current_limit(self, amps: float) -> None: ...
    def terminal_voltage(self) -> float: ...
    def terminal_current(self) -> float: ...


class AcSourcePort(Protocol):
    """Grid simulator feeding the pile's input."""

    def set_output(self, on: bool) -> None: ...
    def set_voltage(self, volts_rms: float) -> None: ...
    def set_frequency(self, hz: float) -> None: ...
    def set_current_limit(self, amps_rms: float) -> None: ...


class EvSimulatorPort(Protocol):
    """EV simulator / relay board: the vehicle's side of the connector."""

    # AC (GB/T 18487.1 Annex A vehicle circuit)
    def set_plugged(self, plugged: bool) -> None:
        """Connector inserted (state 1 → 2)."""

    def set_s2(self, closed: bool) -> None: ...
    def set_diode_fault(self, shorted: bool) -> None: ...
    def set_load_current(self, amps: float) -> None:
        """Current the vehicle's charger draws when the pile's supply is on (A rms)."""

    # DC (GB/T 18487.1 Annex B / GB/T 34657.1 vehicle circuit)
    def set_cc2_connected(self, connected: bool) -> None: ...
    def set_vehicle_contactors(self, closed: bool) -> None:
        """K5/K6."""

    def set_estop(self, pressed: bool) -> None: ...
    def heartbeat(self, counter: int) -> None:
        """The bench's watchdog heartbeat; the board opens everything if it stops."""

    def state(self) -> dict:
        """Relay states as the board sees them (read-back registers)."""


class PlatformPort(Protocol):
    """What the pile's own control interface (Modbus map or OCPP) reaches inside the pile.

    Commands return at once; the pile carries them out after its own response delay.
    """

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def wake_vehicle(self) -> None: ...
    def timed_start(self, unix_time: float) -> None: ...
    def set_power_limit(self, watts: float) -> None: ...
    def timed_power_change(self, unix_time: float, watts: float) -> None:
        """Set the power limit at a time of the pile's clock."""

    def set_current_limit(self, amps: float) -> None: ...
    def set_clock(self, unix_time: float) -> None: ...
    def clock(self) -> float:
        """The pile's real-time clock now (unix time)."""

    def realtime(self) -> dict:
        """What the pile uploads: voltage_v, current_a, power_w, state, energy_kwh."""

    def current_state(self) -> str:
        """The pile's state alone (as in realtime()), without measuring anything."""

    def bms_info(self) -> dict:
        """The 4.2.7 values as the pile learnt them (DC); keys as sim_parameters.UPLOAD_FIELDS."""

    def battery_status(self) -> dict[str, float]:
        """The 4.5.3 e battery status as the pile uploads it (DC while charging); keys as
        bench.protocols.platform.vocabulary.BATTERY_STATUS_UNITS."""

    def events(self) -> list[dict]:
        """Events the pile reported, each {"kind", "pile_time", "detail"}; the channel drains them."""

    def link_lost(self, how: str) -> None:
        """The transport found the link to the platform gone (``how`` says what it saw); once
        per outage."""

    def link_restored(self) -> None:
        """The link to the platform is back."""
