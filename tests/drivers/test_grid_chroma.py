"""Chroma 61800/61600 AC source against transcripts written from docs/instruments.md §5."""

from __future__ import annotations

import pytest

from bench.core.errors import InstrumentError, SetpointRefused
from tests.drivers.talk import finish
from tests.drivers.talk import ok as _ok

ERR = "SYST:ERR?"
NO_ERROR = '0,"No error"'
OPEN = [(ERR, NO_ERROR), ("*IDN?", "Chroma,61845,618450001234,1.00")]


def ok(command):
    return _ok(command, ERR, NO_ERROR)


def grid(connect, steps, **config):
    return connect("chroma-61800", "grid", steps, **config)


def test_supply_with_range_in_the_same_message_then_readings(connect):
    driver, transcript = grid(
        connect,
        [
            *OPEN,
            *ok("VOLT:AC 230;:VOLT:RANG HIGH"),  # level and range in one message (§5)
            *ok("FREQ 50"),
            *ok("CURR:LIM 32"),
            *ok("OUTP ON"),
            ("MEAS:VOLT:ACDC?", "230.05"),
            ("MEAS:CURR:AC?", "31.98"),
            ("MEAS:POW:AC?", "7354.20"),
            ("MEAS:FREQ?", "50.00"),
            *ok("VOLT:AC 110;:VOLT:RANG LOW"),
            *ok("FREQ 60"),
        ],
        rating={"current_a": (0.0, 40.0)},
    )
    driver.set_supply(230.0, 50.0)
    driver.set_current_limit(32.0)
    driver.set_output(True)
    assert driver.measure() == pytest.approx(
        {"voltage_v": 230.05, "current_a": 31.98, "power_w": 7354.2, "frequency_hz": 50.0}
    )
    driver.set_supply(110.0, 60.0)
    finish(driver, transcript)


def test_error_reply_is_raised_with_the_command(connect):
    driver, transcript = grid(
        connect,
        [
            *OPEN,
            ("VOLT:AC 230;:VOLT:RANG HIGH", None),
            (ERR, '-222,"Data out of range"'),
            (ERR, NO_ERROR),
        ],
    )
    with pytest.raises(InstrumentError, match=r'VOLT:RANG HIGH.*-222,"Data out of range"'):
        driver.set_supply(230.0, 50.0)
    finish(driver, transcript)


def test_out_of_range_setpoints_refused_before_sending(connect):
    driver, transcript = grid(connect, OPEN, rating={"current_a": (0.0, 40.0)}, dut_guard={"voltage_v": (176.0, 264.0)})
    with pytest.raises(SetpointRefused, match="instrument range 0 … 300 V"):
        driver.set_supply(320.0, 50.0)
    with pytest.raises(SetpointRefused, match="DUT range 176 … 264 V"):
        driver.set_supply(110.0, 50.0)
    with pytest.raises(SetpointRefused, match="frequency_hz setpoint 10 Hz"):
        driver.set_supply(230.0, 10.0)
    with pytest.raises(SetpointRefused, match="current_a setpoint 45 A"):
        driver.set_current_limit(45.0)
    finish(driver, transcript)


def test_safe_off(connect):
    driver, transcript = grid(connect, [*OPEN, *ok("OUTP OFF")])
    assert driver.safe_off() == "output off"
    finish(driver, transcript)
