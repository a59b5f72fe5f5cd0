"""Operating points of the DC cases: pure arithmetic on the DUT's and the vehicle's ratings.

The session API (bench/api/dc/charging.py) feeds these from the profile and the limits table; the
functions know nothing of either, so they are tested on their own (tests/test_operating_points.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PowerPoint:
    """A 4.2.10.5 operating point: the set power, the battery voltage, the BMS current demand."""

    set_power_w: float
    battery_v: float
    demand_a: float


def battery_voltage_for(
    current_a: float, *, rated_power_w: float, rated_voltage_v: float, min_output_v: float, margin: float
) -> float:
    """A battery voltage at which a charger of ``rated_power_w`` delivers ``current_a`` without
    reaching its rated power (``margin`` inside it): the vehicle's rated voltage, or lower where
    the power needs it, never below the charger's minimum output voltage."""
    highest = rated_power_w * (1 - margin) / max(current_a, 1e-9)
    return max(min_output_v, min(rated_voltage_v, highest))


def power_point(
    fraction: float,
    *,
    rated_power_w: float,
    max_current_a: float,
    min_output_v: float,
    rated_voltage_v: float,
    min_current_a: float,
    headroom: float,
    margin: float,
) -> PowerPoint:
    """4.2.10.5 at ``fraction`` of the rated power: the battery voltage keeps the current at or
    above the clause's ``min_current_a`` and within ``max_current_a`` with the BMS demand's
    ``headroom`` (both ``margin`` inside); the BMS asks for that headroom more than the set power
    gives, so that the power limit governs."""
    set_w = fraction * rated_power_w
    lowest_v = set_w * (1 + headroom) * (1 + margin) / max_current_a
    highest_v = set_w / (min_current_a * (1 + margin))
    volts = min(max(rated_voltage_v, lowest_v), highest_v)
    volts = max(volts, min_output_v)
    demand = min(max_current_a, set_w / volts * (1 + headroom))
    return PowerPoint(set_w, volts, demand)
