"""The scopes' automatic measurements, made on the record as displayed (clipped to the screen).

``measure`` returns None when the measurement cannot be made; each dialect turns that into
its own "no result" reply (9.9E+37). Levels: top and base are the medians of the samples
above and below the middle of the record's range (a histogram-mode stand-in); with no
edge well above the noise, top = base = the median. Time measurements use the middle
threshold with a hysteresis of 10 % of the amplitude and average over every complete cycle
on screen; at least one full cycle is needed.
"""

from __future__ import annotations

import numpy as np

from instruments.sim.frontends.waveform_math import edges

ITEMS = (
    "VMAX",
    "VMIN",
    "VPP",
    "VTOP",
    "VBASE",
    "VAMP",
    "VAVG",
    "VRMS",
    "FREQ",
    "PERIOD",
    "DUTY",
    "NDUTY",
    "PWIDTH",
    "NWIDTH",
)
EDGE_SIGNIFICANCE = 8.0  # amplitude must exceed this many times the spread on the top level
HYSTERESIS = 0.1  # of the amplitude


def measure(item: str, volts: np.ndarray, dt: float, low: float, high: float) -> float | None:
    v = np.clip(volts, low, high)
    clipped_high = bool(np.any(volts >= high))
    clipped_low = bool(np.any(volts <= low))
    if item == "VMAX":
        return None if clipped_high else float(v.max())
    if item == "VMIN":
        return None if clipped_low else float(v.min())
    if item == "VPP":
        return None if clipped_high or clipped_low else float(v.max() - v.min())
    if item == "VAVG":
        return None if clipped_high or clipped_low else float(v.mean())
    if item == "VRMS":
        return None if clipped_high or clipped_low else float(np.sqrt(np.mean(v * v)))
    top, base, has_edges = _levels(v)
    if item == "VTOP":
        return None if clipped_high else top
    if item == "VBASE":
        return None if clipped_low else base
    if item == "VAMP":
        return None if clipped_high or clipped_low else top - base
    if not has_edges:
        return None
    return _timing(item, v, dt, top, base)


def _levels(v: np.ndarray) -> tuple[float, float, bool]:
    middle = (float(v.max()) + float(v.min())) / 2
    upper, lower = v[v >= middle], v[v < middle]
    if len(lower) == 0:
        level = float(np.median(v))
        return level, level, False
    top, base = float(np.median(upper)), float(np.median(lower))
    spread = max(float(np.std(upper)), float(np.std(lower)), 1e-12)
    if top - base <= EDGE_SIGNIFICANCE * spread:
        level = float(np.median(v))
        return level, level, False
    return top, base, True


def _timing(item: str, v: np.ndarray, dt: float, top: float, base: float) -> float | None:
    rising, falling = edges(v, (top + base) / 2, HYSTERESIS * (top - base))
    if len(rising) < 2:
        return None
    period = (rising[-1] - rising[0]) / (len(rising) - 1) * dt
    if item == "PERIOD":
        return period
    if item == "FREQ":
        return 1.0 / period
    widths = []
    for start, end in zip(rising[:-1], rising[1:]):
        after = falling[np.searchsorted(falling, start) :]
        if len(after) and after[0] < end:
            widths.append(after[0] - start)
    if not widths:
        return None
    width = float(np.mean(widths)) * dt
    return {
        "PWIDTH": width,
        "NWIDTH": period - width,
        "DUTY": 100.0 * width / period,
        "NDUTY": 100.0 * (1 - width / period),
    }[item]
