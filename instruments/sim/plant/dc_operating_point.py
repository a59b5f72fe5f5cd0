"""Steady operating point of the DC charger against the vehicle side.

The charger's output characteristic is that of a regulated supply: it delivers up to
``min(i_set, p_limit / v)`` while its voltage is below ``v_set`` and nothing above it (it
cannot sink). The vehicle side's ``absorb(v)`` is non-decreasing (dc_vehicle.py). The
operating point is where the two meet; it is found by bisection on the voltage (the
curves are piecewise and it runs only when something changes). Which limit binds is the
regime: "cv" (voltage-regulated), "cc" (current-regulated) or "cp" (power-limited).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Width of the charger's voltage-regulation edge (V): below v_set − band it delivers its
# full current limit, at v_set nothing, linear in between (keeps the curve a function).
REGULATION_BAND_V = 1e-6
# Conductance of the cable and inlet insulation (S): makes the vehicle curve strictly
# increasing, so that an inlet with nothing on it still has one operating point.
LEAK_CONDUCTANCE = 1e-6
_BISECTION_STEPS = 64


@dataclass(frozen=True)
class ChargerSource:
    v_set: float
    i_set: float
    p_limit: float

    def current(self, v: float) -> float:
        limit = max(min(self.i_set, self.p_limit / max(v, 1e-6)), 0.0)
        if v <= self.v_set - REGULATION_BAND_V:
            return limit
        if v >= self.v_set:
            return 0.0
        return limit * (self.v_set - v) / REGULATION_BAND_V


@dataclass(frozen=True)
class OperatingPoint:
    voltage: float
    current: float
    regime: str  # "cv" | "cc" | "cp" | "open" (no charger)
    slope: float  # d(absorb)/dv of the vehicle side at the point (A/V)


def solve(absorb: Callable[[float], float], source: ChargerSource | None) -> OperatingPoint:
    """Where the vehicle side's absorb(v) meets the charger's output (or 0 A without one)."""

    def vehicle(v: float) -> float:
        return absorb(v) + LEAK_CONDUCTANCE * v

    def excess(v: float) -> float:
        return vehicle(v) - (source.current(v) if source else 0.0)

    lo, hi = 0.0, max(source.v_set if source else 0.0, 1.0) + 1.0
    if excess(lo) >= 0:
        hi = lo
    else:
        while excess(hi) < 0:
            lo, hi = hi, hi * 2
        for _ in range(_BISECTION_STEPS):
            mid = (lo + hi) / 2
            if excess(mid) < 0:
                lo = mid
            else:
                hi = mid
    v = hi
    h = 1e-3
    slope = (vehicle(v + h) - vehicle(max(v - h, 0.0))) / (v + h - max(v - h, 0.0))
    if source is None:
        return OperatingPoint(v, 0.0, "open", slope)
    amps = max(vehicle(v), 0.0)
    if v >= source.v_set - 2 * REGULATION_BAND_V:
        regime = "cv"
    elif source.i_set * v > source.p_limit:
        regime = "cp"
    else:
        regime = "cc"
    return OperatingPoint(v, amps, regime, slope)
