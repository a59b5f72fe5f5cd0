"""ITECH IT6000C battery simulator against transcripts written from docs/instruments.md §7."""

from __future__ import annotations

import pytest

from bench.core.errors import InstrumentError, SetpointRefused
from tests.drivers.talk import finish
from tests.drivers.talk import ok as _ok

ERR = "SYST:ERR?"
NO_ERROR = '0,"No error"'
IDN = "ITECH Electronics,IT6054C-800-225,800000123456,000.006.101,640.R,132.R"  # six fields
OPEN = [(ERR, NO_ERROR), ("*IDN?", IDN), (("SYST:REM"), None), (ERR, NO_ERROR)]


def ok(command):
    return _ok(command, ERR, NO_ERROR)


CLOSE = ok("SYST:LOC")  # back to panel control at close


def battery(connect, steps, **config):
    return connect("itech-it6000c", "battery", steps, **config)


def first_setup(volts, source, sink, sink_w):
    """§7 battery-simulator sequence, read-backs answered as the IT6054C does (NR2, signed)."""
    return [
        *ok("SYST:REM"),
        *ok("OUTP OFF"),
        *ok("FUNC:MODE FIXED"),
        *ok("FUNC VOLT"),
        ("FUNC?", "VOLTAGE"),
        *ok(f"VOLT {volts}"),
        *ok(f"CURR:LIM {source}"),
        *ok(f"CURR:LIM:NEG -{sink}"),
        *ok(f"POW:LIM:NEG -{sink_w}"),
        ("VOLT?", f"{volts}.000"),
        ("CURR:LIM?", f"{source}.00000"),
        ("CURR:LIM:NEG?", f"-{sink}.001"),
        ("POW:LIM:NEG?", f"-{sink_w}"),
    ]


def test_six_field_identity(connect):
    driver, transcript = battery(connect, [*OPEN, *CLOSE])
    identity = driver.identity
    assert (identity.maker, identity.model, identity.serial) == ("ITECH Electronics", "IT6054C-800-225", "800000123456")
    assert identity.firmware == "000.006.101,640.R,132.R"
    finish(driver, transcript)


def test_battery_sequence_output_on_and_sinking_readings(connect):
    driver, transcript = battery(
        connect,
        [
            *OPEN,
            *first_setup(400, 2, 160, 50000),
            *ok("OUTP ON"),
            ("MEAS:VOLT?", "400.012"),
            ("MEAS:CURR?", "-99.9981"),  # negative: the charger is charging
            ("MEAS:POW?", "-40001.2"),
            ("STAT:OPER:COND?", "256"),
            ("STAT:OPER:COND?", "2048"),
            *CLOSE,
        ],
    )
    driver.hold_voltage(400.0, source_limit_a=2.0, sink_limit_a=160.0, sink_power_w=50000.0)
    driver.set_output(True)
    assert driver.measure() == pytest.approx((400.012, -99.9981, -40001.2))
    assert driver.regulation() == {"cv"}
    assert driver.regulation() == {"cc-"}  # sink current limit reached
    finish(driver, transcript)


def test_new_voltage_while_on_keeps_the_output_on(connect):
    driver, transcript = battery(
        connect,
        [
            *OPEN,
            *first_setup(400, 2, 160, 50000),
            *ok("OUTP ON"),
            *ok("SYST:REM"),
            *ok("VOLT 420"),
            *ok("CURR:LIM 2"),
            *ok("CURR:LIM:NEG -160"),
            ("VOLT?", "420.000"),
            ("CURR:LIM?", "2.00000"),
            ("CURR:LIM:NEG?", "-160.000"),
            *CLOSE,
        ],
    )
    driver.hold_voltage(400.0, 2.0, 160.0, 50000.0)
    driver.set_output(True)
    driver.hold_voltage(420.0, 2.0, 160.0)
    finish(driver, transcript)


def test_sink_limit_read_back_as_a_magnitude_is_refused(connect):
    driver, transcript = battery(
        connect,
        [
            *OPEN,
            *ok("SYST:REM"),
            *ok("OUTP OFF"),
            *ok("FUNC:MODE FIXED"),
            *ok("FUNC VOLT"),
            ("FUNC?", "VOLT"),
            *ok("VOLT 400"),
            *ok("CURR:LIM 2"),
            *ok("CURR:LIM:NEG -160"),
            ("VOLT?", "400.000"),
            ("CURR:LIM?", "2.00000"),
            ("CURR:LIM:NEG?", "160.000"),  # firmware took the magnitude form (§7 [U])
            *CLOSE,
        ],
    )
    with pytest.raises(InstrumentError, match="'CURR:LIM:NEG -160' read back as 160"):
        driver.hold_voltage(400.0, 2.0, 160.0)
    finish(driver, transcript)


def test_error_queue_entry_is_raised(connect):
    driver, transcript = battery(
        connect,
        [
            *OPEN,
            *ok("SYST:REM"),
            *ok("OUTP OFF"),
            *ok("FUNC:MODE FIXED"),
            *ok("FUNC VOLT"),
            ("FUNC?", "VOLT"),
            ("VOLT 400", None),
            (ERR, '-222,"Data out of range"'),
            (ERR, NO_ERROR),
            *CLOSE,
        ],
    )
    with pytest.raises(InstrumentError, match=r"'VOLT 400' → -222,\"Data out of range\""):
        driver.hold_voltage(400.0, 2.0, 160.0)
    finish(driver, transcript)


def test_out_of_rating_refused_and_output_not_switched_on_unconfigured(connect):
    driver, transcript = battery(connect, [*OPEN, *CLOSE], dut_guard={"voltage_v": (200.0, 750.0)})
    with pytest.raises(SetpointRefused, match="instrument range 0 … 800 V"):
        driver.hold_voltage(900.0, 2.0, 100.0)
    with pytest.raises(SetpointRefused, match="DUT range 200 … 750 V"):
        driver.hold_voltage(780.0, 2.0, 100.0)
    with pytest.raises(SetpointRefused, match="current_a setpoint 300 A"):
        driver.hold_voltage(400.0, 2.0, 300.0)
    with pytest.raises(SetpointRefused, match="power_w setpoint 60000 W"):
        driver.hold_voltage(400.0, 2.0, 100.0, sink_power_w=60000.0)
    with pytest.raises(InstrumentError, match="hold_voltage"):
        driver.set_output(True)
    finish(driver, transcript)  # nothing sent between open and close


def test_safe_off_then_local_at_close(connect):
    driver, transcript = battery(connect, [*OPEN, *ok("OUTP OFF"), *CLOSE])
    assert driver.safe_off() == "output off"
    finish(driver, transcript)
