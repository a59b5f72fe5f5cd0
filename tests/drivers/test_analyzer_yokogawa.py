"""Yokogawa WT power analyzers against transcripts written from docs/instruments.md §4."""

from __future__ import annotations

import pytest

from bench.core.errors import InstrumentError
from tests.drivers.talk import finish
from tests.drivers.talk import ok as _ok

ERR = ":STATus:ERRor?"
NO_ERROR = '0,"No error"'
OPEN = [
    (":COMMunicate:HEADer OFF", None),  # before anything is parsed
    (ERR, NO_ERROR),
    ("*IDN?", "YOKOGAWA,WT1806,91K123456,F2.01"),
    (":NUMeric:FORMat ASCii", None),
    (ERR, NO_ERROR),
]
VALUES = ":NUMeric:NORMal:VALue?"


def ok(command):
    return _ok(command, ERR, NO_ERROR)


def analyzer(connect, steps, **config):
    return connect("yokogawa-wt", "analyzer", steps, **config)


def dc_items(element):
    return [
        *ok(":NUMeric:NORMal:NUMber 3"),
        *ok(f":NUMeric:NORMal:ITEM1 U,{element}"),
        *ok(f":NUMeric:NORMal:ITEM2 I,{element}"),
        *ok(f":NUMeric:NORMal:ITEM3 P,{element}"),
    ]


def test_open_turns_headers_off_and_identifies(connect):
    driver, transcript = analyzer(connect, OPEN)
    assert (driver.identity.maker, driver.identity.model) == ("YOKOGAWA", "WT1806")
    finish(driver, transcript)


def test_dc_element_reading_configures_once(connect):
    driver, transcript = analyzer(
        connect,
        [
            *OPEN,
            *dc_items(4),
            (VALUES, "750.12E+00,100.05E+00,75.052E+03"),
            (VALUES, "749.98E+00,99.998E+00,74.993E+03"),  # same items: no new configuration
        ],
    )
    first = driver.read_element(4)
    assert {k: r.value for k, r in first.items()} == pytest.approx({"U": 750.12, "I": 100.05, "P": 75052.0})
    assert first["P"].element == 4 and first["P"].raw == "75.052E+03"
    second = driver.read_element(4)
    assert second["U"].value == pytest.approx(749.98)
    finish(driver, transcript)


def test_ac_element_reading(connect):
    driver, transcript = analyzer(
        connect,
        [
            *OPEN,
            *ok(":NUMeric:NORMal:NUMber 6"),
            *ok(":NUMeric:NORMal:ITEM1 U,1"),
            *ok(":NUMeric:NORMal:ITEM2 I,1"),
            *ok(":NUMeric:NORMal:ITEM3 P,1"),
            *ok(":NUMeric:NORMal:ITEM4 S,1"),
            *ok(":NUMeric:NORMal:ITEM5 LAMBDA,1"),
            *ok(":NUMeric:NORMal:ITEM6 FU,1"),
            (VALUES, "230.01E+00,31.998E+00,7.3589E+03,7.3599E+03,0.99987E+00,50.000E+00"),
        ],
    )
    readings = driver.read_element(1, ac=True)
    assert list(readings) == ["U", "I", "P", "S", "LAMBDA", "FU"]
    assert readings["LAMBDA"].value == pytest.approx(0.99987)
    assert readings["FU"].value == pytest.approx(50.0)
    finish(driver, transcript)


def test_nan_inf_and_old_9_9e37_codes_are_invalid_readings_never_numbers(connect):
    driver, transcript = analyzer(
        connect,
        [
            *OPEN,
            *ok(":NUMeric:NORMal:NUMber 5"),
            *ok(":NUMeric:NORMal:ITEM1 U,1"),
            *ok(":NUMeric:NORMal:ITEM2 I,1"),
            *ok(":NUMeric:NORMal:ITEM3 P,1"),
            *ok(":NUMeric:NORMal:ITEM4 U,2"),
            *ok(":NUMeric:NORMal:ITEM5 I,2"),
            # no data, over-range, WT210 over-range, WT210 no data, a real value
            (VALUES, "NAN,INF,9.9E+37,9.91E+37,12.345E+00"),
        ],
    )
    driver.configure([("U", 1), ("I", 1), ("P", 1), ("U", 2), ("I", 2)])
    readings = driver.read()
    assert [r.value for r in readings[:4]] == [None, None, None, None]
    assert [r.valid for r in readings] == [False, False, False, False, True]
    assert [r.raw for r in readings[:2]] == ["NAN", "INF"]
    assert readings[4].value == pytest.approx(12.345)
    finish(driver, transcript)


def test_error_queue_entry_names_the_item_command(connect):
    driver, transcript = analyzer(
        connect,
        [
            *OPEN,
            *ok(":NUMeric:NORMal:NUMber 1"),
            (":NUMeric:NORMal:ITEM1 U,7", None),
            (ERR, '-222,"Data out of range"'),
            (ERR, NO_ERROR),
        ],
    )
    with pytest.raises(InstrumentError, match=r'ITEM1 U,7.*-222,"Data out of range"'):
        driver.configure([("U", 7)])
    finish(driver, transcript)


def test_garbled_value_and_wrong_count_are_errors(connect):
    driver, transcript = analyzer(
        connect,
        [
            *OPEN,
            *dc_items(1),
            (VALUES, "750.12E+00,abc,75.052E+03"),
            (VALUES, "750.12E+00,100.05E+00"),
        ],
    )
    with pytest.raises(InstrumentError, match="item I,1 → 'abc'"):
        driver.read_element(1)
    with pytest.raises(InstrumentError, match="2 values for 3 items"):
        driver.read()
    finish(driver, transcript)


def test_integration_and_energy(connect):
    driver, transcript = analyzer(
        connect,
        [
            *OPEN,
            *ok(":INTEGrate:RESet"),
            *ok(":INTEGrate:STARt"),
            *ok(":INTEGrate:STOP"),
            *ok(":NUMeric:NORMal:NUMber 1"),
            *ok(":NUMeric:NORMal:ITEM1 WH,4"),  # watt-hour item name of the WT1800 (§4)
            (VALUES, "12.3456E+03"),
        ],
    )
    driver.integration_reset()
    driver.integration_start()
    driver.integration_stop()
    energy = driver.energy(4)
    assert (energy.quantity, energy.element, energy.value) == ("WH", 4, pytest.approx(12345.6))
    finish(driver, transcript)
