"""Edges of a two-level record with hysteresis (a Schmitt trigger), vectorised.

An edge is counted only when the signal goes from below the low threshold to above the high
one (or back): noise on a plateau and ringing after an edge never make an edge. Its time is the
last crossing of the mid level before the far threshold was reached, interpolated linearly
between the two samples around it. Times are sample indices (floats); the caller turns them
into seconds.

Cost: three comparisons over the record and the changes of each (sparse); the rest works on
the edges only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The hysteresis thresholds and the timing level, as shares of the span between the levels.
LOW_THRESHOLD = 0.3
MID_LEVEL = 0.5
HIGH_THRESHOLD = 0.7
# 10–90 % rise and fall (GB/T 18487.1 Annex A: of the settled levels).
RISE_FROM, RISE_TO = 0.1, 0.9
# The window searched for the 10 % and 90 % crossings around an edge: this many times its
# 30–70 % duration on each side, plus EDGE_WINDOW_MARGIN samples; at most EDGE_WINDOW_CELLS
# samples over all edges (beyond that, the first edges that fit).
EDGE_WINDOW_FACTOR = 4
EDGE_WINDOW_MARGIN = 8
EDGE_WINDOW_CELLS = 4_000_000


@dataclass(frozen=True)
class Edges:
    rising: np.ndarray  # sample index (float) of each rising edge, in order
    falling: np.ndarray
    rising_width: np.ndarray  # samples from the low threshold to the high one (its 30–70 % time)
    falling_width: np.ndarray


def schmitt_edges(x: np.ndarray, low: float, high: float) -> Edges:
    """The complete edges of ``x`` between levels ``low`` and ``high`` (its units)."""
    span = high - low
    lower, mid, upper = low + LOW_THRESHOLD * span, low + MID_LEVEL * span, low + HIGH_THRESHOLD * span
    above_upper, above_lower, above_mid = x > upper, x > lower, x > mid
    upper_changes = _changes(above_upper)
    lower_changes = _changes(above_lower)
    mid_changes = _changes(above_mid)
    entered_high = upper_changes[above_upper[upper_changes + 1]]  # sample before the first one above
    entered_low = lower_changes[~above_lower[lower_changes + 1]]
    left_low = lower_changes[above_lower[lower_changes + 1]]
    left_high = upper_changes[~above_upper[upper_changes + 1]]
    kinds = np.concatenate([np.ones(len(entered_high), bool), np.zeros(len(entered_low), bool)])
    where = np.concatenate([entered_high, entered_low])
    order = np.argsort(where, kind="stable")
    kinds, where = kinds[order], where[order]
    # Keep the first of each run of the same kind: the Schmitt trigger's state changes.
    first = np.ones(len(kinds), bool)
    first[1:] = kinds[1:] != kinds[:-1]
    kinds, where = kinds[first], where[first]
    # The first change counts only if the record began in the other state.
    if len(kinds):
        began_high, began_low = bool(x[0] > upper), bool(x[0] <= lower)
        if not ((kinds[0] and began_low) or (not kinds[0] and began_high)):
            kinds, where = kinds[1:], where[1:]
    rises, falls = where[kinds], where[~kinds]
    mid_up = mid_changes[above_mid[mid_changes + 1]]
    mid_down = mid_changes[~above_mid[mid_changes + 1]]
    return Edges(
        _mid_crossing(x, mid, mid_up, rises),
        _mid_crossing(x, mid, mid_down, falls),
        (rises - _last_before(left_low, rises)).astype(float),
        (falls - _last_before(left_high, falls)).astype(float),
    )


def ten_ninety(
    x: np.ndarray, low: float, high: float, centres: np.ndarray, widths: np.ndarray, rising: bool
) -> np.ndarray:
    """10–90 % duration (samples) of each edge at ``centres`` (its mid crossing), NaN where a
    crossing is not in its window: from the last 10 % crossing before the mid level to the first
    90 % crossing after it (for a fall, 90 % to 10 %), so overshoot and ringing do not count."""
    out = np.full(len(centres), np.nan)
    if not len(centres):
        return out
    half = int(min(np.nanmax(widths) * EDGE_WINDOW_FACTOR + EDGE_WINDOW_MARGIN, len(x) // 2))
    count = min(len(centres), max(1, EDGE_WINDOW_CELLS // (2 * half + 1)))
    centre = np.floor(centres[:count]).astype(np.int64)
    columns = np.arange(-half, half + 1)
    cells = np.clip(centre[:, None] + columns, 0, len(x) - 1)
    window = x[cells].astype(float)
    span = high - low
    start, end = low + RISE_FROM * span, low + RISE_TO * span
    if not rising:
        window, start, end = -window, -(low + RISE_TO * span), -(low + RISE_FROM * span)
    up_start = (window[:, :-1] <= start) & (window[:, 1:] > start)
    up_end = (window[:, :-1] < end) & (window[:, 1:] >= end)
    pairs = columns[:-1]  # the offset of the first sample of each pair from the mid crossing's
    left = np.where(up_start & (pairs <= 0), np.arange(len(pairs)), -1).max(axis=1)
    right = np.where(up_end & (pairs >= 0), np.arange(len(pairs)), len(pairs)).min(axis=1)
    found = (left >= 0) & (right < len(pairs))
    rows = np.flatnonzero(found)
    t_start = _interpolate(window[rows], left[rows], start)
    t_end = _interpolate(window[rows], right[rows], end)
    out[rows] = t_end - t_start
    return out


def _interpolate(window: np.ndarray, column: np.ndarray, level: float) -> np.ndarray:
    rows = np.arange(len(column))
    a, b = window[rows, column], window[rows, column + 1]
    return np.asarray(column + (level - a) / (b - a), dtype=float)


def _changes(flags: np.ndarray) -> np.ndarray:
    """Indices i where flags[i] != flags[i + 1]."""
    return np.flatnonzero(flags[1:] != flags[:-1])


def _last_before(candidates: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each of ``at``, the last candidate at or before it (the first candidate if none)."""
    if not len(candidates):
        return at
    pos = np.clip(np.searchsorted(candidates, at, side="right") - 1, 0, len(candidates) - 1)
    return np.asarray(candidates[pos])


def _mid_crossing(x: np.ndarray, mid: float, crossings: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Interpolated index of the last mid crossing at or before each edge's far-threshold sample."""
    i = _last_before(crossings, edges)
    a, b = x[i].astype(float), x[i + 1].astype(float)
    return np.asarray(i + (mid - a) / (b - a), dtype=float)
