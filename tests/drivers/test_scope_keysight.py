"""Keysight InfiniiVision 3000T X / 4000 X against transcripts written from docs/instruments.md §1."""

from __future__ import annotations

import math

import pytest

from bench.core.errors import InstrumentError
from tests.drivers.talk import finish
from tests.drivers.talk import ok as _ok

ERR = ":SYSTem:ERRor?"  # §1 Setup and status
NO_ERROR = '+0,"No error"'
IDN = "KEYSIGHT TECHNOLOGIES,DSOX3034T,MY58101234,07.50.2021102830"
OPEN = [(ERR, NO_ERROR), ("*IDN?", IDN)]
COND = ":OPERegister:CONDition?"  # bit 3 (8) Run, bit 5 (32) Wait Trig
TRANSFER = [  # §1 "Typical read sequence"
    *_ok(":WAV:FORM WORD", ERR, NO_ERROR),
    *_ok(":WAV:BYT LSBF", ERR, NO_ERROR),
    *_ok(":WAV:UNS 1", ERR, NO_ERROR),
    *_ok(":WAV:POIN:MODE RAW", ERR, NO_ERROR),
    *_ok(":WAV:POIN MAX", ERR, NO_ERROR),
]


def ok(command):
    return _ok(command, ERR, NO_ERROR)


def scope(connect, steps):
    return connect("keysight-infiniivision", "scope", steps)


def test_open_reads_stale_errors_then_identity(connect):
    driver, transcript = scope(connect, OPEN)
    assert (driver.identity.maker, driver.identity.model, driver.identity.serial) == (
        "KEYSIGHT TECHNOLOGIES",
        "DSOX3034T",
        "MY58101234",
    )
    finish(driver, transcript)


def test_channel_timebase_and_trigger_settings_each_checked(connect):
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            *ok(":CHANnel1:DISPlay 1"),
            *ok(":CHANnel1:PROBe 10"),
            *ok(":CHANnel1:SCALe 2"),
            *ok(":CHANnel1:OFFSet 5"),
            *ok(":CHANnel1:COUPling DC"),
            *ok(":TIMebase:SCALe 0.0002"),
            *ok(":TIMebase:POSition 0.0001"),
            *ok(":TRIGger:MODE EDGE"),
            *ok(":TRIGger:EDGE:SOURce CHANnel1"),
            *ok(":TRIGger:EDGE:LEVel 6"),
            *ok(":TRIGger:EDGE:SLOPe NEGative"),
        ],
    )
    driver.configure_channel(1, volts_per_div=2.0, offset_v=5.0, coupling="DC", probe=10.0)
    driver.configure_timebase(200e-6, position_s=100e-6)
    driver.configure_trigger(1, level_v=6.0, slope="falling")
    finish(driver, transcript)


def test_instrument_error_carries_its_message_and_the_command(connect):
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            *ok(":CHANnel2:DISPlay 1"),
            *ok(":CHANnel2:PROBe 1"),
            (":CHANnel2:SCALe 1000", None),
            (ERR, '-222,"Data out of range"'),
            (ERR, NO_ERROR),
        ],
    )
    with pytest.raises(InstrumentError) as caught:
        driver.configure_channel(2, volts_per_div=1000.0)
    assert '-222,"Data out of range"' in str(caught.value)
    assert ":CHANnel2:SCALe 1000" in str(caught.value)
    assert caught.value.role == "scope"
    finish(driver, transcript)


# WORD record of 7 points, little-endian (§1: uint16 LSB first, left-justified 12 bits).
# Codes: 0x8000, 0x8010, 0x7FF0, 0xA000, then hole 0x0000, clipped low 0x0001, clipped high 0xFFFF.
WORD_DATA = b"\x00\x80\x10\x80\xf0\x7f\x00\xa0\x00\x00\x01\x00\xff\xff"
# format WORD, type NORMal, 7 points, count 1, xinc 1 µs, xorigin -2 µs, xref 0,
# yinc 125 µV/code, yorigin 0.5 V, yref 32768.
WORD_PREAMBLE = "+1,+0,+7,+1,+1.00000000E-06,-2.00000000E-06,+0,+1.25000000E-04,+5.00000000E-01,+32768"


def test_triggered_capture_polls_through_the_clock_and_converts_words(connect, clock):
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            (":TER?", "+0"),  # stale trigger flag cleared, answer discarded
            *ok(":SINGle"),
            (COND, "+40"),  # Run + Wait Trig
            (COND, "+40"),
            (COND, "+8"),  # triggered, still filling
            (COND, "+0"),  # stopped: record complete
            *ok(":WAV:SOUR CHAN1"),
            *TRANSFER,
            (":WAV:PRE?", WORD_PREAMBLE),
            (":WAV:DATA?", b"#800000014" + WORD_DATA + b"\n"),
        ],
    )
    records = driver.capture([1], timeout_s=1.0)
    # four polls, 50 ms of bench time between them
    assert clock.now() == pytest.approx(0.15)
    wave = records[1]
    assert wave.channel == 1 and not wave.forced
    assert wave.bench_time == pytest.approx(0.15)
    # volts = (code - 32768) * 125e-6 + 0.5, computed by hand
    assert wave.volts[:4].tolist() == pytest.approx([0.5, 0.502, 0.498, 1.524])
    assert all(math.isnan(v) for v in wave.volts[4:])  # hole, clipped low, clipped high
    assert wave.valid.tolist() == [True] * 4 + [False] * 3
    assert wave.times.tolist() == pytest.approx([-2e-6, -1e-6, 0.0, 1e-6, 2e-6, 3e-6, 4e-6])
    assert wave.preamble["points"] == 7 and wave.preamble["yreference"] == 32768
    finish(driver, transcript)


