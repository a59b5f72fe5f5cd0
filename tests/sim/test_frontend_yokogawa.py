"""The simulated Yokogawa WT power analyzer through a real socket, in virtual time."""

from __future__ import annotations

import math
import re
import struct

import numpy as np
import pytest

from bench.core.clock import VirtualClock
from instruments.sim.frontends.yokogawa_wt import YokogawaWTFrontEnd, eng
from tests.sim.fakes import Constant, FakePlant, advance, served, sine, step

IDENTITY = ("YOKOGAWA", "WT5000", "SIM-WT-1", "F1.01")
NR3_5 = re.compile(r"^-?(\d\.\d{4}|\d\d\.\d{3}|\d{3}\.\d{2})E[+-]\d\d$")  # 5 mantissa digits


def make_analyzer(seed: int = 1):
    clock = VirtualClock()
    plant = FakePlant(
        sine("ac_voltage", 230.0),
        sine("ac_current", 10.0, phase_deg=-30.0, unit="A"),
        step("inlet_voltage", 400.0, 410.0, at=1.0),
        Constant("output_current", -50.0, unit="A"),
        clock=clock,
        keep_s=120.0,
    )  # the real plant keeps 120 s
    analyzer = YokogawaWTFrontEnd(
        "analyzer",
        clock,
        IDENTITY,
        {1: ("ac_voltage", "ac_current"), 2: ("inlet_voltage", "output_current")},
        np.random.default_rng(seed),
        plant=plant,
    )
    return clock, analyzer


@pytest.fixture
def bench():
    clock, analyzer = make_analyzer()
    with served(analyzer, clock) as (_, client):
        yield clock, client


def values(client, query: str = ":NUMeric:NORMal:VALue?") -> list[str]:
    return client.ask(query).split(",")


@pytest.mark.parametrize(
    "value, digits, text",
    [
        (123.45, 5, "123.45E+00"),
        (0.012345, 5, "12.345E-03"),
        (99.99996, 5, "100.00E+00"),
        (-0.0123456, 5, "-12.346E-03"),
        (999_999.0, 5, "1.0000E+06"),
        (0.0, 5, "0.0000E+00"),
        (-55.55556, 6, "-55.5556E+00"),
        (0.2, 4, "200.0E-03"),
    ],
)
def test_numbers_have_at_most_the_mantissa_digits_of_the_manual(value, digits, text):
    assert eng(value, digits) == text


def test_headers_until_header_off_and_the_error_query(bench):
    _, client = bench
    assert client.ask("*IDN?") == ",".join(IDENTITY)
    assert client.ask(":NUMeric:NORMal:ITEM1?") == ":NUM:ITEM1 U,1"  # HEADer ON after power-up
    client.write(":BOGus")
    assert client.ask(":STATus:ERRor?") == ':STAT:ERR -113,"Undefined header"'
    client.write(":COMMunicate:VERBose ON")
    assert client.ask(":NUM:ITEM6?") == ":NUMERIC:NORMAL:ITEM6 LAMBDA,1"
    client.write(":COMMunicate:HEADer OFF;VERBose OFF")
    assert client.ask(":NUMeric:ITEM6?") == "LAMB,1"
    assert client.ask(":STATus:ERRor?") == '0,"No error"'


def test_no_data_before_the_first_update(bench):
    clock, client = bench
    client.write(":COMM:HEAD OFF;:NUM:FORM ASC")
    assert set(values(client)) == {"NAN"}
    advance(clock, client, 0.25)
    assert "NAN" not in values(client)[:9]


def test_ac_element_readings(bench):
    clock, client = bench
    client.write(":COMM:HEAD OFF")
    advance(clock, client, 0.5)
    reply = values(client)
    assert all(NR3_5.match(v) for v in reply), reply
    u, i, p, s, q, lam, phi, fu, fi = (float(v) for v in reply[:9])
    assert u == pytest.approx(230.0, abs=0.05)
    assert i == pytest.approx(10.0, abs=0.005)
    assert p == pytest.approx(230.0 * 10.0 * math.cos(math.radians(30)), rel=5e-4)
    assert s == pytest.approx(2300.0, rel=5e-4)
    assert q == pytest.approx(1150.0, rel=2e-3)
    assert lam == pytest.approx(0.8660, abs=5e-4)
    assert phi == pytest.approx(30.0, abs=0.1)  # current lags: positive
    assert fu == pytest.approx(50.0, abs=0.01) and fi == pytest.approx(50.0, abs=0.01)


def test_dc_readings_follow_the_signal_and_none_is_nan(bench):
    clock, client = bench
    client.write(":COMM:HEAD OFF;:NUMeric:NUMber 4")
    client.write(":NUMeric:NORMal:ITEM1 UDC,2;ITEM2 IDC,2;ITEM3 P,2;ITEM4 NONE")
    assert client.ask(":NUMeric:ITEM4?") == "NONE"
    advance(clock, client, 0.5)
    udc, idc, p, none = values(client)
    assert float(udc) == pytest.approx(400.0, abs=0.05)
    assert float(idc) == pytest.approx(-50.0, abs=0.01)
    assert float(p) == pytest.approx(-20_000.0, rel=5e-4)
    assert none == "NAN"
    advance(clock, client, 1.0)  # the inlet voltage stepped to 410 V at t = 1 s
    assert float(client.ask(":NUMeric:VALue? 1")) == pytest.approx(410.0, abs=0.05)


