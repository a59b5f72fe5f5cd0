"""The AC control pilot circuit (GB/T 18487.1-2015 Annex A) and its duty table.

Levels are computed from the divider, never looked up: the pile's generator (±E through
R1) against the vehicle's diode and R3 (S2 open) or R3 ∥ R2 (S2 closed). With a 0.7 V
silicon diode these give the standard's 9 V and 6 V for E = 12 V; another E gives levels
off accordingly. The duty is written here from the table in docs/limits.md §2, separately
from the bench's own analysis code (a simulator and an analyser must not share a table).
"""

from __future__ import annotations

import math

# GB/T 18487.1-2015 Annex A circuit values (docs/limits.md §2, I).
R1_OHM = 1000.0  # pile source resistor (the [sim] default: cp_source_resistance_ohm)
R2_OHM = 1300.0  # vehicle resistor switched in by S2
R3_OHM = 2740.0  # vehicle resistor, always connected behind the diode
# Forward drop of the vehicle's CP diode (a typical silicon diode; with it, R2/R3 give the
# standard's 9 V / 6 V).
DIODE_FORWARD_V = 0.7

# Duty table breakpoints (docs/limits.md §2, I).
MIN_CURRENT_A = 6.0
MAX_CURRENT_A = 63.0


def vehicle_resistance(s2_closed: bool) -> float:
    return R3_OHM * R2_OHM / (R3_OHM + R2_OHM) if s2_closed else R3_OHM


def positive_level(source_v: float, s2_closed: bool, diode_shorted: bool, r1_ohm: float = R1_OHM) -> float:
    """CP voltage at detection point 1 while the generator drives +E through R1 into the vehicle."""
    r = vehicle_resistance(s2_closed)
    drop = 0.0 if diode_shorted else DIODE_FORWARD_V
    if source_v <= drop:
        return source_v
    return (source_v - drop) * r / (r1_ohm + r) + drop


def negative_level(source_v: float, s2_closed: bool, diode_shorted: bool, r1_ohm: float = R1_OHM) -> float:
    """CP voltage during the −E half: the diode blocks (no load) unless it is shorted."""
    if not diode_shorted:
        return -source_v
    r = vehicle_resistance(s2_closed)
    return -source_v * r / (r1_ohm + r)


def duty_for_current(amps: float) -> float:
    """Exact inverse of the GB/T 18487.1 duty table, in %: 6 A → 10 %, I ≤ 51 A → I/0.6,
    52.5–63 A → I/2.5 + 64. Between 51 and 52.5 A the table has no duty; the pile offers
    85 %, which a vehicle reads as 51 A (it never offers more than asked)."""
    if amps < MIN_CURRENT_A or amps > MAX_CURRENT_A:
        raise ValueError(f"{amps} A is outside the duty table's {MIN_CURRENT_A:g}–{MAX_CURRENT_A:g} A")
    if amps <= 51.0:
        return amps / 0.6
    if amps < 52.5:
        return 85.0
    return amps / 2.5 + 64.0


def quantise(duty_pct: float, resolution_pct: float) -> float:
    """Round to the nearest multiple of the pile's duty resolution."""
    if resolution_pct <= 0:
        return duty_pct
    return round(math.floor(duty_pct / resolution_pct + 0.5) * resolution_pct, 9)


def current_read_by_vehicle(duty_pct: float) -> float:
    """What a vehicle reads from a duty (docs/limits.md §2): 0 means no charging allowed."""
    if duty_pct < 8.0:
        return 0.0
    if duty_pct < 10.0:
        return 6.0
    if duty_pct <= 85.0:
        return duty_pct * 0.6
    if duty_pct <= 90.0:
        return min((duty_pct - 64.0) * 2.5, MAX_CURRENT_A)
    return 0.0


def overcurrent(drawn_a: float, allowed_a: float, margin_a: float = 2.0, ratio: float = 1.1) -> bool:
    """docs/limits.md §7 (U): > allowed + 2 A (allowed ≤ 20 A) or > 1.1 × allowed (above); a
    pile that reacts wrongly has another ``margin_a`` or ``ratio`` ([sim] overcurrent_margin_a,
    overcurrent_ratio)."""
    return drawn_a > (allowed_a + margin_a if allowed_a <= 20.0 else ratio * allowed_a)
