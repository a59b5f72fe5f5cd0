"""The six 4.5.3 e conditions, judged from uploaded battery status (bench/analysis/battery_conditions.py)."""

import pytest

from bench.analysis import battery_conditions as bc

THRESHOLDS = bc.BatteryThresholds(
    max_voltage_v=690.0,
    max_temperature_c=55.0,
    max_cell_voltage_v=4.2,
    temperature_rise_c_per_min=2.0,
    rise_window_s=120.0,
    temperature_spread_c=15.0,
    cell_voltage_spread_v=0.3,
)
CALM = {
    "battery_voltage": 552.0,
    "output_voltage": 553.0,
    "highest_cell_voltage": 3.35,
    "lowest_cell_voltage": 3.31,
    "highest_temperature": 25.0,
    "lowest_temperature": 24.0,
}


def met(values, earlier=()):
    return [m.condition for m in bc.conditions_met([*earlier, (200.0, {**CALM, **values})], THRESHOLDS)]


def test_a_calm_battery_meets_nothing():
    assert met({}) == []
    assert bc.conditions_met([], THRESHOLDS) == []


@pytest.mark.parametrize(
    ("values", "condition"),
    [
        ({"battery_voltage": 690.1}, bc.VOLTAGE_ABOVE_MAXIMUM),
        ({"output_voltage": 690.1}, bc.VOLTAGE_ABOVE_MAXIMUM),  # the pile's own output counts too
        ({"highest_temperature": 55.1, "lowest_temperature": 50.0}, bc.TEMPERATURE_ABOVE_MAXIMUM),
        ({"lowest_temperature": 9.9}, bc.TEMPERATURE_SPREAD),
        ({"highest_cell_voltage": 4.201, "lowest_cell_voltage": 4.0}, bc.CELL_VOLTAGE_ABOVE_MAXIMUM),
        ({"highest_cell_voltage": 3.62}, bc.CELL_VOLTAGE_SPREAD),
    ],
)
def test_each_condition_just_past_its_threshold_is_met_alone(values, condition):
    assert met(values) == [condition]


@pytest.mark.parametrize(
    "values",
    [
        {"battery_voltage": 690.0, "output_voltage": 690.0},
        {"highest_temperature": 55.0, "lowest_temperature": 41.0},
        {"lowest_temperature": 10.0},
        {"highest_cell_voltage": 4.2, "lowest_cell_voltage": 3.9},
        {"highest_cell_voltage": 3.61},
    ],
)
def test_on_the_threshold_is_not_past_it(values):
    assert met(values) == []


def test_a_fast_rise_is_judged_over_the_whole_window():
    window = THRESHOLDS.rise_window_s
    # 3 °C over 60 s is 3 °C/min, but the samples do not span the window yet: not judged.
    assert met({"highest_temperature": 28.0}, [(140.0, CALM)]) == []
    # 4.2 °C over 120 s: 2.1 °C/min.
    assert met({"highest_temperature": 29.2}, [(200.0 - window, CALM)]) == [bc.FAST_TEMPERATURE_RISE]
    # 4 °C over 120 s: 2 °C/min, on the threshold.
    assert met({"highest_temperature": 29.0}, [(200.0 - window, CALM)]) == []
    rate = bc.temperature_rise_c_per_min([(0.0, CALM), (150.0, {"highest_temperature": 30.0})], window)
    assert rate == pytest.approx(2.0)


def test_values_the_pile_did_not_upload_meet_nothing():
    samples = [(0.0, {}), (200.0, {"soc": 50.0})]
    assert bc.conditions_met(samples, THRESHOLDS) == []
    assert bc.temperature_rise_c_per_min(samples, 120.0) is None


def test_what_was_found_is_told_with_its_threshold():
    found = bc.conditions_met([(0.0, {**CALM, "lowest_temperature": 5.0})], THRESHOLDS)
    assert found[0].describe() == "temperature spread: 20 °C > 15 °C"
