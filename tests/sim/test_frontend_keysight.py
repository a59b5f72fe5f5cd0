"""The simulated Keysight InfiniiVision scope through a real socket, under virtual time.

Reply formats as docs/instruments.md §1 shows them; acquisitions that finish only once bench
time has passed the capture window; waveform blocks that convert back to the fake CP
signal's levels and duty with the preamble.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from bench.core.clock import VirtualClock
from instruments.sim.frontends.keysight_scope import KeysightScopeFrontEnd
from tests.sim.fakes import Constant, FakePlant, Pwm, advance, served

IDENTITY = ("KEYSIGHT TECHNOLOGIES", "DSOX3024T", "SIM-SCOPE-1", "07.50.2021102830")
NR3 = r"^[+-]\d\.\d+E[+-]\d{2}$"
HIGH, LOW, DUTY, FREQUENCY = 9.0, -12.0, 0.10, 1000.0
FIRST_EDGE = 0.0003  # the fake CP rises through its middle at 0.3 ms + k ms
KEEP_S = 120.0  # the real plant's history bound


def make_scope(seed: int = 1, points: int = 100_000):
    clock = VirtualClock()
    plant = FakePlant(
        Pwm("cp", HIGH, LOW, FREQUENCY, DUTY, t0=FIRST_EDGE), Constant("aux_voltage", 12.0), clock=clock, keep_s=KEEP_S
    )
    scope = KeysightScopeFrontEnd(
        "scope", clock, IDENTITY, {1: "cp", 2: "aux_voltage"}, np.random.default_rng(seed), plant=plant, points=points
    )
    return clock, scope


@pytest.fixture
def bench():
    clock, scope = make_scope()
    with served(scope, clock) as (hub, client):
        yield clock, client, hub


def setup_cp_capture(client) -> None:
    """5 V/div around -1.5 V (the whole CP swing on screen), 1 ms/div: 10 PWM periods."""
    client.write(":CHANnel1:SCALe 5;OFFSet -1.5;:TIMebase:SCALe 1E-3;POSition 0")
    client.write(":TRIGger:EDGE:SOURce CHAN1;LEVel 0;SLOPe POSitive")


def capture(clock, client) -> None:
    setup_cp_capture(client)
    client.write(":SINGle")
    advance(clock, client, 0.011)
    assert client.ask(":OPERegister:CONDition?") == "+0"


def read_word(client) -> tuple[list[str], np.ndarray, np.ndarray]:
    client.write(":WAVeform:SOURce CHAN1;FORMat WORD;BYTeorder LSBFirst;UNSigned 1;POINts:MODE RAW")
    client.write(":WAVeform:POINts MAXimum")
    preamble = client.ask(":WAVeform:PREamble?").split(",")
    header, payload = client.ask_block(":WAVeform:DATA?")
    codes = np.frombuffer(payload, dtype="<u2")
    return preamble, header, codes


def to_volts(codes: np.ndarray, preamble: list[str]) -> np.ndarray:
    yincrement, yorigin, yreference = float(preamble[7]), float(preamble[8]), int(preamble[9])
    return (codes.astype(float) - yreference) * yincrement + yorigin


def test_identity_and_error_queue(bench):
    _, client, _ = bench
    assert client.ask("*IDN?") == ",".join(IDENTITY)
    client.write(":BOGus:COMMand 1")
    client.write(":CHANnel7:SCALe 1")  # a 4-channel scope has no channel 7
    assert client.ask(":SYSTem:ERRor?") == '-113,"Undefined header"'
    assert client.ask(":SYST:ERR?") == '-113,"Undefined header"'
    assert client.ask(":SYSTem:ERRor?") == '+0,"No error"'


def test_settings_read_back_in_the_manual_formats(bench):
    _, client, _ = bench
    client.write(":CHANnel1:SCALe 2;PROBe 10;COUPling AC")
    assert client.ask(":CHANnel1:SCALe?") == "+2.000000E+00"
    assert client.ask(":CHAN1:PROB?;COUP?") == "+1.000000E+01;AC"
    client.write(":TIMebase:RANGe 1E-2")
    assert client.ask(":TIMebase:SCALe?") == "+1.000000E-03"
    # *RST state [C]: BYTE, MSBF, unsigned, 1000 points, CHAN1; sweep AUTO, edge on CHAN1, positive
    client.write("*RST")
    assert client.ask(":WAV:FORM?;BYT?;UNS?;POIN?;SOUR?") == "BYTE;MSBF;1;+1000;CHAN1"
    assert client.ask(":TRIGger:SWEep?;:TRIGger:SOURce?;:TRIGger:SLOPe?;:TRIGger:MODE?") == "AUTO;CHAN1;POS;EDGE"
    assert client.ask(":ACQuire:POINts?") == "+100000"
    client.write(":TRIGger:LEVel 1.5,CHAN2")
    assert client.ask(":TRIGger:LEVel? CHAN2") == "+1.500000E+00"
    assert client.ask(":TRIGger:LEVel?") == "+0.000000E+00"  # CHAN1 keeps its own level
    client.write(":WAVeform:FORMat ASCii;POINts:MODE MAXimum")
    assert client.ask(":WAV:FORM?;POIN:MODE?") == "ASC;MAX"
    client.write(":ACQuire:TYPE AVERage;COUNt 16;:TIMebase:MODE MAIN")
    assert client.ask(":ACQuire:TYPE?;COUNt?;:TIMebase:MODE?") == "AVER;+16;MAIN"
    assert client.ask(":WAVeform:PREamble?").split(",")[:4] == ["+4", "+2", "+1000", "+16"]
    assert client.ask(":SYST:ERR?") == '+0,"No error"'


def test_single_acquisition_completes_only_after_the_capture_window(bench):
    clock, client, _ = bench
    setup_cp_capture(client)
    client.ask(":TER?")  # clear a stale trigger flag
    client.write(":SINGle")
    assert client.ask(":TRIGger:SWEep?") == "NORM"  # [C] :SINGle forces NORMal
    assert client.ask(":OPERegister:CONDition?") == "+8"  # running, filling the 5 ms pre-trigger part
    advance(clock, client, 0.0051)
    assert client.ask(":OPERegister:CONDition?") == "+40"  # armed, waiting (next edge at 5.3 ms)
    assert client.ask(":AER?") == "+1"
    assert client.ask(":AER?") == "+0"  # cleared when read
    assert client.ask(":TER?") == "+0"
    advance(clock, client, 0.0049)  # t = 10 ms: triggered at 5.3 ms, post-trigger part ends at 10.3 ms
    assert client.ask(":OPERegister:CONDition?") == "+8"
    assert client.ask(":TER?") == "+1"
    assert client.ask(":TER?") == "+0"
    advance(clock, client, 0.0004)
    assert client.ask(":OPERegister:CONDition?") == "+0"
    assert client.ask(":OPER:COND?") == "+0"  # reading does not clear it


def test_word_block_and_preamble_give_back_the_signal(bench):
    clock, client, _ = bench
    capture(clock, client)
    preamble, header, codes = read_word(client)
    assert len(preamble) == 10
    assert preamble[:4] == ["+1", "+0", "+100000", "+1"]
    assert float(preamble[4]) == pytest.approx(1e-7)  # 10 div × 1 ms / 100 000
    assert float(preamble[5]) == pytest.approx(-5e-3)  # first point 5 div before the trigger
    assert preamble[6] == "+0" and preamble[9] == "+32768"
    assert float(preamble[7]) == pytest.approx(8 * 5 / 65536)
    assert float(preamble[8]) == pytest.approx(-1.5)
    assert header == b"#800200000"
    assert len(codes) == 100_000
    assert not np.any(codes & 0x000F)  # 12 significant bits, left-justified
    volts = to_volts(codes, preamble)
    times = np.arange(len(volts)) * float(preamble[4]) + float(preamble[5])
    assert np.median(volts[volts > 0]) == pytest.approx(HIGH, abs=0.02)
    assert np.median(volts[volts < 0]) == pytest.approx(LOW, abs=0.02)
    assert np.mean(volts > (HIGH + LOW) / 2) == pytest.approx(DUTY, abs=0.002)
    # the trigger (t = 0) sits on a rising edge through 0 V
    assert volts[np.searchsorted(times, -2e-6)] < -1 and volts[np.searchsorted(times, 2e-6)] > 1
    assert float(client.ask(":MEASure:DUTYcycle? CHAN1")) == pytest.approx(100 * DUTY, abs=0.05)
    assert float(client.ask(":MEASure:FREQuency? CHAN1")) == pytest.approx(FREQUENCY, rel=1e-3)
    assert float(client.ask(":MEASure:PERiod? CHAN1")) == pytest.approx(1 / FREQUENCY, rel=1e-3)
    assert float(client.ask(":MEASure:VTOP? CHAN1")) == pytest.approx(HIGH, abs=0.05)
    assert float(client.ask(":MEASure:VBASe? CHAN1")) == pytest.approx(LOW, abs=0.05)
    assert float(client.ask(":MEASure:VPP? CHAN1")) == pytest.approx(HIGH - LOW, abs=0.2)
    assert float(client.ask(":MEASure:VMAX? CHAN1")) == pytest.approx(HIGH, abs=0.15)
    assert float(client.ask(":MEASure:VMIN? CHAN1")) == pytest.approx(LOW, abs=0.15)
    assert client.ask(":MEASure:VTOP? CHAN1") != client.ask(":MEASure:VMAX? CHAN1")


def test_force_trigger_captures_a_flat_dc_level(bench):
    clock, client, _ = bench
    client.write(":CHANnel2:SCALe 2;OFFSet 12;:TIMebase:SCALe 5E-4")
    client.write(":TRIGger:SOURce CHAN2;:TRIGger:LEVel 5;:TRIGger:SLOPe POS")
    client.write(":SINGle")
    advance(clock, client, 1.0)
    assert client.ask(":OPERegister:CONDition?") == "+40"  # NORMal sweep: no edge, no trigger
    assert client.ask(":AER?") == "+1"
    client.write(":TRIGger:FORCe")
    assert client.ask(":OPERegister:CONDition?") == "+8"
    advance(clock, client, 0.003)
    assert client.ask(":OPERegister:CONDition?") == "+0"
    assert client.ask(":TER?") == "+1"
    client.write(":WAVeform:SOURce CHAN2;FORMat BYTE;POINts:MODE RAW;:WAVeform:POINts MAX")
    preamble = client.ask(":WAVeform:PREamble?").split(",")
    header, payload = client.ask_block(":WAVeform:DATA?")
    assert header == b"#800100000" and preamble[0] == "+0" and preamble[9] == "+128"
    volts = to_volts(np.frombuffer(payload, dtype="u1"), preamble)
    assert volts.mean() == pytest.approx(12.0, abs=0.01)
    assert client.ask(":MEASure:FREQuency? CHAN2") == "+9.9E+37"  # no edge to measure
    assert float(client.ask(":MEASure:VTOP? CHAN2")) == pytest.approx(12.0, abs=0.07)


def test_clipped_points_get_the_clipping_codes(bench):
    clock, client, _ = bench
    setup_cp_capture(client)
    client.write(":CHANnel1:SCALe 1;OFFSet 0")  # screen ±4 V: the CP swing leaves it both ways
    client.write(":SINGle")
    advance(clock, client, 0.011)
    _, _, codes = read_word(client)
    assert {0x0001, 0xFFFF} <= set(np.unique(codes).tolist())
    assert not np.any(codes == 0)  # no holes
    client.write(":WAVeform:FORMat BYTE")
    _, payload = client.ask_block(":WAVeform:DATA?")
    assert {0x01, 0xFF} <= set(payload)
    assert client.ask(":MEASure:VMAX? CHAN1") == "+9.9E+37"
    assert client.ask(":MEASure:VMIN? CHAN1") == "+9.9E+37"
    assert float(client.ask(":MEASure:FREQuency? CHAN1")) == pytest.approx(FREQUENCY, rel=1e-3)


def test_byte_ascii_and_signed_words_agree_with_unsigned_words(bench):
    clock, client, _ = bench
    capture(clock, client)
    preamble, _, codes = read_word(client)
    words = to_volts(codes, preamble)
    client.write(":WAVeform:POINts 1000")  # decimated: every 100th point
    assert client.ask(":WAVeform:POINts?") == "+1000"
    for fmt, dtype in (("BYTE", "u1"), ("ASCii", None)):
        client.write(f":WAVeform:FORMat {fmt}")
        pre = client.ask(":WAVeform:PREamble?").split(",")
        assert pre[2] == "+1000" and float(pre[4]) == pytest.approx(1e-5)
        _, payload = client.ask_block(":WAVeform:DATA?")
        if dtype:
            volts = to_volts(np.frombuffer(payload, dtype=dtype), pre)
            tolerance = float(pre[7])
        else:
            volts = np.array([float(v) for v in payload.decode("ascii").split(",")])
            tolerance = 1e-5
        assert volts == pytest.approx(words[::100], abs=tolerance)
    client.write(":WAVeform:FORMat WORD;BYTeorder MSBFirst;UNSigned 0;:WAVeform:POINts MAX")
    pre = client.ask(":WAVeform:PREamble?").split(",")
    assert pre[9] == "+0"
    _, payload = client.ask_block(":WAVeform:DATA?")
    assert to_volts(np.frombuffer(payload, dtype=">i2"), pre) == pytest.approx(words, abs=1e-9)


def test_a_finished_record_outlives_the_plants_history(bench):
    clock, client, _ = bench
    capture(clock, client)  # completion seen at 11 ms
    advance(clock, client, 2 * KEEP_S)  # the plant has forgotten that stretch by now
    _, header, codes = read_word(client)
    assert header == b"#800200000"
    assert float(client.ask(":MEASure:DUTYcycle? CHAN1")) == pytest.approx(100 * DUTY, abs=0.05)


def test_no_record_gives_an_empty_block_and_an_error(bench):
    _, client, _ = bench
    client.write("*RST;:STOP")  # stopped before any acquisition was complete
    header, payload = client.ask_block(":WAVeform:DATA?")
    assert (header, payload) == (b"#800000000", b"")
    assert client.ask(":SYSTem:ERRor?") == '-230,"Data corrupt or stale"'
    assert client.ask(":MEASure:VMAX? CHAN1") == "+9.9E+37"


def test_auto_sweep_run_and_stop_keeps_the_latest_record(bench):
    clock, client, _ = bench
    client.write(":CHANnel2:SCALe 2;OFFSet 12;:TRIGger:SOURce CHAN2;:TRIGger:SWEep AUTO;:RUN")
    advance(clock, client, 0.2)
    assert client.ask(":OPERegister:CONDition?") == "+8"  # running, auto-triggering: not waiting
    client.write(":STOP")
    assert client.ask(":OPERegister:CONDition?") == "+0"
    assert float(client.ask(":MEASure:VAVerage? DISPlay,CHAN2")) == pytest.approx(12.0, abs=0.01)


def run_capture(seed: int) -> tuple[str, bytes]:
    clock, scope = make_scope(seed)
    with served(scope, clock) as (_, client):
        capture(clock, client)
        preamble, _, codes = read_word(client)
    return ",".join(preamble), codes.tobytes()


def test_two_runs_give_identical_bytes():
    first, second = run_capture(seed=1), run_capture(seed=1)
    assert first == second
    assert run_capture(seed=2)[1] != first[1]  # the noise is there, and it is the seed's


def test_a_100k_point_word_capture_is_fast(bench):
    clock, client, _ = bench
    capture(clock, client)
    client.write(":WAVeform:SOURce CHAN1;FORMat WORD;POINts:MODE RAW;:WAVeform:POINts MAX")
    start = time.perf_counter()
    _, payload = client.ask_block(":WAVeform:DATA?")  # synthesis, noise, coding and transfer
    elapsed = time.perf_counter() - start
    assert len(payload) == 200_000
    print(f"\n100 k-point WORD capture: {elapsed * 1e3:.1f} ms")  # a figure, not a timed assertion


def test_nothing_in_flight_once_answers_are_sent(bench):
    _, client, hub = bench
    for _ in range(20):
        client.ask(":OPERegister:CONDition?")
    deadline = time.monotonic() + 1.0  # the hub counts down just after its send returns
    while hub.in_flight() and time.monotonic() < deadline:
        time.sleep(0.001)
    assert hub.in_flight() == 0


def test_pyvisa_reads_the_word_block():
    pyvisa = pytest.importorskip("pyvisa")
    clock, scope = make_scope()
    with served(scope, clock) as (hub, client):
        capture(clock, client)
        client.write(":WAVeform:SOURce CHAN1;FORMat WORD;BYTeorder LSBFirst;POINts:MODE RAW;:WAVeform:POINts MAX")
        manager = pyvisa.ResourceManager("@py")
        instrument = manager.open_resource(
            f"TCPIP0::127.0.0.1::{client.port}::SOCKET", read_termination="\n", write_termination="\n", timeout=5000
        )
        try:
            values = instrument.query_binary_values(
                ":WAVeform:DATA?", datatype="H", is_big_endian=False, container=np.array
            )
            assert instrument.query(":SYSTem:ERRor?") == '+0,"No error"'
        finally:
            instrument.close()
            manager.close()
        _, _, codes = read_word(client)
    assert np.array_equal(values, codes)
