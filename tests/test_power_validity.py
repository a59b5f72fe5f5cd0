"""When a 4.2.10.5 reading may be judged (bench/analysis/power_validity.py), on its own."""

from __future__ import annotations

import pytest

from bench.analysis.power_validity import (
    battery_power_uncertainty,
    charger_current_limited,
    instruments_disagree,
    request_governs,
)


def test_a_current_below_the_request_leaves_the_power_control_governing():
    assert request_governs(34.0, 34.65, 0.14) == ""


@pytest.mark.parametrize("current", [34.55, 34.65, 35.0])
def test_a_current_at_or_above_the_request_within_the_resolution_means_the_request_governs(current):
    reason = request_governs(current, 34.65, 0.14)
    assert "reached the BMS request" in reason and "not the charger's power control" in reason


def test_the_chargers_own_limit_is_read_from_ccs_against_cml_whatever_the_sign():
    assert "declared maximum current" in charger_current_limited(-150.0, -150.0, 0.1)
    assert charger_current_limited(-120.0, -150.0, 0.1) == ""
    assert charger_current_limited(None, -150.0, 0.1) == ""  # no CCS yet: nothing to say


def test_the_battery_power_uncertainty_combines_voltage_and_current():
    assert battery_power_uncertainty(500.0, 100.0, 0.7, 0.2) == pytest.approx((70.0**2 + 100.0**2) ** 0.5)


def test_instruments_that_agree_within_their_combined_uncertainty_are_trusted():
    assert instruments_disagree(60_000.0, 65.0, 60_100.0, 100.0) == ""


def test_instruments_apart_by_more_than_their_combined_uncertainty_make_the_reading_invalid():
    reason = instruments_disagree(60_000.0, 65.0, 60_200.0, 100.0)
    assert "disagree by 200 W" in reason and "±119 W" in reason
