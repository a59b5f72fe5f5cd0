"""Setpoints outside the instrument's or the DUT's range are refused before anything is
sent, with a message naming whose range it was (docs/design.md#safe-state)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bench.core.clock import VirtualClock
from bench.core.errors import SetpointRefused
from bench.core.profile import load_profile
from bench.session.guards import dut_guards
from instruments import registry
from instruments.sim.frontends.itech_it6000c import ItechIT6000CFrontEnd
from instruments.sim.hub import SocketHub
from tests.sim.fakes import FakeBatteryPort

PROFILE = load_profile("profiles/sim-dc-60kw.toml", registry.transports())


@pytest.fixture
def battery():
    clock = VirtualClock()
    port = FakeBatteryPort()
    front_end = ItechIT6000CFrontEnd(
        "battery", clock, ("ITECH Electronics", "IT6054C-800-225", "1", "1"), {1: port}, np.random.default_rng(1)
    )
    hub = SocketHub(clock)
    resource = f"TCPIP0::127.0.0.1::{hub.serve(front_end)}::SOCKET"
    hub.start()
    config = PROFILE.instruments["battery"]
    driver = registry.driver_class(config.driver)(
        dataclasses.replace(config, resource=resource), clock, dut_guards(PROFILE)["battery"]
    )
    driver.open()
    yield driver, front_end, port
    driver.close()
    hub.stop()


def test_a_battery_voltage_above_the_chargers_output_range_is_refused(battery):
    driver, front_end, port = battery
    sent, acted = len(front_end.log), len(port.calls)
    with pytest.raises(
        SetpointRefused,
        match=r"battery: voltage_v setpoint 760 V refused: outside the DUT range "
        r"0 … 750 V; nothing was sent",
    ):
        driver.hold_voltage(760.0, 5.0, 100.0)
    assert len(front_end.log) == sent and len(port.calls) == acted


def test_a_voltage_beyond_the_instrument_is_refused_as_the_instruments(battery):
    driver, front_end, _ = battery
    with pytest.raises(SetpointRefused, match=r"outside the instrument range 0 … 800 V"):
        driver.hold_voltage(820.0, 5.0, 100.0)


def test_a_setpoint_inside_both_ranges_goes_through(battery):
    driver, _, port = battery
    driver.hold_voltage(550.0, 5.0, 180.0)
    assert port.last("set_voltage") == (550.0,)
