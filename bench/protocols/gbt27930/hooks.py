"""What the charger-side GB/T 27930 state machine needs from the charger's hardware.

The state machine (``charger.py``) speaks the protocol; the simulated DC charger's plant
(``instruments/sim/plant/dc_charger.py``) implements these hooks. The state machine learns
the vehicle only from bus frames; the plant never sees a frame. Currents are magnitudes in
amperes flowing into the vehicle (charging positive) on this interface; the sign convention
of the standard (negative = charging) is applied only when a frame is encoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ChargerRatings:
    """Output capability announced in CML and enforced by the charger."""

    max_voltage_v: float
    min_voltage_v: float
    max_current_a: float
    min_current_a: float
    max_power_w: float


class ChargerHooks(Protocol):
    # -- auxiliary supply (A+/A-, 12 V) and connection -----------------------------------
    def set_aux_power(self, on: bool) -> None:
        """Switch the 12 V auxiliary supply to the vehicle."""

    def vehicle_connected(self) -> bool:
        """Detection point 1 reads 4 V (fully connected, CC1)."""

    # -- checks before energy flows --------------------------------------------------------
    def start_insulation_check(self) -> None:
        """Begin the insulation check (K1/K2 closed onto the cable, IMD measuring)."""

    def insulation_check_done(self) -> bool | None:
        """None while running; True when the insulation is good; False on a fault."""

    def inlet_voltage(self) -> float:
        """Voltage the charger measures on its output side of K1/K2 (the battery, once K5/K6 close)."""

    def start_precharge(self, target_v: float) -> None:
        """Bring the output to ``target_v`` (the battery voltage) before closing K1/K2."""

    def precharge_done(self) -> bool:
        """The output matches the battery within the charger's pre-charge window."""

    def set_contactors(self, closed: bool) -> None:
        """K1/K2."""

    # -- energy transfer ---------------------------------------------------------------------
    def set_demand(self, voltage_v: float, current_a: float, mode: str) -> None:
        """BCL demand; mode "cv" (BCL mode 1) or "cc" (BCL mode 2). The plant limits it to the ratings."""

    def output(self) -> tuple[float, float]:
        """Measured output voltage (V) and current (A, charging positive), for CCS."""

    def stop_output(self, fault: bool) -> None:
        """Ramp the current down: normal stop (``fault`` False) or fault stop (fast cut)."""

    def output_current(self) -> float:
        """Present output current (A), to know when it is safe to open K1/K2."""

    def start_bleed_off(self) -> None:
        """Discharge the output after K1/K2 open."""

    # -- bookkeeping for CSD -------------------------------------------------------------------
    def energy_kwh(self) -> float:
        """Energy delivered in this session."""

    # -- faults the charger records and reports (Attachment 3 4.2.5) -------------------------
    def communication_fault(self, detail: str) -> None:
        """A GB/T 27930 timeout (``detail`` names the message missed): the charger records it
        and reports it to the platform."""
