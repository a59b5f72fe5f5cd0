"""Edge finding on sampled waveforms, shared by the scope measurements and the power meters.

An edge counts only when the signal passes through a hysteresis band around the threshold
(noise riding on a level is not an edge); its position is the interpolated crossing of the
threshold itself, in fractional sample indices.
"""

from __future__ import annotations

import numpy as np


def edges(x: np.ndarray, level: float, band: float) -> tuple[np.ndarray, np.ndarray]:
    """Rising and falling crossings of ``level`` (fractional sample indices), each confirmed
    by the signal leaving ``level ± band`` on both sides."""
    n = len(x)
    if n < 2:
        return np.empty(0), np.empty(0)
    state = np.full(n, -1, dtype=np.int8)
    state[x < level - band] = 0
    state[x > level + band] = 1
    last = np.maximum.accumulate(np.where(state >= 0, np.arange(n), -1))
    held = np.where(last >= 0, state[np.maximum(last, 0)], -1)
    rising_at = np.nonzero((held[:-1] == 0) & (held[1:] == 1))[0] + 1
    falling_at = np.nonzero((held[:-1] == 1) & (held[1:] == 0))[0] + 1
    above = x > level
    up = np.nonzero(~above[:-1] & above[1:])[0]
    down = np.nonzero(above[:-1] & ~above[1:])[0]
    return _refine(x, up, rising_at, level), _refine(x, down, falling_at, level)


def _refine(x: np.ndarray, crossings: np.ndarray, confirmed: np.ndarray, level: float) -> np.ndarray:
    """For each confirmed transition, the last threshold crossing before it, interpolated."""
    if len(confirmed) == 0:
        return np.empty(0)
    k = crossings[np.searchsorted(crossings, confirmed, side="left") - 1]
    step = x[k + 1] - x[k]
    return k + (level - x[k]) / step
