"""The simulated Chroma 61800 AC source through a real socket."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from bench.core.clock import VirtualClock
from instruments.sim.frontends.chroma_61800 import Chroma61800FrontEnd
from tests.sim.fakes import FakeAcPort, FakePlant, advance, served, sine

IDENTITY = ("Chroma", "61845", "SIM-GRID-1", "1.00")


@pytest.fixture
def bench():
    clock, port = VirtualClock(), FakeAcPort()
    # the grid the pile sees: 229.5 V (not what was commanded), 30 A lagging by 10°
    plant = FakePlant(
        sine("supply_voltage", 229.5),
        sine("supply_current", 30.0, phase_deg=-10.0, unit="A"),
        clock=clock,
        keep_s=120.0,
    )
    source = Chroma61800FrontEnd("grid", clock, IDENTITY, {1: port}, np.random.default_rng(1), plant=plant)
    with served(source, clock) as (_, client):
        yield clock, client, port


def test_identity_and_error_queue(bench):
    _, client, _ = bench
    assert client.ask("*IDN?") == ",".join(IDENTITY)
    client.write("SOUR:BOGUS 1")
    assert client.ask("SYST:ERR?") == '-113,"Undefined header"'
    client.write("BOGUS:FREQuency 50")  # wrong by itself: not taken from the root
    assert client.ask("SYST:ERR?") == '-113,"Undefined header"'
    assert client.ask("SYST:ERR?") == '+0,"No error"'


def test_level_needs_its_range_in_the_same_message(bench):
    _, client, port = bench
    client.write("VOLT:AC 220")  # LOW range (0-150 V) after power-up
    assert client.ask("SYST:ERR?") == '-222,"Data out of range"'
    assert client.ask("VOLT:AC?") == "0.00" and port.last("set_voltage") == (0.0,)
    client.write("VOLT:AC 220;VOLT:RANG HIGH")
    assert client.ask("SYST:ERR?") == '+0,"No error"'
    assert client.ask("VOLT:AC?;:VOLT:RANG?") == "220.00;HIGH"
    assert port.last("set_voltage") == (220.0,)
    client.write("VOLT:RANG LOW")  # 220 V does not fit LOW: nothing changes
    assert client.ask("SYST:ERR?") == '-222,"Data out of range"'
    assert client.ask("VOLT:RANG?") == "HIGH"
    client.write("SOURce:VOLTage:LEVel:IMMediate:AMPLitude:AC 230")
    client.sync()
    assert port.last("set_voltage") == (230.0,)


def test_frequency_current_limit_and_output_reach_the_port(bench):
    _, client, port = bench
    client.write("FREQ 50;CURR:LIM 40;OUTP ON")
    assert client.ask("SYST:ERR?") == '+0,"No error"'
    assert port.last("set_frequency") == (50.0,) and port.last("set_current_limit") == (40.0,)
    assert port.last("set_output") == (True,)
    assert client.ask("FREQ?;CURR:LIM?;:OUTP?") == "50.00;40.000;ON"
    client.write("FREQ 5")
    assert client.ask("SYST:ERR?") == '-222,"Data out of range"'
    client.write("OUTPut:STATe OFF")
    client.sync()
    assert port.last("set_output") == (False,)


def test_measurements_come_from_the_supply_signals(bench):
    clock, client, _ = bench
    client.write("VOLT:AC 220;VOLT:RANG HIGH;:OUTP ON")
    advance(clock, client, 1.0)
    replies = {
        q: client.ask(q)
        for q in (
            "MEAS:VOLT:ACDC?",
            "FETC:VOLT:ACDC?",
            "MEAS:CURR:AC?",
            "MEAS:POW:AC?",
            "MEAS:POW:AC:APP?",
            "MEAS:POW:AC:PFAC?",
            "MEAS:FREQ?",
        )
    }
    assert all(re.fullmatch(r"-?\d+\.\d{2,3}", r) for r in replies.values()), replies
    assert float(replies["MEAS:VOLT:ACDC?"]) == pytest.approx(229.5, abs=0.1)
    assert float(replies["FETC:VOLT:ACDC?"]) == pytest.approx(229.5, abs=0.1)
    assert float(replies["MEAS:CURR:AC?"]) == pytest.approx(30.0, abs=0.01)
    assert float(replies["MEAS:POW:AC?"]) == pytest.approx(229.5 * 30 * math.cos(math.radians(10)), rel=1e-3)
    assert float(replies["MEAS:POW:AC:APP?"]) == pytest.approx(229.5 * 30, rel=1e-3)
    assert float(replies["MEAS:POW:AC:PFAC?"]) == pytest.approx(math.cos(math.radians(10)), abs=0.002)
    assert replies["MEAS:FREQ?"] == "50.00"
