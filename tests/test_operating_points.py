"""The DC cases' operating points (bench/analysis/operating_points.py), on their own: a 60 kW
charger (200–750 V, up to 150 A) and a vehicle of 550 V rated voltage, 690 V at most."""

from __future__ import annotations

import pytest

from bench.analysis.operating_points import battery_voltage_for, power_point_at

CHARGER = {"rated_power_w": 60_000.0, "max_current_a": 150.0, "min_output_v": 200.0}
VEHICLE_V = 550.0
MAX_CHARGE_V = 690.0
MARGIN = 0.05
HEADROOM = 0.10


def point(fraction: float, position: str = "mid"):
    return power_point_at(
        fraction,
        position,
        rated_power_w=CHARGER["rated_power_w"],
        max_current_a=CHARGER["max_current_a"],
        output_range_v=(200.0, 750.0),
        max_charge_voltage_v=MAX_CHARGE_V,
        min_current_a=30.0,
        headroom=HEADROOM,
        margin=MARGIN,
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


@pytest.mark.parametrize("position", ["low", "mid", "high"])
@pytest.mark.parametrize("fraction", [0.2, 0.4, 0.6, 0.8, 1.0])
def test_a_power_point_keeps_the_current_inside_the_clause_and_the_rating(fraction, position):
    p = point(fraction, position)
    assert p.set_power_w == pytest.approx(fraction * 60_000.0)
    current = p.set_power_w / p.battery_v
    assert current >= 30.0 * (1 + MARGIN) - 1e-9  # at least the clause's 30 A, with the margin
    assert p.demand_a <= 150.0
    # The BMS asks for more than the set power gives: the platform's power limit governs.
    assert p.demand_a >= min(150.0, current * (1 + HEADROOM)) - 1e-9
    # Inside the charger's output range and below the vehicle's maximum, with the margin.
    assert 200.0 * (1 + MARGIN) - 1e-9 <= p.battery_v <= MAX_CHARGE_V * (1 - MARGIN) + 1e-9


@pytest.mark.parametrize("fraction", [0.2, 0.4, 0.6, 0.8, 1.0])
def test_each_power_level_has_three_distinct_battery_voltages(fraction):
    volts = [point(fraction, position).battery_v for position in ("low", "mid", "high")]
    assert volts[0] < volts[1] < volts[2]


def test_the_20_percent_point_tops_out_where_the_current_is_still_30_a():
    assert point(0.2, "high").battery_v == pytest.approx(12_000.0 / (30.0 * (1 + MARGIN)))


def test_the_full_power_point_bottoms_out_where_the_current_is_the_chargers_maximum():
    assert point(1.0, "low").battery_v == pytest.approx(60_000.0 * (1 + HEADROOM) * (1 + MARGIN) / 150.0)


def test_no_window_when_30_a_needs_a_voltage_below_the_chargers_minimum():
    small = power_point_at(
        0.2,
        "mid",
        rated_power_w=10_000.0,
        max_current_a=150.0,
        output_range_v=(200.0, 750.0),
        max_charge_voltage_v=MAX_CHARGE_V,
        min_current_a=30.0,
        headroom=HEADROOM,
        margin=MARGIN,
    )
    assert small is None  # 2 kW at 30 A is 67 V, below the charger's 200 V


def test_an_unknown_battery_position_is_refused_by_name():
    with pytest.raises(ValueError, match="'middle'"):
        point(0.5, "middle")
