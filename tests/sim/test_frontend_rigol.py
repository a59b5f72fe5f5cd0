"""The simulated Rigol DS1000Z scope (second dialect) through a real socket, in virtual time."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.clock import VirtualClock
from instruments.sim.frontends.rigol_scope import RigolScopeFrontEnd
from tests.sim.fakes import Constant, FakePlant, Pwm, advance, served

IDENTITY = ("RIGOL TECHNOLOGIES", "DS1104Z", "DS1ZA000000001", "00.04.04.SP3")
HIGH, LOW, DUTY, FREQUENCY = 9.0, -12.0, 0.10, 1000.0


def make_scope(seed: int = 1, points: int = 120_000):
    clock = VirtualClock()
    plant = FakePlant(
        Pwm("cp", HIGH, LOW, FREQUENCY, DUTY, t0=0.0003), Constant("aux_voltage", 12.0), clock=clock, keep_s=120.0
    )
    scope = RigolScopeFrontEnd(
        "scope", clock, IDENTITY, {1: "cp", 2: "aux_voltage"}, np.random.default_rng(seed), plant=plant, points=points
    )
    return clock, scope


@pytest.fixture
def bench():
    clock, scope = make_scope()
    with served(scope, clock) as (hub, client):
        yield clock, client


def setup_cp(client) -> None:
    """5 V/div, trace moved up 1.5 V (screen centre at -1.5 V), 1 ms/div × 12 div."""
    client.write(":CHANnel1:SCALe 5;:CHANnel1:OFFSet 1.5;:TIMebase:MAIN:SCALe 1E-3;:TIMebase:MAIN:OFFSet 0")
    client.write(":TRIGger:EDGE:SOURce CHANnel1;:TRIGger:EDGE:SLOPe POSitive;:TRIGger:EDGE:LEVel 0")


def single_capture(clock, client) -> None:
    setup_cp(client)
    client.write(":SINGle")
    advance(clock, client, 0.013)
    assert client.ask(":TRIGger:STATus?") == "STOP"


def to_volts(codes: np.ndarray, preamble: list[str]) -> np.ndarray:
    yincrement, yorigin, yreference = float(preamble[7]), float(preamble[8]), float(preamble[9])
    return (codes.astype(float) - yorigin - yreference) * yincrement


def test_identity_and_rigol_error_format(bench):
    _, client = bench
    assert client.ask("*IDN?") == ",".join(IDENTITY)
    client.write(":BOGus")
    assert client.ask(":SYSTem:ERRor?") == '-113,"Undefined header"'
    assert client.ask(":SYSTem:ERRor?") == '0,"No error"'
    client.write(":CHANnel1:SCALe 2")
    assert client.ask(":CHANnel1:SCALe?") == "2.000000e+00"
    assert client.ask(":TRIGger:SWEep?") == "AUTO"


def test_trigger_status_walks_through_a_single_acquisition(bench):
    clock, client = bench
    setup_cp(client)
    client.write(":SINGle")
    assert client.ask(":TRIGger:SWEep?") == "SING"
    assert client.ask(":TRIGger:STATus?") == "RUN"  # filling the 6 ms pre-trigger part
    advance(clock, client, 0.0061)
    assert client.ask(":TRIGger:STATus?") == "WAIT"  # next rising edge at 6.3 ms
    advance(clock, client, 0.0004)
    assert client.ask(":TRIGger:STATus?") == "TD"  # post-trigger part runs to 12.3 ms
    advance(clock, client, 0.0057)
    assert client.ask(":TRIGger:STATus?") == "TD"
    advance(clock, client, 0.0002)
    assert client.ask(":TRIGger:STATus?") == "STOP"


def test_raw_block_converts_back_to_the_signal(bench):
    clock, client = bench
    single_capture(clock, client)
    client.write(":WAVeform:SOURce CHANnel1;:WAVeform:MODE RAW;:WAVeform:FORMat BYTE")
    client.write(":WAVeform:STARt 1;:WAVeform:STOP 120000")
    preamble = client.ask(":WAVeform:PREamble?").split(",")
    assert preamble[:4] == ["0", "2", "120000", "1"]
    assert preamble[4:8] == ["1.000000e-07", "-6.000000e-03", "0", "2.000000e-01"]  # 12 div, 5 V / 25
    assert preamble[9] == "127"
    assert int(preamble[8]) == round(1.5 / 0.2)  # yorigin in codes: the centre shows -1.5 V
    header, payload = client.ask_block(":WAVeform:DATA?")
    assert header == b"#9000120000"
    volts = to_volts(np.frombuffer(payload, dtype="u1"), preamble)
    assert np.median(volts[volts > 0]) == pytest.approx(HIGH, abs=0.2)
    assert np.median(volts[volts < 0]) == pytest.approx(LOW, abs=0.2)
    assert np.mean(volts > -1.5) == pytest.approx(DUTY, abs=0.002)
    assert float(client.ask(":MEASure:ITEM? PDUTy,CHANnel1")) == pytest.approx(DUTY, abs=5e-4)
    assert float(client.ask(":MEASure:ITEM? FREQuency,CHANnel1")) == pytest.approx(FREQUENCY, rel=1e-3)
    assert float(client.ask(":MEASure:ITEM? VTOP,CHANnel1")) == pytest.approx(HIGH, abs=0.05)


def test_word_reads_are_cut_at_the_per_read_limit_and_batch_back_together():
    clock, scope = make_scope(points=300_000)
    with served(scope, clock) as (_, client):
        single_capture(clock, client)
        client.write(":WAVeform:MODE RAW;:WAVeform:FORMat BYTE;:WAVeform:STARt 1;:WAVeform:STOP 300000")
        _, whole = client.ask_block(":WAVeform:DATA?")
        client.write(":WAVeform:FORMat WORD")
        batches = []
        for start in (1, 125_001, 250_001):
            client.write(f":WAVeform:STARt {start};:WAVeform:STOP 300000")
            header, payload = client.ask_block(":WAVeform:DATA?")
            batches.append(np.frombuffer(payload, dtype="<u2"))
        assert [len(b) for b in batches] == [125_000, 125_000, 50_000]  # [C] 125 000 points a read
        words = np.concatenate(batches)
        assert not np.any(words >> 8)  # high byte 0
        assert len(whole) == 250_000  # [U] BYTE limit
        assert np.array_equal(words[:250_000].astype("u1"), np.frombuffer(whole, dtype="u1"))


def test_screen_data_and_raw_data_while_running(bench):
    clock, client = bench
    setup_cp(client)
    client.write(":RUN")
    advance(clock, client, 0.1)
    client.write(":WAVeform:MODE NORMal;:WAVeform:FORMat BYTE")
    preamble = client.ask(":WAVeform:PREamble?").split(",")
    assert preamble[:3] == ["0", "0", "1200"] and float(preamble[4]) == pytest.approx(1e-5)
    header, _ = client.ask_block(":WAVeform:DATA?")
    assert header == b"#9000001200"
    client.write(":WAVeform:MODE RAW")
    assert client.ask_block(":WAVeform:DATA?") == (b"#9000000000", b"")  # RAW only when stopped
    assert client.ask(":SYSTem:ERRor?") == '-221,"Settings conflict"'
    client.write(":STOP")
    client.write(":WAVeform:STARt 1;:WAVeform:STOP 120000")
    header, _ = client.ask_block(":WAVeform:DATA?")
    assert header == b"#9000120000"


def test_forced_trigger_on_a_dc_level(bench):
    clock, client = bench
    client.write(":CHANnel2:SCALe 2;:CHANnel2:OFFSet -12;:TIMebase:MAIN:SCALe 5E-4")
    client.write(":TRIGger:EDGE:SOURce CHANnel2;:TRIGger:EDGE:LEVel 5;:SINGle")
    advance(clock, client, 0.5)
    assert client.ask(":TRIGger:STATus?") == "WAIT"
    client.write(":TFORce")
    assert client.ask(":TRIGger:STATus?") == "TD"
    advance(clock, client, 0.004)
    assert client.ask(":TRIGger:STATus?") == "STOP"
    client.write(":WAVeform:SOURce CHANnel2;:WAVeform:MODE RAW;:WAVeform:FORMat ASCii")
    client.write(":WAVeform:STARt 1;:WAVeform:STOP 15625")
    _, payload = client.ask_block(":WAVeform:DATA?")
    volts = np.array([float(v) for v in payload.decode("ascii").split(",")])
    assert len(volts) == 15_625 and volts.mean() == pytest.approx(12.0, abs=0.005)
    assert client.ask(":MEASure:ITEM? FREQuency,CHANnel2") == "9.9E37"


def run_capture(seed: int) -> bytes:
    clock, scope = make_scope(seed)
    with served(scope, clock) as (_, client):
        single_capture(clock, client)
        client.write(":WAVeform:MODE RAW;:WAVeform:FORMat BYTE;:WAVeform:STARt 1;:WAVeform:STOP 120000")
        return client.ask(":WAVeform:PREamble?").encode() + client.ask_block(":WAVeform:DATA?")[1]


def test_two_runs_give_identical_bytes():
    assert run_capture(1) == run_capture(1)
    assert run_capture(1) != run_capture(2)