def test_dc_level_is_captured_by_forcing_once_the_scope_waits_for_a_trigger(connect, clock):
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            (":TER?", "+0"),
            *ok(":SINGle"),
            (COND, "+8"),  # running, not yet armed: no force yet
            (COND, "+40"),  # armed and waiting: force now
            *ok(":TRIGger:FORCe"),
            (COND, "+0"),
            *ok(":WAV:SOUR CHAN2"),
            *TRANSFER,
            (":WAV:PRE?", "+1,+0,+3,+1,+2.00000000E-05,+0.00000000E+00,+0,+1.00000000E-03,-2.00000000E+00,+32768"),
            # 0x9000 three times: (36864 - 32768) * 1 mV - 2 V = 2.096 V
            (":WAV:DATA?", b"#800000006" + b"\x00\x90" * 3 + b"\n"),
        ],
    )
    wave = driver.capture([2], timeout_s=1.0, force_after_s=0.0)[2]
    assert clock.now() == pytest.approx(0.10)
    assert wave.forced
    assert wave.volts.tolist() == pytest.approx([2.096] * 3)
    assert wave.times.tolist() == pytest.approx([0.0, 2e-5, 4e-5])
    finish(driver, transcript)


def test_no_trigger_stops_the_scope_and_names_the_channel(connect, clock):
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            *ok(":TRIGger:MODE EDGE"),
            *ok(":TRIGger:EDGE:SOURce CHANnel3"),
            *ok(":TRIGger:EDGE:LEVel 1.5"),
            *ok(":TRIGger:EDGE:SLOPe POSitive"),
            (":TER?", "+0"),
            *ok(":SINGle"),
            (COND, "+40"),
            (COND, "+40"),
            (COND, "+40"),
            (COND, "+40"),  # 0.15 s ≥ timeout 0.12 s
            *ok(":STOP"),
        ],
    )
    driver.configure_trigger(3, level_v=1.5)
    with pytest.raises(InstrumentError, match=r"no trigger on CHAN3 within 0.12 s"):
        driver.capture([3], timeout_s=0.12)
    assert clock.now() == pytest.approx(0.15)
    finish(driver, transcript)


def test_measurements_and_the_not_measurable_code(connect):
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            (":MEASure:FREQuency? CHAN1", "+1.00000E+03"),
            (":MEASure:DUTYcycle? CHAN1", "+5.30000E+01"),  # percent (§1)
            (":MEASure:VTOP? CHAN1", "+9.9E+37"),  # cannot be measured
        ],
    )
    assert driver.measure("frequency", 1) == pytest.approx(1000.0)
    assert driver.measure("duty", 1) == pytest.approx(53.0)
    assert driver.measure("vtop", 1) is None
    finish(driver, transcript)


def test_preamble_that_disagrees_with_the_block_is_an_error(connect):
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            (":TER?", "+0"),
            *ok(":SINGle"),
            (COND, "+0"),
            *ok(":WAV:SOUR CHAN1"),
            *TRANSFER,
            (":WAV:PRE?", WORD_PREAMBLE),  # says 7 points
            (":WAV:DATA?", b"#800000004" + b"\x00\x80\x00\x80" + b"\n"),  # holds 2
        ],
    )
    with pytest.raises(InstrumentError, match="4 bytes for 7 WORD points"):
        driver.capture([1], timeout_s=1.0)
    finish(driver, transcript)


def test_two_channels_read_one_after_the_other(connect):
    preamble = "+1,+0,+2,+1,+1.00000000E-06,+0.00000000E+00,+0,+1.00000000E-02,+0.00000000E+00,+32768"
    driver, transcript = scope(
        connect,
        [
            *OPEN,
            (":TER?", "+1"),
            *ok(":SINGle"),
            (COND, "+0"),
            *ok(":WAV:SOUR CHAN1"),
            *TRANSFER,
            (":WAV:PRE?", preamble),
            (":WAV:DATA?", b"#800000004" + b"\x64\x80" * 2 + b"\n"),  # 0x8064: +100 codes → 1.0 V
            *ok(":WAV:SOUR CHAN4"),
            *TRANSFER,
            (":WAV:PRE?", preamble),
            (":WAV:DATA?", b"#800000004" + b"\x9c\x7f" * 2 + b"\n"),  # 0x7F9C: -100 codes → -1.0 V
        ],
    )
    records = driver.capture([1, 4], timeout_s=1.0)
    assert records[1].volts.tolist() == pytest.approx([1.0, 1.0])
    assert records[4].volts.tolist() == pytest.approx([-1.0, -1.0])
    finish(driver, transcript)


def test_unknown_channel_or_measurement_is_refused_before_sending(connect):
    driver, transcript = scope(connect, OPEN)
    with pytest.raises(InstrumentError, match="channel 5 does not exist"):
        driver.capture([5], timeout_s=1.0)
    with pytest.raises(InstrumentError, match="measurement 'overshoot' not supported"):
        driver.measure("overshoot", 1)
    finish(driver, transcript)
