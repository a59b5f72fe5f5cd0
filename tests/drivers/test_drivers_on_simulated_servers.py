"""Each SCPI driver against its simulated server: the same driver code a lab runs, over
pyvisa-py on loopback, talking to a front end written independently from docs/instruments.md.

The transcripts (test_*_transcript-style tests beside this file) pin the wire format from the
manual; these tests show that driver and simulator, each following the manual, agree — and
that the error-queue path works end to end (the simulator queues the instrument's own error,
the driver raises it with the command that caused it).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest

from bench.analysis.pwm import analyse_pwm
from bench.core.clock import VirtualClock
from bench.core.errors import InstrumentError
from instruments import registry
from instruments.sim.frontends.chroma_61800 import Chroma61800FrontEnd
from instruments.sim.frontends.chroma_63200a import Chroma63200AFrontEnd
from instruments.sim.frontends.itech_it6000c import ItechIT6000CFrontEnd
from instruments.sim.frontends.keysight_scope import KeysightScopeFrontEnd
from instruments.sim.frontends.rigol_scope import RigolScopeFrontEnd
from instruments.sim.frontends.yokogawa_wt import YokogawaWTFrontEnd
from instruments.sim.hub import SocketHub
from tests.sim.fakes import Constant, FakeAcPort, FakeBatteryPort, FakeLoadPort, FakePlant, Pwm, sine
from tests.support.transcript import instrument_config

IDENTITY = {
    "keysight-infiniivision": ("KEYSIGHT TECHNOLOGIES", "DSOX3024T", "MY1", "1.0"),
    "rigol-ds": ("RIGOL TECHNOLOGIES", "DS1104Z", "DS1ZA1", "00.04"),
    "yokogawa-wt": ("YOKOGAWA", "WT5000", "91T1", "F1.0"),
    "chroma-63200a": ("Chroma", "63210A-1200-1200", "632", "1.0"),
    "itech-it6000c": ("ITECH Electronics", "IT6054C-800-225", "604", "1.0"),
    "chroma-61800": ("Chroma", "61845", "618", "1.0"),
}


@contextmanager
def driver_on(driver_name: str, make_front_end, role: str, **config):
    """Serve ``make_front_end(clock)`` and open the named driver on it."""
    clock = VirtualClock(epoch=1_767_574_800.0)
    front_end = make_front_end(clock)
    hub = SocketHub(clock)
    port = hub.serve(front_end)
    hub.start()
    driver = registry.driver_class(driver_name)(
        instrument_config(role, driver_name, f"TCPIP0::127.0.0.1::{port}::SOCKET", **config), clock
    )
    try:
        driver.open()
        yield driver, front_end, clock
    finally:
        driver.close()
        hub.stop()
    assert hub.errors == [], hub.errors


def rng():
    return np.random.default_rng(7)


@pytest.mark.parametrize(
    "name, cls", [("keysight-infiniivision", KeysightScopeFrontEnd), ("rigol-ds", RigolScopeFrontEnd)]
)
def test_scope_captures_a_cp_pwm_and_a_forced_dc_level(name, cls):
    plant = FakePlant(Pwm("cp", 9.0, -12.0, 1000.0, 0.267), Constant("aux", 12.0))
    make = lambda clock: cls(
        "scope", clock, IDENTITY[name], {1: "cp", 2: "aux"}, rng(), plant=plant, points=100_000, noise_v=0.02
    )
    with driver_on(name, make, "scope") as (scope, _, clock):
        assert scope.identity.model == IDENTITY[name][1]
        scope.configure_channel(1, 4.0)
        scope.configure_channel(2, 4.0, 8.0)
        scope.configure_timebase(1e-3, 4e-3)
        scope.configure_trigger(1, 0.0, "rising")
        start = clock.now()
        records = scope.capture([1], timeout_s=2.0)
        assert clock.now() > start, "the acquisition was polled through the bench clock"
        pwm = analyse_pwm(records[1].times, records[1].volts)
        assert pwm.frequency_hz == pytest.approx(1000.0, rel=1e-3)
        assert pwm.duty_pct == pytest.approx(26.7, abs=0.1)
        assert pwm.high_v == pytest.approx(9.0, abs=0.2) and pwm.low_v == pytest.approx(-12.0, abs=0.2)

        scope.configure_trigger(2, 20.0, "rising")  # a steady 12 V never crosses 20 V
        forced = scope.capture([2], timeout_s=2.0, force_after_s=0.0)[2]
        assert forced.forced and forced.forced_at is not None
        assert np.nanmean(forced.volts) == pytest.approx(12.0, abs=0.2)

        with pytest.raises(InstrumentError, match=r"'?:BOGus:COMMand 1'? → -113"):
            scope.set(":BOGus:COMMand 1")


def test_power_analyzer_reads_ac_quantities_and_reports_over_range_as_invalid():
    plant = FakePlant(sine("ac_voltage", 220.0), sine("ac_current", 16.0), sine("big_current", 900.0), kind="ac")
    make = lambda clock: YokogawaWTFrontEnd(
        "analyzer",
        clock,
        IDENTITY["yokogawa-wt"],
        {1: ("ac_voltage", "ac_current"), 2: ("ac_voltage", "big_current")},
        rng(),
        plant=plant,
    )
    with driver_on("yokogawa-wt", make, "analyzer") as (wt, _, clock):
        clock.sleep(1.0)
        readings = wt.read_element(1, ac=True)
        assert readings["U"].value == pytest.approx(220.0, rel=2e-3)
        assert readings["I"].value == pytest.approx(16.0, rel=2e-3)
        assert readings["P"].value == pytest.approx(220.0 * 16.0, rel=5e-3)
        over = wt.read_element(2, ac=True)["I"]
        assert over.value is None and over.raw.upper().startswith("INF"), over


def test_dc_load_sinks_a_set_current_and_reads_its_terminals():
    port = FakeLoadPort()
    make = lambda clock: Chroma63200AFrontEnd("load", clock, IDENTITY["chroma-63200a"], {1: port}, rng())
    with driver_on("chroma-63200a", make, "load", rating={"current_a": (0, 1200), "voltage_v": (0, 1200)}) as (
        load,
        _,
        _,
    ):
        load.sink_current(80.0)
        load.set_input(True)
        assert port.last("set_mode") == ("cc",) and port.last("set_current") == (80.0,)
        assert port.last("set_input") == (True,)
        port.voltage, port.current = 551.0, 79.9
        volts, amps, watts = load.measure()
        assert volts == pytest.approx(551.0, rel=1e-3) and amps == pytest.approx(79.9, rel=1e-3)
        load.safe_off()
        assert port.last("set_input") == (False,)


def test_battery_simulator_holds_a_voltage_and_reads_a_sinking_current_negative():
    port = FakeBatteryPort()
    make = lambda clock: ItechIT6000CFrontEnd("battery", clock, IDENTITY["itech-it6000c"], {1: port}, rng())
    with driver_on("itech-it6000c", make, "battery") as (battery, _, _):
        battery.hold_voltage(400.0, 5.0, 150.0)
        battery.set_output(True)
        assert port.last("set_voltage") == (400.0,)
        assert port.last("set_current_limits") == (5.0, -150.0)
        port.voltage, port.current, port.regulation = 404.0, -120.0, {"cv"}
        volts, amps, watts = battery.measure()
        assert amps == pytest.approx(-120.0, rel=1e-3) and watts < 0
        assert battery.regulation() == {"cv"}


def test_grid_simulator_sets_the_supply_and_refuses_a_level_outside_its_rating():
    port = FakeAcPort()
    plant = FakePlant(sine("supply_voltage", 230.0), sine("supply_current", 10.0))
    make = lambda clock: Chroma61800FrontEnd("grid", clock, IDENTITY["chroma-61800"], {1: port}, rng(), plant=plant)
    with driver_on("chroma-61800", make, "grid", rating={"voltage_v": (0, 300)}) as (grid, front_end, clock):
        grid.set_supply(230.0, 50.0)
        grid.set_output(True)
        assert port.last("set_voltage") == (230.0,) and port.last("set_output") == (True,)
        clock.sleep(0.5)
        assert grid.measure()["voltage_v"] == pytest.approx(230.0, rel=2e-3)
        sent = len(front_end.log)
        with pytest.raises(Exception, match="refused"):
            grid.set_supply(320.0, 50.0)
        assert len(front_end.log) == sent, "a refused setpoint sends nothing"
