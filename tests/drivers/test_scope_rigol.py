"""Rigol DS1000Z against transcripts written from docs/instruments.md §2c."""

from __future__ import annotations

import pytest

from bench.core.errors import InstrumentError
from tests.drivers.talk import finish
from tests.drivers.talk import ok as _ok

ERR = ":SYSTem:ERRor?"
NO_ERROR = '0,"No error"'
IDN = "RIGOL TECHNOLOGIES,DS1104Z,DS1ZA123456789,00.04.04.SP3"
OPEN = [(ERR, NO_ERROR), ("*IDN?", IDN)]
STATUS = ":TRIGger:STATus?"  # TD, WAIT, RUN, AUTO, STOP


def ok(command):
    return _ok(command, ERR, NO_ERROR)


def scope(connect, steps, **config):
    return connect("rigol-ds", "scope", steps, **config)


def raw_transfer(channel):
    return [*ok(f":WAV:SOUR CHAN{channel}"), *ok(":WAV:MODE RAW"), *ok(":WAV:FORM BYTE")]


def test_open_and_set_up(connect):
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            *ok(":CHANnel2:DISPlay 1"),
            *ok(":CHANnel2:PROBe 10"),
            *ok(":CHANnel2:SCALe 5"),
            *ok(":CHANnel2:OFFSet -10"),
            *ok(":CHANnel2:COUPling DC"),
            *ok(":TIMebase:MAIN:SCALe 0.0005"),
            *ok(":TIMebase:MAIN:OFFSet 0"),
            *ok(":TRIGger:MODE EDGE"),
            *ok(":TRIGger:EDGE:SOURce CHANnel2"),
            *ok(":TRIGger:EDGE:LEVel 1.5"),
            *ok(":TRIGger:EDGE:SLOPe POSitive"),
        ],
    )
    assert driver.identity.model == "DS1104Z"
    driver.configure_channel(2, volts_per_div=5.0, offset_v=-10.0, probe=10.0)
    driver.configure_timebase(500e-6)
    driver.configure_trigger(2, level_v=1.5)
    finish(driver, transcript)


def test_instrument_error_is_raised_with_its_text(connect):
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            (":TIMebase:MAIN:SCALe 2000", None),
            (ERR, '-222,"Data out of range"'),
            (ERR, NO_ERROR),
        ],
    )
    with pytest.raises(InstrumentError, match='-222,"Data out of range"') as caught:
        driver.configure_timebase(2000.0)
    assert ":TIMebase:MAIN:SCALe 2000" in str(caught.value)
    finish(driver, transcript)


# 130 000 RAW points: two reads, 125 000 + 5 000 (WORD read limit 125 000, §2c).
# BYTE, RAW, 130000 points, count 1, xinc 1 µs, xorigin -65 ms, xref 0, yinc 40 mV,
# yorigin 10 codes, yref 127 → volts = (code - 10 - 127) * 0.04.
PREAMBLE = "0,2,130000,1,1.000000e-06,-6.500000e-02,0,4.000000e-02,10,127"
FIRST = bytes([137]) * 124_998 + bytes([187, 87])
SECOND = bytes([200]) + bytes([137]) * 4_998 + bytes([0])


