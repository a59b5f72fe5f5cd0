"""Times and rates read off captured records (all times relative to the record's own axis).

Crossings are interpolated between samples. NaN samples (scope holes, clipping) never
count as a crossing.
"""

from __future__ import annotations

import numpy as np

# CP high level between state 2 (9 V) and state 3 (6 V): the level that tells them apart.
CP_STATE_2_3_BOUNDARY_V = 7.5
# One period of the nominal 1 kHz CP PWM (GB/T 18487.1 Annex A).
CP_NOMINAL_PERIOD_S = 1e-3


def first_crossing(
    times: np.ndarray, values: np.ndarray, level: float, *, rising: bool, after: float | None = None
) -> float | None:
    """First time the signal crosses ``level`` in the given direction (after ``after``)."""
    t, v = np.asarray(times, float), np.asarray(values, float)
    if after is not None:
        keep = t >= after
        t, v = t[keep], v[keep]
    if len(v) < 2:
        return None
    above = v >= level
    ok = ~np.isnan(v[1:]) & ~np.isnan(v[:-1])
    edges = (above[1:] & ~above[:-1]) if rising else (~above[1:] & above[:-1])
    idx = np.flatnonzero(edges & ok)
    if not len(idx):
        return None
    i = idx[0]
    frac = (level - v[i]) / (v[i + 1] - v[i])
    return float(t[i] + frac * (t[i + 1] - t[i]))


def first_time_at_or_below(times: np.ndarray, values: np.ndarray, level: float, *, after: float) -> float | None:
    """First time at or after ``after`` when the signal is ≤ ``level`` (it may already be)."""
    t, v = np.asarray(times, float), np.asarray(values, float)
    keep = (t >= after) & ~np.isnan(v)
    t, v = t[keep], v[keep]
    if not len(v):
        return None
    if v[0] <= level:
        return float(t[0])
    return first_crossing(t, v, level, rising=False)


def first_time_outside(times: np.ndarray, values: np.ndarray, low: float, high: float, *, after: float) -> float | None:
    """First time at or after ``after`` when the signal is outside [``low``, ``high``] (it may
    already be), interpolated on the boundary it crosses."""
    t, v = np.asarray(times, float), np.asarray(values, float)
    keep = (t >= after) & ~np.isnan(v)
    t, v = t[keep], v[keep]
    if not len(v):
        return None
    if not low <= v[0] <= high:
        return float(t[0])
    crossings = [
        first_crossing(t, v, low, rising=False),
        first_crossing(t, v, high, rising=True),
    ]
    found = [c for c in crossings if c is not None]
    return min(found) if found else None


def last_time_above(times: np.ndarray, values: np.ndarray, magnitude: float) -> float | None:
    """Last sample time at which |signal| exceeds ``magnitude`` (e.g. the end of a sine)."""
    v = np.abs(np.asarray(values, float))
    idx = np.flatnonzero(v > magnitude)
    return float(np.asarray(times, float)[idx[-1]]) if len(idx) else None


def cp_state_change_time(
    times: np.ndarray, volts: np.ndarray, *, falling: bool, window_s: float = CP_NOMINAL_PERIOD_S
) -> float | None:
    """When the CP high level moves from state 2 to state 3 (``falling``: S2 closes) or back.

    The high level is the highest sample of each window of one nominal PWM period, so a
    steady level (a sleeping pile: 9 V → 6 V DC) and a PWM read the same way. The result is
    the start of the first window on the new side of the boundary (resolution: one window).
    """
    t, v = np.asarray(times, float), np.asarray(volts, float)
    if len(t) < 2:
        return None
    per_window = max(1, int(round(window_s / (t[1] - t[0]))))
    count = len(v) // per_window
    if count < 2:
        return None
    highs = np.nanmax(v[: count * per_window].reshape(count, per_window), axis=1)
    starts = t[: count * per_window : per_window]
    if falling:
        crossing = (highs[:-1] > CP_STATE_2_3_BOUNDARY_V) & (highs[1:] <= CP_STATE_2_3_BOUNDARY_V)
    else:
        crossing = (highs[:-1] < CP_STATE_2_3_BOUNDARY_V) & (highs[1:] >= CP_STATE_2_3_BOUNDARY_V)
    idx = np.flatnonzero(crossing)
    return float(starts[idx[0] + 1]) if len(idx) else None


def fall_rate(
    times: np.ndarray, amps: np.ndarray, *, start_a: float, end_a: float, after: float | None = None
) -> tuple[float | None, float | None, float | None]:
    """Average rate (A/s) of a current falling from ``start_a`` to ``end_a``; also the two times."""
    t_start = first_crossing(times, amps, start_a, rising=False, after=after)
    if t_start is None:
        return None, None, None
    t_end = first_crossing(times, amps, end_a, rising=False, after=t_start)
    if t_end is None or t_end <= t_start:
        return None, t_start, None
    return (start_a - end_a) / (t_end - t_start), t_start, t_end
