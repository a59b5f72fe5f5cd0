"""Operating points of the DC cases: pure arithmetic on the DUT's and the vehicle's ratings.

The session API (bench/api/dc/charging.py) feeds these from the profile and the limits table; the
functions know nothing of either, so they are tested on their own (tests/test_operating_points.py).
"""

from __future__ import annotations

from dataclasses import dataclass

# Where in the feasible battery-voltage window of a 4.2.10.5 power level a point sits.
BATTERY_POSITIONS = {"low": 0.0, "mid": 0.5, "high": 1.0}


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


def battery_voltage_window(
    set_power_w: float,
    *,
    max_current_a: float,
    output_range_v: tuple[float, float],
    max_charge_voltage_v: float,
    min_current_a: float,
    headroom: float,
    margin: float,
) -> tuple[float, float] | None:
    """The battery voltages at which ``set_power_w`` can be judged (4.2.10.5): the current
    ``set_power_w / v`` at least ``min_current_a`` and, with the BMS demand's ``headroom``, at
    most ``max_current_a``; inside the charger's ``output_range_v`` and below the vehicle's
    ``max_charge_voltage_v`` (both ``margin`` inside, so the charger's voltage loop never
    governs). None when no voltage meets all of it."""
    lowest = max(output_range_v[0] * (1 + margin), set_power_w * (1 + headroom) * (1 + margin) / max_current_a)
    highest = min(
        set_power_w / (min_current_a * (1 + margin)),
        min(output_range_v[1], max_charge_voltage_v) * (1 - margin),
    )
    return (lowest, highest) if lowest <= highest else None


def power_point_at(
    fraction: float,
    position: str,
    *,
    rated_power_w: float,
    max_current_a: float,
    output_range_v: tuple[float, float],
    max_charge_voltage_v: float,
    min_current_a: float,
    headroom: float,
    margin: float,
) -> PowerPoint | None:
    """4.2.10.5 at ``fraction`` of the rated power with the battery at ``position`` ("low",
    "mid", "high") of the voltage window (``battery_voltage_window``); the BMS asks for the
    ``headroom`` more current than the set power gives there. None when the window is empty."""
    if position not in BATTERY_POSITIONS:
        raise ValueError(f"battery position {position!r}: expected one of {', '.join(BATTERY_POSITIONS)}")
    set_w = fraction * rated_power_w
    window = battery_voltage_window(
        set_w,
        max_current_a=max_current_a,
        output_range_v=output_range_v,
        max_charge_voltage_v=max_charge_voltage_v,
        min_current_a=min_current_a,
        headroom=headroom,
        margin=margin,
    )
    if window is None:
        return None
    low, high = window
    volts = low + BATTERY_POSITIONS[position] * (high - low)
    return PowerPoint(set_w, volts, min(max_current_a, set_w / volts * (1 + headroom)))
