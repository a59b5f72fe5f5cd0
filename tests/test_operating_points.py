"""The DC cases' operating points (bench/analysis/operating_points.py), on their own: a 60 kW
charger (200–750 V, up to 150 A) and a vehicle of 550 V rated voltage."""

from __future__ import annotations

import pytest

from bench.analysis.operating_points import battery_voltage_for, power_point

CHARGER = {"rated_power_w": 60_000.0, "max_current_a": 150.0, "min_output_v": 200.0}
VEHICLE_V = 550.0
MARGIN = 0.05
HEADROOM = 0.10


def point(fraction: float):
    return power_point(
        fraction, **CHARGER, rated_voltage_v=VEHICLE_V, min_current_a=30.0, headroom=HEADROOM, margin=MARGIN
    )


def test_the_battery_voltage_stays_at_the_rated_voltage_while_the_power_allows():
    assert (
        battery_voltage_for(50.0, rated_power_w=60_000.0, rated_voltage_v=VEHICLE_V, min_output_v=200.0, margin=MARGIN)
        == VEHICLE_V
    )


def test_the_battery_voltage_drops_so_that_a_large_current_stays_inside_the_rated_power():
    volts = battery_voltage_for(
        150.0, rated_power_w=60_000.0, rated_voltage_v=VEHICLE_V, min_output_v=200.0, margin=MARGIN
    )
    assert volts == pytest.approx(60_000.0 * 0.95 / 150.0)
    assert volts * 150.0 < 60_000.0


def test_the_battery_voltage_never_goes_below_the_chargers_minimum():
    assert (
        battery_voltage_for(
            1000.0, rated_power_w=60_000.0, rated_voltage_v=VEHICLE_V, min_output_v=200.0, margin=MARGIN
        )
        == 200.0
    )


@pytest.mark.parametrize("fraction", [0.2, 0.4, 0.6, 0.8, 1.0])
def test_a_power_point_keeps_the_current_inside_the_clause_and_the_rating(fraction):
    p = point(fraction)
    assert p.set_power_w == pytest.approx(fraction * 60_000.0)
    current = p.set_power_w / p.battery_v
    assert current >= 30.0 * (1 + MARGIN) - 1e-9  # at least the clause's 30 A, with the margin
    assert p.demand_a <= 150.0
    # The BMS asks for more than the set power gives: the platform's power limit governs.
    assert p.demand_a >= min(150.0, current * (1 + HEADROOM)) - 1e-9


def test_the_20_percent_point_lowers_the_voltage_to_keep_30_a():
    p = point(0.2)
    assert p.battery_v == pytest.approx(12_000.0 / (30.0 * (1 + MARGIN)))
    assert p.battery_v < VEHICLE_V
