"""What the CP duty tolerance means in amps at a given current (GB/T 18487.1 Annex A duty table,
docs/limits.md §2).

The table's slope is 0.6 A/% in the 10–85 % band and 2.5 A/% in 85–90 %, so one duty
tolerance is ±0.3 A at 16 A but more than ±1 A near 63 A. A band written in amps from the
first slope would fail a pile that is inside the duty tolerance at the top of the table; this
derives the band from the duty tolerance at the duty in question.
"""

from __future__ import annotations

from bench.analysis.pwm import duty_for_current_pct, offered_current_a


def offered_current_band_a(amps: float, duty_tolerance_pct: float) -> float:
    """The largest change of the offered current when the duty for ``amps`` moves by up to
    ±``duty_tolerance_pct`` (the table's jumps included)."""
    duty = duty_for_current_pct(amps)
    nominal = offered_current_a(duty)
    return max(abs(offered_current_a(duty + sign * duty_tolerance_pct) - nominal) for sign in (-1.0, 1.0))