def test_over_range_is_inf_until_the_range_fits(bench):
    clock, client = bench
    client.write(":COMM:HEAD OFF;:NUMeric:NUMber 3;:NUMeric:ITEM1 U,1;ITEM2 I,1;ITEM3 P,1")
    client.write(":INPut:CURRent:RANGe:ELEMent1 5")  # 10 A rms > 140 % of 5 A
    assert client.ask(":INPut:CURRent:RANGe:ELEMent1?") == "5.000E+00"
    advance(clock, client, 0.5)
    u, i, p = values(client)
    assert (i, p) == ("INF", "INF") and float(u) == pytest.approx(230.0, abs=0.05)
    client.write(":INPut:CURRent:RANGe:ELEMent1 7")  # not a range of the instrument
    assert client.ask(":STATus:ERRor?") == '-222,"Data out of range"'
    client.write(":INPut:CURRent:AUTO:ELEMent1 ON")
    advance(clock, client, 0.5)
    assert float(values(client)[1]) == pytest.approx(10.0, abs=0.005)
    assert client.ask(":INPut:CURRent:RANGe:ELEMent1?") == "1.000E+01"


def test_float_format_and_its_nan_inf_patterns(bench):
    clock, client = bench
    client.write(":COMM:HEAD OFF;:NUMeric:FORMat FLOat;:NUMeric:NUMber 3")
    client.write(":NUMeric:ITEM1 UDC,2;ITEM2 NONE;ITEM3 I,1;:INPut:CURRent:RANGe:ELEMent1 1")
    advance(clock, client, 0.5)
    header, payload = client.ask_block(":NUMeric:VALue?")
    assert header == b"#40012"
    assert struct.unpack(">f", payload[:4])[0] == pytest.approx(400.0, abs=0.05)
    assert payload[4:8] == bytes.fromhex("7E951BEE")  # NONE
    assert payload[8:12] == bytes.fromhex("7E94F56A")  # over-range


def test_integration_of_a_dc_element(bench):
    clock, client = bench
    client.write(":COMM:HEAD OFF;:NUMeric:NUMber 4;:NUMeric:ITEM1 WH,2;ITEM2 WHM,2;ITEM3 TIME,2;ITEM4 AH,2")
    assert client.ask(":INTEGrate:STATe?") == "RES"
    client.write(":INTEGrate:MODE NORMal;:INTEGrate:TIMer 0,0,10;:INTEGrate:STARt")
    advance(clock, client, 0.5)
    assert client.ask(":INTEGrate:STATe?") == "STAR"
    advance(clock, client, 0.5)  # the inlet voltage steps from 400 V to 410 V at t = 1 s
    advance(clock, client, 11.0)
    assert client.ask(":INTEGrate:STATe?") == "TIM"
    wh, whm, seconds, ah = values(client)
    expected = -(400.0 * 50 * 1.0 + 410.0 * 50 * 9.0) / 3600
    assert float(wh) == pytest.approx(expected, rel=1e-4) and wh == whm
    assert re.fullmatch(r"-\d+\.\d{4}E\+00", wh)  # six digits for integrated values
    assert seconds == "10"
    assert float(ah) == pytest.approx(-50 * 10 / 3600, rel=1e-4)
    client.write(":INTEGrate:RESet")
    assert client.ask(":INTEGrate:STATe?") == "RES"
    assert float(values(client)[0]) == 0.0


def test_stopping_integration_that_does_not_run_answers_nothing(bench):
    _, client = bench
    client.write(":COMM:HEAD OFF;:INTEGrate:STOP")  # a command: no reply may be queued for the next query
    assert client.ask(":INTEGrate:STATe?") == "RES"
    assert client.ask(":STATus:ERRor?") == '0,"No error"'


def test_integration_keeps_up_with_the_plants_bounded_history(bench):
    clock, client = bench  # the fake plant refuses samples older than 120 s
    client.write(":COMM:HEAD OFF;:NUMeric:NUMber 2;:NUMeric:ITEM1 WH,2;ITEM2 TIME,2;:INTEGrate:STARt")
    advance(clock, client, 400.0)
    wh, seconds = values(client)
    assert seconds == "400"
    assert float(wh) == pytest.approx(-(400.0 * 50 * 1.0 + 410.0 * 50 * 399.0) / 3600, rel=1e-4)


def run_readings(seed: int) -> str:
    clock, analyzer = make_analyzer(seed)
    with served(analyzer, clock) as (_, client):
        client.write(":COMM:HEAD OFF")
        advance(clock, client, 1.3)
        return client.ask(":NUMeric:VALue?")


def test_two_runs_give_identical_readings():
    assert run_readings(1) == run_readings(1)
    assert run_readings(1) != run_readings(2)
