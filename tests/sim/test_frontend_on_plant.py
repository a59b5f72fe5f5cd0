"""The front ends on the real simulated plant (not the fakes): the contract of ports.py holds
both ways — the instruments act through the ports and read the plant's signals."""

from __future__ import annotations

import numpy as np
import pytest

from instruments.sim.frontends.chroma_61800 import Chroma61800FrontEnd
from instruments.sim.frontends.itech_it6000c import ItechIT6000CFrontEnd
from instruments.sim.frontends.keysight_scope import KeysightScopeFrontEnd
from instruments.sim.frontends.yokogawa_wt import YokogawaWTFrontEnd
from tests.sim.fakes import advance, served
from tests.sim.plant_helpers import ac_plant, charging_ac, dc_plant, energise_dc


def test_ac_pile_cp_and_output_seen_by_scope_and_analyzer():
    clock, plant = ac_plant()
    rng = np.random.default_rng(7)
    Chroma61800FrontEnd(
        "grid",
        clock,
        ("Chroma", "61845", "S", "1"),
        {1: plant.grid},
        rng,
        plant=plant,
        power_on_voltage=220.0,
        power_on_output=True,
    )
    charging_ac(clock, plant, amps=16)
    scope = KeysightScopeFrontEnd(
        "scope", clock, ("KEYSIGHT TECHNOLOGIES", "DSOX3024T", "S", "1"), {1: "cp", 2: "ac_voltage"}, rng, plant=plant
    )
    with served(scope, clock) as (_, client):
        client.write(":CHANnel1:SCALe 5;OFFSet -1.5;:TIMebase:SCALe 1E-3;:TRIGger:SOURce CHAN1;LEVel 0")
        client.write(":SINGle")
        advance(clock, client, 0.02)
        assert client.ask(":OPERegister:CONDition?") == "+0"
        assert float(client.ask(":MEASure:DUTYcycle? CHAN1")) == pytest.approx(16 / 0.6, abs=0.1)
        assert float(client.ask(":MEASure:FREQuency? CHAN1")) == pytest.approx(1000.0, rel=1e-3)
    analyzer = YokogawaWTFrontEnd(
        "analyzer", clock, ("YOKOGAWA", "WT5000", "S", "1"), {1: ("ac_voltage", "ac_current")}, rng, plant=plant
    )
    with served(analyzer, clock) as (_, client):
        client.write(":COMMunicate:HEADer OFF;:NUMeric:NUMber 3")
        advance(clock, client, 0.5)
        u, i, p = (float(v) for v in client.ask(":NUMeric:VALue?").split(","))
        assert u == pytest.approx(220.0, rel=1e-3)
        assert 0 < i <= 16.0 and p == pytest.approx(u * i, rel=1e-2)


def test_battery_simulator_sinks_the_chargers_current():
    clock, plant = dc_plant()
    supply = ItechIT6000CFrontEnd(
        "battery",
        clock,
        ("ITECH Electronics", "IT6054C-800-225", "S", "1"),
        {1: plant.battery},
        np.random.default_rng(7),
        current_max=450.0,
        power_max=110160.0,
    )
    with served(supply, clock) as (_, client):
        client.write("SYST:REM;OUTP OFF;FUNC:MODE FIXED;FUNC VOLT;VOLT 500;CURR:LIM 5;CURR:LIM:NEG -200;:OUTP ON")
        assert client.ask("SYST:ERR?") == '+0,"No error"'
        energise_dc(clock, plant)
        plant.set_demand(650.0, 100.0, "cc")
        advance(clock, client, 3.0)
        volts, amps = float(client.ask("MEAS:VOLT?")), float(client.ask("MEAS:CURR?"))
        assert amps == pytest.approx(-100.0, abs=0.5)  # sinking what the charger pushes in
        assert volts == pytest.approx(500.0, abs=10.0)
        assert float(client.ask("MEAS:POW?")) == pytest.approx(volts * amps, rel=1e-3)
        assert client.ask("STAT:OPER:COND?") == "256"  # holding its voltage (CV)
