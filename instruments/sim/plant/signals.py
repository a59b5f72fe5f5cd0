"""Signals as functions of bench time, built from the plant's history.

A ``PiecewiseSignal`` is a list of segments: each starts at a bench time and holds a
*shape* (an analytic function of time) until the next segment starts. The plant appends a
segment whenever its state changes (event-driven: nothing is stepped on a fixed tick), so
any past window can be evaluated at once with numpy, and edge times come out of the
shapes analytically.

Shapes: ``Const``, ``Approach`` (first-order lag with an optional slew-rate limit),
``Affine`` (a + b·another shape, optionally floored), ``Sine`` and ``Pwm`` (trapezoidal
square wave with finite 10–90 % edges). ``DerivedSignal`` combines other signals (e.g.
the grid current from output power); its crossings are found numerically.

History bound: segments that ended more than ``HISTORY_KEEP_S`` of bench time ago are
dropped. A time before the oldest kept segment evaluates with that oldest segment.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# How much past a signal keeps (bench seconds). Instruments look back at most one capture
# window (a scope record, a meter's averaging window); 120 s covers the slowest of them.
HISTORY_KEEP_S = 120.0
# Numerical crossing search of derived signals: step and chunk size.
DERIVED_CROSSING_STEP_S = 1e-4
_CHUNK = 100_000


# --------------------------------------------------------------------------------------
# Shapes (frozen dataclasses: two shapes with equal fields are the same curve)
# --------------------------------------------------------------------------------------
class Shape:
    def values(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def value(self, t: float) -> float:
        return float(self.values(np.array([t], dtype=float))[0])

    def crossing(self, a: float, b: float, level: float, rising: bool) -> float | None:
        """First time in [a, b] where the shape crosses ``level`` in that direction."""
        return _numeric_crossing(self.values, a, b, level, rising, DERIVED_CROSSING_STEP_S)


@dataclass(frozen=True)
class Const(Shape):
    v: float

    def values(self, t):
        return np.full(np.shape(t), self.v, dtype=float)

    def value(self, t):
        return self.v

    def crossing(self, a, b, level, rising):
        return None


@dataclass(frozen=True)
class Approach(Shape):
    """y(t) from ``y0`` at ``t0`` toward ``target``: dy/dt = clamp((target − y)/tau, ±slew).

    The solution is a straight ramp at ``slew`` until the gap is ``slew·tau``, then an
    exponential with time constant ``tau`` (continuous in value and slope). ``slew`` None
    means no rate limit; ``tau`` 0 means a pure ramp (or a step with no slew either).
    The system is autonomous: re-rooting it at a later point gives the same curve.
    """

    t0: float
    y0: float
    target: float
    tau: float
    slew: float | None = None

    def _ramp_end(self) -> float:
        gap = abs(self.target - self.y0)
        if self.slew is None or self.slew <= 0 or gap <= self.slew * self.tau:
            return 0.0
        return (gap - self.slew * self.tau) / self.slew

    def values(self, t):
        dt = np.maximum(np.asarray(t, dtype=float) - self.t0, 0.0)
        sign = 1.0 if self.target >= self.y0 else -1.0
        t_lin = self._ramp_end()
        gap1 = abs(self.target - self.y0) if t_lin == 0.0 else self.slew * self.tau
        if self.tau > 0:
            tail = self.target - sign * gap1 * np.exp(-np.maximum(dt - t_lin, 0.0) / self.tau)
        else:
            tail = np.full(np.shape(dt), self.target)
        if t_lin > 0:
            return np.where(dt < t_lin, self.y0 + sign * self.slew * dt, tail)
        return tail

    def value(self, t):
        dt = max(t - self.t0, 0.0)
        sign = 1.0 if self.target >= self.y0 else -1.0
        t_lin = self._ramp_end()
        if dt < t_lin:
            return self.y0 + sign * self.slew * dt
        gap1 = abs(self.target - self.y0) if t_lin == 0.0 else self.slew * self.tau
        if self.tau <= 0:
            return self.target
        return self.target - sign * gap1 * math.exp(-(dt - t_lin) / self.tau)

    def crossing(self, a, b, level, rising):
        up = self.target > self.y0
        if up != rising or not (min(self.y0, self.target) < level < max(self.y0, self.target)):
            return None
        t_lin = self._ramp_end()
        covered = self.slew * t_lin if t_lin > 0 else 0.0  # distance the straight ramp covers
        distance = abs(level - self.y0)
        if distance <= covered:
            dt = distance / self.slew
        elif self.tau <= 0:
            dt = t_lin
        else:
            gap1 = abs(self.target - self.y0) - covered
            dt = t_lin + self.tau * math.log(gap1 / abs(self.target - level))
        t = self.t0 + dt
        return t if a <= t <= b else None


def toward(t0: float, y0: float, target: float, tau: float, slew: float | None = None) -> Shape:
    """An Approach, or a Const when already there (keeps the segment list short)."""
    if abs(target - y0) <= 1e-12 * max(1.0, abs(target)):
        return Const(target)
    return Approach(t0, y0, target, tau, slew)


@dataclass(frozen=True)
class Affine(Shape):
    """offset + gain · base(t), optionally not below ``floor``."""

    base: Shape
    offset: float
    gain: float
    floor: float | None = None

    def values(self, t):
        out = self.offset + self.gain * self.base.values(t)
        return out if self.floor is None else np.maximum(out, self.floor)

    def value(self, t):
        out = self.offset + self.gain * self.base.value(t)
        return out if self.floor is None else max(out, self.floor)

    def crossing(self, a, b, level, rising):
        if self.gain == 0 or (self.floor is not None and level <= self.floor):
            return super().crossing(a, b, level, rising)
        return self.base.crossing(a, b, (level - self.offset) / self.gain, rising == (self.gain > 0))


@dataclass(frozen=True)
class Sine(Shape):
    """amplitude · sin(2π f (t − t_ref))."""

    amplitude: float
    frequency: float
    t_ref: float

    def values(self, t):
        return self.amplitude * np.sin(2 * np.pi * self.frequency * (np.asarray(t, dtype=float) - self.t_ref))

    def value(self, t):
        return self.amplitude * math.sin(2 * math.pi * self.frequency * (t - self.t_ref))

    def crossing(self, a, b, level, rising):
        if self.amplitude <= 0 or abs(level) >= self.amplitude:
            return None
        phase = math.asin(level / self.amplitude)  # rising crossing phase, in (−π/2, π/2)
        if not rising:
            phase = math.pi - phase
        period = 1.0 / self.frequency
        offset = self.t_ref + phase / (2 * math.pi) * period
        k = math.ceil((a - offset) / period - 1e-12)
        t = offset + k * period
        return t if t <= b else None


@dataclass(frozen=True)
class Pwm(Shape):
    """Square wave between ``high`` and ``low`` with linear edges of ``ramp`` s (0–100 %).

    Each period starts at ``t_ref + k/frequency`` with a rising edge centred there; the
    falling edge is centred at duty/frequency later. Centred edges keep the mid-level
    pulse width exactly duty × period.
    """

    high: float
    low: float
    frequency: float
    duty: float  # 0–1
    ramp: float
    t_ref: float

    def _template(self):
        period = 1.0 / self.frequency
        width = self.duty * period
        half = min(self.ramp, width, period - width) / 2
        mid = (self.high + self.low) / 2
        xp = [0.0, half, width - half, width + half, period - half, period]
        fp = [mid, self.high, self.high, self.low, self.low, mid]
        return period, half, xp, fp

    def values(self, t):
        period, _, xp, fp = self._template()
        phase = np.mod(np.asarray(t, dtype=float) - self.t_ref, period)
        return np.interp(phase, xp, fp)

    def value(self, t):
        return float(self.values(np.array([t], dtype=float))[0])

    def crossing(self, a, b, level, rising):
        if not self.low < level < self.high:
            return None
        period, half, _, _ = self._template()
        frac = (level - self.low) / (self.high - self.low)
        if rising:
            at = -half + 2 * half * frac
        else:
            at = self.duty * period - half + 2 * half * (1 - frac)
        offset = self.t_ref + at
        k = math.ceil((a - offset) / period - 1e-12)
        t = offset + k * period
        return t if t <= b else None


# --------------------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------------------
class PiecewiseSignal:
    """A wiring point's value over bench time, as appended segments (see module doc)."""

    def __init__(self, name: str, unit: str, clock, initial: Shape, keep_s: float = HISTORY_KEEP_S):
        self.name = name
        self.unit = unit
        self._clock = clock
        self._keep_s = keep_s
        self._starts: list[float] = [clock.now()]
        self._shapes: list[Shape] = [initial]
        self._starts_array: np.ndarray | None = None

    # -- writing -------------------------------------------------------------------------
    @property
    def shape(self) -> Shape:
        """The segment in force now."""
        return self._shapes[-1]

    def set(self, shape: Shape) -> None:
        """Start a new segment now (replaces one started at this same instant)."""
        if shape == self._shapes[-1]:
            return
        now = self._clock.now()
        if now <= self._starts[-1]:
            self._shapes[-1] = shape
            if len(self._shapes) > 1 and self._shapes[-2] == shape:
                del self._shapes[-1], self._starts[-1]
        else:
            self._starts.append(now)
            self._shapes.append(shape)
            self._prune(now)
        self._starts_array = None

    def _prune(self, now: float) -> None:
        horizon = now - self._keep_s
        # Drop segment i when the one after it started before the horizon.
        drop = bisect.bisect_left(self._starts, horizon) - 1
        if drop > 0:
            del self._starts[:drop], self._shapes[:drop]

    # -- reading -------------------------------------------------------------------------
    def _index(self, t: float) -> int:
        return max(bisect.bisect_right(self._starts, t) - 1, 0)

    def at(self, t: float) -> float:
        return self._shapes[self._index(t)].value(t)

    def sample(self, times) -> np.ndarray:
        times = np.asarray(times, dtype=float)
        if times.ndim != 1:
            times = times.ravel()
        if len(times) > 1 and np.any(np.diff(times) < 0):
            order = np.argsort(times, kind="stable")
            out = np.empty_like(times)
            out[order] = self.sample(times[order])
            return out
        if self._starts_array is None:
            self._starts_array = np.asarray(self._starts)
        out = np.empty(len(times))
        if not len(times):
            return out
        # Segment boundaries inside the record, as positions in the (sorted) time array.
        first, last = self._index(times[0]), self._index(times[-1])
        cuts = np.searchsorted(times, self._starts_array[first + 1 : last + 1], side="left")
        edges = [0, *cuts.tolist(), len(times)]
        for k, seg in enumerate(range(first, last + 1)):
            lo, hi = edges[k], edges[k + 1]
            if hi > lo:
                out[lo:hi] = self._shapes[seg].values(times[lo:hi])
        return out

    def next_crossing(self, start: float, end: float, level: float, rising: bool) -> float | None:
        if end < start:
            return None
        first, last = self._index(start), self._index(end)
        for seg in range(first, last + 1):
            seg_start = self._starts[seg] if seg > 0 else -math.inf
            seg_end = self._starts[seg + 1] if seg + 1 < len(self._starts) else math.inf
            if seg > first and start <= seg_start <= end:
                # A step at the boundary counts as a crossing.
                before = self._shapes[seg - 1].value(seg_start)
                after = self._shapes[seg].value(seg_start)
                if (rising and before < level <= after) or (not rising and before > level >= after):
                    return seg_start
            lo, hi = max(start, seg_start), min(end, seg_end)
            if hi < lo:
                continue
            t = self._shapes[seg].crossing(lo, hi, level, rising)
            if t is not None and lo <= t <= hi and (t < seg_end or seg_end == math.inf):
                return t
        return None

    def segments(self) -> list[tuple[float, Shape]]:
        """(start, shape) of every kept segment, oldest first (for tests and debugging)."""
        return list(zip(self._starts, self._shapes))


