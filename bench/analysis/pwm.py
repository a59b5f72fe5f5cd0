"""CP PWM analysis of a captured waveform (GB/T 18487.1 Annex A quantities).

Levels come from the two modes of the sample distribution; edges are found at the mid
level with linear interpolation between samples, so frequency and duty are resolved far
below one sample interval. Rise and fall times are 10–90 % of the level difference,
averaged over the edges in the record. Samples that are NaN (scope holes, clipping) are
dropped before analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np


@dataclass(frozen=True)
class PwmAnalysis:
    frequency_hz: float | None  # None when fewer than two periods are in the record
    duty_pct: float | None
    high_v: float
    low_v: float
    rise_s: float | None
    fall_s: float | None
    periods: int
    steady: bool  # no edge at all: a DC level (high_v == low_v == the level)

    @property
    def level_v(self) -> float:
        return self.high_v


def _levels(volts: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(volts, [2, 98])
    if hi - lo < 1.0:  # no two levels 1 V apart: a steady level
        level = float(np.median(volts))
        return level, level
    mid = (lo + hi) / 2
    return float(np.median(volts[volts >= mid])), float(np.median(volts[volts < mid]))


def _crossings(t: np.ndarray, v: np.ndarray, level: float, rising: bool) -> np.ndarray:
    """Interpolated times at which v crosses ``level`` upward (or downward)."""
    above = v >= level
    idx = np.flatnonzero(above[1:] & ~above[:-1]) if rising else np.flatnonzero(~above[1:] & above[:-1])
    v0, v1 = v[idx], v[idx + 1]
    frac = (level - v0) / (v1 - v0)
    return cast(np.ndarray, t[idx] + frac * (t[idx + 1] - t[idx]))


def _edge_times(t: np.ndarray, v: np.ndarray, start_level: float, end_level: float, rising: bool) -> float | None:
    """10–90 % durations of each edge (pairs each 10 % crossing with the next 90 % crossing)."""
    first = _crossings(t, v, start_level, rising)
    second = _crossings(t, v, end_level, rising)
    if not len(first) or not len(second):
        return None
    pos = np.searchsorted(second, first)
    ok = pos < len(second)
    durations = second[pos[ok]] - first[ok]
    durations = durations[durations >= 0]
    return float(np.mean(durations)) if len(durations) else None


def analyse_pwm(times: np.ndarray, volts: np.ndarray) -> PwmAnalysis:
    keep = np.isfinite(volts)
    t, v = np.asarray(times, float)[keep], np.asarray(volts, float)[keep]
    high, low = _levels(v)
    if high == low:
        return PwmAnalysis(None, None, high, low, None, None, 0, True)
    mid = (high + low) / 2
    rises = _crossings(t, v, mid, rising=True)
    falls = _crossings(t, v, mid, rising=False)
    periods = len(rises) - 1
    if periods < 1:
        return PwmAnalysis(None, None, high, low, None, None, 0, False)
    period = (rises[-1] - rises[0]) / periods
    # Duty from each complete high phase: a rise followed by the next fall.
    pos = np.searchsorted(falls, rises[:-1])
    ok = pos < len(falls)
    widths = falls[pos[ok]] - rises[:-1][ok]
    duty = float(np.mean(widths) / period * 100.0) if len(widths) else None
    span = high - low
    rise = _edge_times(t, v, low + 0.1 * span, low + 0.9 * span, rising=True)
    fall = _edge_times(t, v, low + 0.9 * span, low + 0.1 * span, rising=False)
    return PwmAnalysis(float(1.0 / period), duty, high, low, rise, fall, periods, False)


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
