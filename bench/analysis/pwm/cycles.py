"""Full PWM cycles from the edges, and the figures of each.

A full cycle runs from a rising edge to the next, with its falling edge between (or, in a
record with no two rising edges, from a falling edge to the next): partial first and last
cycles are left out. Levels per cycle are the mean of its plateau samples (a strided view of the
record, away from the edges by the edge's own 10–90 % time); rise and fall are its edges'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.analysis.pwm.edges import Edges

# A plateau is read this many edge durations (10–90 %) away from each edge, and at least
# PLATEAU_GUARD_MIN samples.
PLATEAU_GUARD_EDGES = 2.0
PLATEAU_GUARD_MIN = 2


@dataclass(frozen=True)
class Cycles:
    """One entry per full cycle; times and durations in samples (the caller scales them)."""

    start: np.ndarray  # its first edge
    period: np.ndarray
    high_from: np.ndarray
    high_to: np.ndarray
    low_from: np.ndarray
    low_to: np.ndarray
    rise_edge: np.ndarray  # index into the edges' rising arrays
    fall_edge: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def keep(self, mask: np.ndarray) -> Cycles:
        return Cycles(*(np.asarray(getattr(self, name))[mask] for name in self.__dataclass_fields__))


def full_cycles(edges: Edges) -> Cycles:
    rises, falls = edges.rising, edges.falling
    empty = np.zeros(0)
    if len(rises) >= 2:
        nxt = np.searchsorted(falls, rises[:-1])
        ok = nxt < len(falls)
        ok[ok] = falls[nxt[ok]] < rises[1:][ok]
        r = np.flatnonzero(ok)
        f = nxt[ok]
        return Cycles(rises[r], rises[r + 1] - rises[r], rises[r], falls[f], falls[f], rises[r + 1], r, f)
    if len(falls) >= 2 and len(rises) == 1:
        f = np.searchsorted(falls, rises[0]) - 1
        if 0 <= f < len(falls) - 1:
            i = np.array([f])
            r = np.array([0])
            return Cycles(falls[i], falls[i + 1] - falls[i], rises[r], falls[i + 1], falls[i], rises[r], r, i + 1)
    ints = np.zeros(0, dtype=np.int64)
    return Cycles(empty, empty, empty, empty, empty, empty, ints, ints)


def plateau_means(
    sub: np.ndarray, stride: int, start: np.ndarray, end: np.ndarray, guard: float
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, sample count) of ``sub`` (the record at ``stride``) over each [start + guard,
    end − guard] (record samples); NaN where no sample lies inside."""
    total = np.concatenate([[0.0], np.cumsum(sub, dtype=float)])
    first = np.ceil((start + guard) / stride).astype(np.int64)
    last = np.floor((end - guard) / stride).astype(np.int64)
    first, last = np.clip(first, 0, len(sub)), np.clip(last + 1, 0, len(sub))
    count = np.maximum(last - first, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(count > 0, (total[last] - total[first]) / np.maximum(count, 1), np.nan)
    return means, count


def plateau_guard(rise: np.ndarray, fall: np.ndarray) -> float:
    durations = np.concatenate([rise, fall])
    durations = durations[np.isfinite(durations)]
    longest = float(durations.max()) if len(durations) else 0.0
    return max(PLATEAU_GUARD_EDGES * longest, PLATEAU_GUARD_MIN)
