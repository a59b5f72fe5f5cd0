"""DC charger quantities read off records, readings and frame times (NB/T 33001 via GB/T
34657.1, GB/T 27930-2015, Attachment 3 4.2.7 and 4.2.10).

Times given to these functions are on one axis (a record's own axis, or bench times from
``Record.bench_times``); NaN samples (scope holes, clipping) never count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import cast

import numpy as np

from bench.analysis.timing import fall_rate, first_crossing, first_time_at_or_below

# A settled level is read from the last part of a record (bench choice: the last 10 %).
TAIL_FRACTION = 0.1


def adjust_time_limit(delta_a: float, *, step_a: float, within_s: float, rate_a_per_s: float) -> float:
    """NB/T 33001 current adjustment time allowed for a step of ``delta_a``: ``within_s`` for
    steps up to ``step_a``, otherwise ΔI / ``rate_a_per_s`` (docs/limits.md §5)."""
    delta = abs(delta_a)
    return within_s if delta <= step_a else delta / rate_a_per_s


def tail_level(values: np.ndarray, fraction: float = TAIL_FRACTION) -> tuple[float | None, float | None]:
    """(median, peak-to-peak span) of the last ``fraction`` of a record; (None, None) if empty."""
    v = np.asarray(values, float)
    tail = v[-max(1, int(len(v) * fraction)) :]
    tail = tail[np.isfinite(tail)]
    if not len(tail):
        return None, None
    return float(np.median(tail)), float(np.max(tail) - np.min(tail))


def settling_to_final(
    times: np.ndarray, values: np.ndarray, band: float, *, start: float
) -> tuple[float | None, float | None]:
    """Time from ``start`` until the signal enters ±band of its own final level and stays.

    The final level is the median of the record's tail; when the tail itself spans more than
    the band the signal has not settled within the record: (None, final level).
    """
    final, span = tail_level(values)
    if final is None or cast(float, span) > 2 * band:  # span is None only with final
        return None, final
    t, v = np.asarray(times, float), np.asarray(values, float)
    keep = (t >= start) & np.isfinite(v)
    t, v = t[keep], v[keep]
    outside = np.flatnonzero(np.abs(v - final) > band)
    if not len(outside):
        return 0.0, final
    last_out = outside[-1]
    if last_out + 1 >= len(t):
        return None, final
    return float(t[last_out + 1] - start), final


def time_to_current_off(times: np.ndarray, amps: np.ndarray, end_a: float, *, after: float) -> float | None:
    """First time at or after ``after`` at which |current| ≤ ``end_a`` (None: not within the record)."""
    return first_time_at_or_below(times, np.abs(np.asarray(amps, float)), end_a, after=after)


def value_at(times: np.ndarray, values: np.ndarray, t: float) -> float | None:
    """The signal at time ``t`` (linear interpolation over valid samples; None outside the record)."""
    tt, v = np.asarray(times, float), np.asarray(values, float)
    keep = np.isfinite(v)
    tt, v = tt[keep], v[keep]
    if not len(tt) or t < tt[0] or t > tt[-1]:
        return None
    return float(np.interp(t, tt, v))


def first_rise_above(
    times: np.ndarray, values: np.ndarray, level: float, *, after: float | None = None
) -> float | None:
    """First time the signal crosses ``level`` upward (or is already above it at ``after``)."""
    t, v = np.asarray(times, float), np.asarray(values, float)
    if after is not None:
        keep = t >= after
        t, v = t[keep], v[keep]
    finite = np.isfinite(v)
    if not finite.any():
        return None
    first = np.flatnonzero(finite)[0]
    if v[first] >= level:
        return float(t[first])
    return first_crossing(t, v, level, rising=True)


def quantised(value: str | float | None, resolution: float | None) -> str:
    """A value as the frame carrying it can hold it: text and labels as they are, numbers to
    the frame's resolution (``resolution`` None: an integer or a text)."""
    if value is None:
        return "(none)"
    if isinstance(value, str) or isinstance(value, bool):
        return str(value)
    if resolution is None or resolution >= 1:
        step = resolution or 1
        return f"{round(float(value) / step) * step:g}"
    decimals = max(0, -math.floor(math.log10(resolution) + 1e-9))
    return f"{round(float(value) / resolution) * resolution:.{decimals}f}"


def stop_fall_rate(
    times: np.ndarray, amps: np.ndarray, *, start_a: float, end_a: float, after: float
) -> tuple[float | None, bool]:
    """Average rate (A/s) of a stopping current from ``start_a`` down to ``end_a``, after
    ``after``; (rate, True) when both levels were crossed within the record.

    When the current has not reached ``end_a`` by the end of the record the result is
    (upper bound, False): the average rate over what the record shows, from the start
    crossing (or ``after``) to its last sample — the true rate down to ``end_a`` is lower.
    (None, False) when the record holds no sample after ``after``.
    """
    t, v = np.asarray(times, float), np.abs(np.asarray(amps, float))
    rate, t_start, t_end = fall_rate(t, v, start_a=start_a, end_a=end_a, after=after)
    if rate is not None:
        return rate, True
    keep = (t >= (t_start if t_start is not None else after)) & np.isfinite(v)
    if keep.sum() < 2:
        return None, False
    t, v = t[keep], v[keep]
    top = start_a if t_start is not None else v[0]
    return max(0.0, (top - v[-1]) / (t[-1] - t[0])), False


def flags_set(values: Mapping[str, object]) -> list[str]:
    """Names of the 2-bit flags a stop message (CST, BST) sets ("yes"), sorted."""
    return sorted(name for name, value in values.items() if value == "yes")