def test_triggered_capture_ignores_a_stale_stop_and_reads_in_batches(connect, clock):
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            *ok(":SINGle"),
            (STATUS, "STOP"),  # left over from before :SINGle: not the end
            (STATUS, "WAIT"),
            (STATUS, "WAIT"),
            (STATUS, "TD"),
            (STATUS, "STOP"),  # complete
            *raw_transfer(1),
            (":WAV:PRE?", PREAMBLE),
            *ok(":WAV:STAR 1"),
            *ok(":WAV:STOP 125000"),
            (":WAV:DATA?", b"#9000125000" + FIRST + b"\n"),
            *ok(":WAV:STAR 125001"),
            *ok(":WAV:STOP 130000"),
            (":WAV:DATA?", b"#9000005000" + SECOND + b"\n"),
        ],
    )
    wave = driver.capture([1], timeout_s=2.0)[1]
    assert clock.now() == pytest.approx(0.20)
    assert not wave.forced and len(wave.volts) == 130_000
    # by hand: 137 → 0 V; 187 → +2.0 V; 87 → -2.0 V; 200 → +2.52 V; 0 → -5.48 V
    assert wave.volts[0] == pytest.approx(0.0)
    assert wave.volts[124_998] == pytest.approx(2.0)
    assert wave.volts[124_999] == pytest.approx(-2.0)
    assert wave.volts[125_000] == pytest.approx(2.52)
    assert wave.volts[-1] == pytest.approx(-5.48)
    assert wave.times[0] == pytest.approx(-0.065)
    assert wave.times[125_000] == pytest.approx(0.060)
    finish(driver, transcript)


def test_dc_level_forced_with_tforce_when_waiting(connect, clock):
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            *ok(":SINGle"),
            (STATUS, "WAIT"),
            *ok(":TFORce"),
            (STATUS, "TD"),
            (STATUS, "STOP"),
            *raw_transfer(3),
            (":WAV:PRE?", "0,2,4,1,2.000000e-05,0.000000e+00,0,1.000000e-01,0,127"),
            *ok(":WAV:STAR 1"),
            *ok(":WAV:STOP 4"),
            # 247 → (247 - 0 - 127) * 0.1 = 12.0 V
            (":WAV:DATA?", b"#9000000004" + bytes([247]) * 4 + b"\n"),
        ],
    )
    wave = driver.capture([3], timeout_s=2.0, force_after_s=0.0)[3]
    assert wave.forced
    assert clock.now() == pytest.approx(0.10)
    assert wave.volts.tolist() == pytest.approx([12.0] * 4)
    finish(driver, transcript)


def test_no_trigger_stops_and_names_the_channel(connect, clock):
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            *ok(":TRIGger:MODE EDGE"),
            *ok(":TRIGger:EDGE:SOURce CHANnel1"),
            *ok(":TRIGger:EDGE:LEVel 9"),
            *ok(":TRIGger:EDGE:SLOPe NEGative"),
            *ok(":SINGle"),
            (STATUS, "WAIT"),
            (STATUS, "WAIT"),
            (STATUS, "WAIT"),
            (STATUS, "WAIT"),
            *ok(":STOP"),
        ],
    )
    driver.configure_trigger(1, level_v=9.0, slope="falling")
    with pytest.raises(InstrumentError, match="no trigger on CHAN1"):
        driver.capture([1], timeout_s=0.12)
    assert clock.now() == pytest.approx(0.15)
    finish(driver, transcript)


def test_measurements_duty_ratio_to_percent_and_invalid(connect):
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            (":MEASure:ITEM? FREQuency,CHAN1", "1.000000e+03"),
            (":MEASure:ITEM? PDUTy,CHAN1", "5.300000e-01"),
            (":MEASure:ITEM? VMAX,CHAN1", "9.9E37"),
        ],
    )
    assert driver.measure("frequency", 1) == pytest.approx(1000.0)
    assert driver.measure("duty", 1) == pytest.approx(53.0)
    assert driver.measure("vmax", 1) is None
    finish(driver, transcript)


def test_duty_reply_in_percent_by_profile_option(connect):
    driver, transcript = scope(
        connect, [*OPEN, (":MEASure:ITEM? PDUTy,CHAN2", "5.300000e+01")], options={"duty_reply": "percent"}
    )
    assert driver.measure("duty", 2) == pytest.approx(53.0)
    finish(driver, transcript)


def test_unknown_trigger_status_is_an_error(connect):
    driver, transcript = scope(connect, [*OPEN, *ok(":SINGle"), (STATUS, "BUSY")])
    with pytest.raises(InstrumentError, match="'BUSY'"):
        driver.capture([1], timeout_s=1.0)
    finish(driver, transcript)
