"""The two levels of a PWM record, from a histogram of a strided subsample.

No sort or percentile over the whole record: the histogram of at most SUBSAMPLE samples finds
the two modes; each level is the median of the subsample's samples near its mode (overshoot,
ringing and the tail of a settling edge lie outside that window or do not move a median), and
the scatter there is the plateau noise. A record without
two modes at least MIN_SEPARATION_V apart, each holding MIN_MODE_FRACTION of the samples with an
empty valley between them, is a DC level ("no PWM"), whatever its noise.

Works in the record's own units (volts, or raw scope codes): the caller scales.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUBSAMPLE = 100_000  # samples the histogram looks at (a stride over the record)
HISTOGRAM_BINS = 512
SMOOTHING_BINS = 5  # box smoothing of the histogram: discrete codes and noise make no false modes
MIN_MODE_FRACTION = 0.02  # each level holds at least this share of the samples (duty 8 %: ~7 %)
VALLEY_FRACTION = 0.2  # between the modes the histogram falls below this share of the smaller one
MODE_WINDOW = 0.25  # a level's samples: first those within this share of the span of its mode,
PLATEAU_SIGMAS = 4.0  # then those within this many standard deviations of their median
MAD_TO_SIGMA = 1.4826  # σ of a normal distribution from its median absolute deviation


@dataclass(frozen=True)
class Levels:
    high: float  # record units; for a DC level high == low == the level
    low: float
    noise_high: float  # standard deviation of the plateau samples (record units)
    noise_low: float
    samples_high: int  # subsample samples in each level's window
    samples_low: int
    two_levels: bool


def stride_for(n: int) -> int:
    return max(1, n // SUBSAMPLE)


def find_levels(sub: np.ndarray, min_separation: float) -> Levels:
    """The levels of ``sub`` (finite samples, a subsample of the record), in its units;
    ``min_separation`` in the same units."""
    lowest, highest = float(sub.min()), float(sub.max())
    if highest - lowest < min_separation:
        return _dc(sub)
    counts, edges = _histogram(sub, lowest, highest)
    smooth = np.convolve(counts, np.ones(SMOOTHING_BINS), mode="same")
    centres = (edges[:-1] + edges[1:]) / 2
    first = int(np.argmax(smooth))
    far = np.abs(centres - centres[first]) >= min_separation
    if not far.any():
        return _dc(sub)
    second = int(np.flatnonzero(far)[np.argmax(smooth[far])])
    a, b = sorted((first, second))
    valley = smooth[a : b + 1].min()
    if valley > VALLEY_FRACTION * min(smooth[first], smooth[second]):
        return _dc(sub)
    low_mode, high_mode = centres[a], centres[b]
    window = MODE_WINDOW * (high_mode - low_mode)
    low_samples = _plateau(sub, low_mode, window, edges[1] - edges[0])
    high_samples = _plateau(sub, high_mode, window, edges[1] - edges[0])
    least = MIN_MODE_FRACTION * len(sub)
    if len(low_samples) < least or len(high_samples) < least:
        return _dc(sub)
    return Levels(
        float(np.median(high_samples)),
        float(np.median(low_samples)),
        float(high_samples.std()),
        float(low_samples.std()),
        len(high_samples),
        len(low_samples),
        True,
    )


def _plateau(sub: np.ndarray, mode: float, window: float, bin_width: float) -> np.ndarray:
    """The samples of one level: those near its mode, then those within PLATEAU_SIGMAS of their
    mean (edge samples and ringing are left out; the window never narrower than two bins)."""
    near = sub[np.abs(sub - mode) <= window]
    if len(near) < 2:
        return near
    # The spread from the median absolute deviation: the edge samples inside the first window
    # (a few per cent of them) do not widen it.
    centre = float(np.median(near))
    spread = MAD_TO_SIGMA * float(np.median(np.abs(near - centre)))
    return near[np.abs(near - centre) <= max(PLATEAU_SIGMAS * spread, 2 * bin_width)]


def _histogram(sub: np.ndarray, lowest: float, highest: float) -> tuple[np.ndarray, np.ndarray]:
    if np.issubdtype(sub.dtype, np.integer):
        # Whole codes per bin, so that discrete codes make no comb of empty bins.
        width = max(1, int(np.ceil((highest - lowest + 1) / HISTOGRAM_BINS)))
        counts = np.bincount((sub.astype(np.int64) - int(lowest)) // width)
        edges = lowest - 0.5 + width * np.arange(len(counts) + 1, dtype=float)
        return counts.astype(float), edges
    counts, edges = np.histogram(sub, bins=HISTOGRAM_BINS, range=(lowest, highest))
    return counts.astype(float), edges


def _dc(sub: np.ndarray) -> Levels:
    level, noise = float(sub.mean()), float(sub.std())
    return Levels(level, level, noise, noise, len(sub), len(sub), False)