class DerivedSignal:
    """A signal computed from others (vectorised), e.g. grid current from output power."""

    def __init__(
        self,
        name: str,
        unit: str,
        fn: Callable[[np.ndarray], np.ndarray],
        crossing_step_s: float = DERIVED_CROSSING_STEP_S,
    ):
        self.name = name
        self.unit = unit
        self._fn = fn
        self._step = crossing_step_s

    def at(self, t: float) -> float:
        return float(self._fn(np.array([t], dtype=float))[0])

    def sample(self, times) -> np.ndarray:
        return np.asarray(self._fn(np.asarray(times, dtype=float)), dtype=float)

    def next_crossing(self, start: float, end: float, level: float, rising: bool) -> float | None:
        return _numeric_crossing(self.sample, start, end, level, rising, self._step)


def _numeric_crossing(fn, a: float, b: float, level: float, rising: bool, step: float) -> float | None:
    """Sampled search (chunks of ``_CHUNK`` points), then linear interpolation."""
    if not (math.isfinite(a) and math.isfinite(b)) or b < a:
        return None
    t0 = a
    while t0 < b:
        n = int(min(_CHUNK, math.ceil((b - t0) / step) + 1))
        times = np.minimum(t0 + np.arange(n) * step, b)
        vals = fn(times)
        above = vals >= level
        hits = np.flatnonzero(above[1:] & ~above[:-1]) if rising else np.flatnonzero(~above[1:] & above[:-1])
        if len(hits):
            i = hits[0]
            v0, v1 = vals[i], vals[i + 1]
            frac = 0.0 if v1 == v0 else (level - v0) / (v1 - v0)
            return float(times[i] + frac * (times[i + 1] - times[i]))
        if times[-1] >= b:
            break
        t0 = float(times[-1])
    return None
