"""Chroma 63200A DC electronic load against transcripts written from docs/instruments.md §3."""

from __future__ import annotations

import pytest

from bench.core.errors import InstrumentError, SetpointRefused
from tests.drivers.talk import finish
from tests.drivers.talk import ok as _ok

ERR = "SYST:ERR?"
NO_ERROR = '0,"No error"'
OPEN = [(ERR, NO_ERROR), ("*IDN?", "Chroma,63202A-150-200,632020001234,01.00")]


def ok(command):
    return _ok(command, ERR, NO_ERROR)


def load(connect, steps, **config):
    return connect("chroma-63200a", "load", steps, **config)


def test_constant_current_sink_then_readings(connect):
    driver, transcript = load(
        connect,
        [
            *OPEN,
            *ok("MODE CCH"),  # no range table in the profile: the high range covers the rating
            ("MODE?", "CCH"),
            *ok("CONF:VOLT:ON 1"),
            *ok("CURR:STAT:L1 20"),
            *ok("LOAD ON"),
            ("MEAS:VOLT?", "48.123"),
            ("MEAS:CURR?", "20.001"),
            ("MEAS:POW?", "962.51"),
        ],
    )
    assert driver.identity.model == "63202A-150-200"
    driver.sink_current(20.0)
    driver.set_input(True)
    assert driver.measure() == pytest.approx((48.123, 20.001, 962.51))
    finish(driver, transcript)


def test_current_range_picked_from_the_profile_table(connect):
    driver, transcript = load(
        connect,
        [
            *OPEN,
            *ok("MODE CCL"),
            ("MODE?", "CCL"),
            *ok("CONF:VOLT:ON 1"),
            *ok("CURR:STAT:L1 5"),
            # MODE? may answer the index of the 63200A mode table (CCL, CCM, CCH, …): 1 = CCM
            *ok("MODE CCM"),
            ("MODE?", "1"),
            *ok("CONF:VOLT:ON 30"),
            *ok("CURR:STAT:L1 50"),
            *ok("MODE CCH"),
            ("MODE?", "CCH"),
            *ok("CONF:VOLT:ON 1"),
            *ok("CURR:STAT:L1 100"),
        ],
        options={"current_ranges_a": {"CCL": 20.0, "CCM": 60.0}},
    )
    driver.sink_current(5.0)
    driver.sink_current(50.0, von_v=30.0)
    driver.sink_current(100.0)
    finish(driver, transcript)


def test_constant_voltage_sink(connect):
    driver, transcript = load(
        connect,
        [
            *OPEN,
            *ok("MODE CVH"),
            ("MODE?", "CVH"),
            *ok("VOLT:STAT:L1 48"),
            *ok("VOLT:STAT:ILIM 30"),
        ],
    )
    driver.hold_voltage(48.0, current_limit_a=30.0)
    finish(driver, transcript)


def test_mode_read_back_that_differs_is_an_error(connect):
    driver, transcript = load(connect, [*OPEN, *ok("MODE CCH"), ("MODE?", "CCL")])
    with pytest.raises(InstrumentError, match="'MODE CCH' read back as 'CCL'"):
        driver.sink_current(150.0)
    finish(driver, transcript)


def test_execution_error_carries_the_load_message(connect):
    driver, transcript = load(
        connect,
        [
            *OPEN,
            *ok("MODE CCH"),
            ("MODE?", "CCH"),
            *ok("CONF:VOLT:ON 1"),
            ("CURR:STAT:L1 180", None),
            (ERR, '-222,"Data out of range"'),
            (ERR, NO_ERROR),
        ],
    )
    with pytest.raises(InstrumentError, match=r"'CURR:STAT:L1 180' → -222,\"Data out of range\""):
        driver.sink_current(180.0)
    finish(driver, transcript)


def test_setpoints_outside_instrument_or_dut_range_are_refused_before_sending(connect):
    driver, transcript = load(connect, OPEN, dut_guard={"current_a": (0.0, 150.0)})
    with pytest.raises(SetpointRefused, match="instrument range 0 … 200 A"):
        driver.sink_current(250.0)  # 63202A-150-200 default rating
    with pytest.raises(SetpointRefused, match="DUT range 0 … 150 A"):
        driver.sink_current(160.0)
    with pytest.raises(SetpointRefused, match="voltage_v setpoint 400 V"):
        driver.hold_voltage(400.0, current_limit_a=10.0)
    finish(driver, transcript)  # the transcript shows nothing after open


def test_profile_rating_replaces_the_default(connect):
    driver, transcript = load(
        connect,
        [*OPEN, *ok("MODE CVH"), ("MODE?", "CVH"), *ok("VOLT:STAT:L1 400"), *ok("VOLT:STAT:ILIM 10")],
        rating={"voltage_v": (0.0, 600.0)},
    )
    driver.hold_voltage(400.0, current_limit_a=10.0)
    finish(driver, transcript)


def test_safe_off_switches_the_input_off(connect):
    driver, transcript = load(connect, [*OPEN, *ok("LOAD OFF")])
    assert driver.safe_off() == "input off"
    finish(driver, transcript)
