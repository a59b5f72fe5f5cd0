"""When a 4.2.10.5 power reading can be judged at all (pure arithmetic; the DC bench feeds it).

The clause judges the charger's power control. A reading is ``invalid`` (not judged) when
something else set the output, or when the bench cannot trust the reading:

- the output current reached the BMS request: the request, not the power limit, governs;
- the charger is at its own maximum current (CML): its current limit governs;
- the power analyzer and the battery simulator disagree on the power by more than their
  combined expanded uncertainty.

Each function returns the reason in words, or "" when the reading may be judged.
"""

from __future__ import annotations

import math


def request_governs(current_a: float, demand_a: float, resolution_a: float) -> str:
    """The output current at (or above) the BMS request, within ``resolution_a`` (the CCS
    current's resolution and the analyzer's uncertainty combined)."""
    if current_a >= demand_a - resolution_a:
        return (
            f"the output current {current_a:.2f} A reached the BMS request {demand_a:.2f} A "
            f"(within ±{resolution_a:.2f} A): the request, not the charger's power control, set the output"
        )
    return ""


def charger_current_limited(charger_current_a: float | None, charger_max_a: float | None, resolution_a: float) -> str:
    """The charger's own current report (CCS) at the maximum it declared (CML)."""
    if charger_current_a is None or charger_max_a is None:
        return ""
    if abs(charger_current_a) >= abs(charger_max_a) - resolution_a:
        return (
            f"the charger reports {abs(charger_current_a):.1f} A, its declared maximum current "
            f"{abs(charger_max_a):.1f} A (CML): its current limit, not its power control, set the output"
        )
    return ""


def battery_power_uncertainty(volts: float, amps: float, u_volts: float, u_amps: float) -> float:
    """Expanded uncertainty of V·I from those of V and I (uncorrelated, first order)."""
    return math.hypot(amps * u_volts, volts * u_amps)


def instruments_disagree(analyzer_w: float, u_analyzer_w: float, battery_w: float, u_battery_w: float) -> str:
    """The analyzer's P against the battery simulator's V·I: apart by more than the two
    expanded uncertainties combined (root sum of squares)."""
    allowed = math.hypot(u_analyzer_w, u_battery_w)
    if abs(analyzer_w - battery_w) > allowed:
        return (
            f"the power analyzer ({analyzer_w:.0f} W) and the battery simulator ({battery_w:.0f} W) disagree by "
            f"{abs(analyzer_w - battery_w):.0f} W, more than their combined uncertainty ±{allowed:.0f} W"
        )
    return ""
