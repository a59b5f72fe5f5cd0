"""The GB/T 18487.1 Annex A duty table: the current a CP duty offers, and the duty for a current
(docs/limits.md §2)."""

from __future__ import annotations


def offered_current_a(duty_pct: float) -> float:
    """Maximum current a duty offers (GB/T 18487.1 Annex A table, docs/limits.md §2).

    0 means "no charging allowed" (D < 8 %, 90–97 % reserved, > 97 %).
    """
    if duty_pct < 8.0:
        return 0.0
    if duty_pct < 10.0:
        return 6.0
    if duty_pct <= 85.0:
        return duty_pct * 0.6
    if duty_pct <= 90.0:
        return min((duty_pct - 64.0) * 2.5, 63.0)
    return 0.0


def duty_for_current_pct(amps: float) -> float:
    """The duty a pile must show to offer ``amps`` (inverse of the table; 6 A → 10 %)."""
    if amps < 6.0:
        raise ValueError(f"{amps} A is below the 6 A minimum of the duty table")
    if amps <= 51.0:
        return max(amps / 0.6, 10.0)
    if amps < 52.5:  # the table jumps from 51 A (85 %) to 52.5 A (just above 85 %)
        return 85.0
    if amps <= 63.0:
        return amps / 2.5 + 64.0
    raise ValueError(f"{amps} A is above the 63 A maximum of the duty table")
