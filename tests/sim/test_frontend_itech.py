"""The simulated ITECH IT6000C battery simulator through a real socket."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.clock import VirtualClock
from instruments.sim.frontends.itech_it6000c import ItechIT6000CFrontEnd
from tests.sim.fakes import FakeBatteryPort, served

IDENTITY = ("ITECH Electronics", "IT6054C-800-225", "SIM-BATT-1", "000.006.101")


@pytest.fixture
def bench():
    clock, port = VirtualClock(), FakeBatteryPort()
    supply = ItechIT6000CFrontEnd("battery", clock, IDENTITY, {1: port}, np.random.default_rng(1))
    with served(supply, clock) as (_, client):
        yield clock, client, port


def battery_setup(client) -> None:
    client.write("SYST:REM;OUTP OFF;FUNC:MODE FIXED;FUNC VOLT;VOLT 400;CURR:LIM 5;CURR:LIM:NEG -150")
    client.write("POW:LIM:NEG -55000")


def test_six_field_identity_and_error_queue(bench):
    _, client, _ = bench
    assert client.ask("*IDN?") == "ITECH Electronics,IT6054C-800-225,SIM-BATT-1,000.006.101,640.R,132.R"
    client.write("BOGUS")
    assert client.ask("SYST:ERR?") == '-113,"Undefined header"'
    assert client.ask("SYST:ERR?") == '+0,"No error"'


def test_battery_simulator_sequence_reaches_the_port(bench):
    _, client, port = bench
    battery_setup(client)
    assert client.ask("SYST:ERR?") == '+0,"No error"'
    assert port.last("set_priority") == ("voltage",)
    assert port.last("set_voltage") == (400.0,)
    assert port.last("set_current_limits") == (5.0, -150.0)
    assert port.last("set_power_limits") == (55080.0, -55000.0)
    assert port.last("set_output") == (False,)
    assert client.ask("FUNC?") == "VOLT" and client.ask("FUNC:MODE?") == "FIXED"
    assert client.ask("VOLT?") == "400" and client.ask("CURR:LIM:NEG?") == "-150"
    assert client.ask("CURR?") == client.ask("CURR:LIM?") == "5"  # the same register in CV
    client.write("OUTP ON")
    client.sync()
    assert port.last("set_output") == (True,) and client.ask("OUTP?") == "1"


def test_write_rules_follow_the_priority(bench):
    _, client, port = bench
    battery_setup(client)
    client.write("VOLT:LIM 500")  # only in CC priority
    assert client.ask("SYST:ERR?") == '-221,"Settings conflict"'
    client.write("CURR:LIM:NEG 50")  # the sink limit is a negative number
    assert client.ask("SYST:ERR?") == '-222,"Data out of range"'
    client.write("FUNC CURR")  # the voltage setpoint becomes the CC voltage limit
    assert client.ask("VOLT:LIM?") == "400" and client.ask("VOLT?") == "400"
    assert port.last("set_priority") == ("current",)
    client.write("CURR -20")
    client.sync()
    assert port.last("set_current") == (-20.0,) and client.ask("CURR?") == "-20"
    client.write("CURR:LIM 10")  # only in CV priority
    assert client.ask("SYST:ERR?") == '-221,"Settings conflict"'
    client.write("FUNC VOLT")  # a sinking CC setpoint becomes the sink limit
    assert client.ask("CURR:LIM:NEG?") == "-20"


def test_readings_are_the_terminals_negative_when_sinking(bench):
    _, client, port = bench
    battery_setup(client)
    client.write("OUTP ON")
    port.voltage, port.current, port.regulation = 401.2, -120.5, {"cc-"}
    assert float(client.ask("MEAS:VOLT?")) == pytest.approx(401.2, abs=0.005)
    assert float(client.ask("MEAS:CURR?")) == pytest.approx(-120.5, abs=0.005)
    assert float(client.ask("MEAS:POW?")) == pytest.approx(-401.2 * 120.5, abs=0.5)
    assert float(client.ask("FETC:CURR?")) == pytest.approx(-120.5, abs=0.005)
    assert client.ask("STAT:OPER:COND?") == "2048"  # sink current limit
    port.regulation = {"cv"}
    assert client.ask("STAT:OPER:COND?") == "256"


def test_over_voltage_protection_trips_latches_and_clears(bench):
    clock, client, port = bench
    battery_setup(client)
    client.write("VOLT:PROT 450;VOLT:PROT:STAT ON;VOLT:PROT:DEL 0.1;:OUTP ON")
    port.voltage = 460.0
    assert client.ask("STAT:QUES:COND?") == "0"  # not yet for its delay
    clock.sleep(0.2)
    assert client.ask("OUTP?") == "0"
    assert port.last("set_output") == (False,)
    assert client.ask("STAT:QUES:COND?") == str(1 + 8192)  # OVP + protection
    client.write("OUTP ON")
    assert client.ask("SYST:ERR?") == '-221,"Settings conflict"'
    port.voltage = 400.0
    client.write("OUTP:PROT:CLE;:OUTP ON")
    assert client.ask("STAT:QUES:COND?") == "0" and client.ask("OUTP?") == "1"
