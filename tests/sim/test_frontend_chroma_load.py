"""The simulated Chroma 63200A DC load through a real socket: settings reach the port,
readings come from the port's terminals."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bench.core.clock import VirtualClock
from instruments.sim.frontends.chroma_63200a import Chroma63200AFrontEnd
from tests.sim.fakes import FakeLoadPort, served

IDENTITY = ("Chroma", "63210A-1200-1200", "SIM-LOAD-1", "01.00")
NR2 = re.compile(r"^-?\d+\.\d{4}$")


@pytest.fixture
def bench():
    clock, port = VirtualClock(), FakeLoadPort()
    load = Chroma63200AFrontEnd("load", clock, IDENTITY, {1: port}, np.random.default_rng(1))
    with served(load, clock) as (_, client):
        yield client, port


def test_identity_and_error_queue(bench):
    client, port = bench
    assert client.ask("*IDN?") == ",".join(IDENTITY)
    client.write("BOGUS:COMMAND 1")
    assert client.ask("SYST:ERR?") == '-113,"Undefined header"'
    assert client.ask(":SYST:ERR?") == '+0,"No error"'
    assert port.last("set_input") == (False,)  # powers up with the input off


def test_modes_from_the_table(bench):
    client, port = bench
    client.write("MODE CCH")
    assert client.ask("MODE?") == "CCH"
    assert port.last("set_mode") == ("cc",)
    client.write("MODE CVM")
    assert client.ask("MODE?") == "CVM" and port.last("set_mode") == ("cv",)
    client.write("MODE CRL")  # in the table, but this simulation sinks only CC or CV
    assert client.ask("MODE?") == "CRL"
    client.write("LOAD ON")
    assert client.ask("SYST:ERR?") == '-221,"Settings conflict"'
    assert client.ask("LOAD?") == "0"
    client.write("MODE CCX")
    assert client.ask("SYST:ERR?") == '-224,"Illegal parameter value"'


def test_constant_current_settings_reach_the_port_within_the_range(bench):
    client, port = bench
    client.write("MODE CCL")
    assert client.ask("CURR:STAT:L1? MAX") == "120.0000"  # L range: 1/10 of 1200 A
    client.write("CURRent:STATic:L1 150")
    assert client.ask("SYST:ERR?") == '-222,"Data out of range"'
    assert client.ask("CURR:STAT:L1?") == "0.0000" and port.last("set_current") == (0.0,)
    client.write("MODE CCH;CURR:STAT:L1 150;CURR:STAT:RISE 2.5;:LOAD ON")
    assert client.ask("SYST:ERR?") == '+0,"No error"'
    assert client.ask("CURR:STAT:L1?") == "150.0000" and NR2.match(client.ask("CURR:STAT:RISE?"))
    assert port.last("set_current") == (150.0,) and port.last("set_input") == (True,)
    assert client.ask("LOAD?") == "1"
    client.write("LOAD OFF")
    client.sync()
    assert port.last("set_input") == (False,) and client.ask("LOAD?") == "0"


def test_constant_voltage_settings_reach_the_port(bench):
    client, port = bench
    client.write("MODE CVH;VOLT:STAT:L1 500;VOLT:STAT:ILIM 100;:CONF:VOLT:ON 50")
    assert client.ask("SYST:ERR?") == '+0,"No error"'
    assert port.last("set_mode") == ("cv",)
    assert port.last("set_voltage") == (500.0,) and port.last("set_cv_current_limit") == (100.0,)
    assert client.ask("VOLT:STAT:L1?;ILIM?") == "500.0000;100.0000"
    assert client.ask("CONF:VOLT:ON?") == "50.0000"


def test_readings_come_from_the_terminals_not_the_setpoint(bench):
    client, port = bench
    client.write("MODE CCH;CURR:STAT:L1 150;:LOAD ON")
    client.sync()
    port.voltage, port.current = 512.34, 149.81  # what the circuit settles to
    volts, amps, watts = client.ask("MEAS:VOLT?"), client.ask("MEAS:CURR?"), client.ask("MEAS:POW?")
    assert all(NR2.match(v) for v in (volts, amps, watts))
    assert float(volts) == pytest.approx(512.34, abs=0.05)
    assert float(amps) == pytest.approx(149.81, abs=0.05)
    assert float(watts) == pytest.approx(512.34 * 149.81, abs=1.0)
    port.voltage = 498.0
    assert float(client.ask("FETC:VOLT?")) == pytest.approx(498.0, abs=0.05)
