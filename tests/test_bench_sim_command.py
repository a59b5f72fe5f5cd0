"""`bench sim` serves the simulated bench in its own process, paced to wall time: the same
drivers reach it over loopback (pyvisa-py, pymodbus), and the simulated charger's CAN bus is
offered through a socketcand server that python-can's own client connects to."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import time
from pathlib import Path

import can
import pytest

from bench.core.clock import RealClock
from bench.core.profile import load_profile
from bench.platform.channel import open_channel
from bench.platform.log import MessageLog
from instruments import registry

ROOT = Path(__file__).resolve().parents[1]
CHM_ID = 0x1826F456  # CHM, priority 6, charger 0x56 → BMS 0xF4 (GB/T 27930, docs/limits.md §3)


@pytest.fixture
def served():
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "sim", "--profile", "profiles/sim-dc-60kw.toml", "--duration", "30"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if "ready" in line or not line:
            break
    yield process, "".join(lines)
    process.terminate()
    process.wait(timeout=10)


def test_bench_sim_serves_instruments_pile_control_and_can(served):
    process, banner = served
    assert "bench sim: ready" in banner, banner
    resources = dict(re.findall(r"^\s+(\w+)\s+[\w-]+\s+(\S+)$", banner, re.M))
    modbus_port = int(re.search(r"pile control\s+Modbus TCP 127\.0\.0\.1:(\d+)", banner).group(1))
    can_port = int(re.search(r"socketcand on 127\.0\.0\.1:(\d+)", banner).group(1))

    profile = load_profile(ROOT / "profiles/sim-dc-60kw.toml", registry.transports())
    clock = RealClock()
    scope_config = dataclasses.replace(profile.instruments["scope"], resource=resources["scope"])
    scope = registry.driver_class(scope_config.driver)(scope_config, clock)
    scope.open()
    assert scope.identity.maker == "KEYSIGHT TECHNOLOGIES"
    scope.close()

    # A grid simulator starts with its output off, as the real one does: switch the pile's supply on.
    grid_config = dataclasses.replace(profile.instruments["grid"], resource=resources["grid"])
    grid = registry.driver_class(grid_config.driver)(grid_config, clock)
    grid.open()
    grid.set_supply(profile.dut.nominal_supply_v, profile.dut.supply_frequency_hz)
    grid.set_output(True)

    ev_config = dataclasses.replace(profile.instruments["ev"], resource=resources["ev"])
    ev = registry.driver_class(ev_config.driver)(ev_config, clock)
    ev.open()
    ev.set_watchdog(10.0)
    ev.heartbeat()
    ev.set_cc2(True)

    bus = can.Bus(interface="socketcand", host="127.0.0.1", port=can_port, channel="can0")
    dut = dataclasses.replace(profile.dut, modbus=dataclasses.replace(profile.dut.modbus, port=modbus_port))
    channel = open_channel(dut, clock, MessageLog())
    try:
        channel.start()
        deadline = time.monotonic() + 10
        chm = None
        while time.monotonic() < deadline and chm is None:
            msg = bus.recv(0.5)
            if msg is not None and msg.arbitration_id == CHM_ID:
                chm = msg
        assert chm is not None, "no CHM from the simulated charger through socketcand"
        assert bytes(chm.data) == b"\x01\x01\x00"  # protocol version 1.1
    finally:
        channel.close()
        bus.shutdown()
        ev.close()
        grid.close()
