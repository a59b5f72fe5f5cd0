"""Fixtures: the bench's platform channel against the simulated pile's side, over loopback,
with a FakePlatformPort behind it and a virtual clock."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.core.clock import Clock
from bench.core.profile import ModbusEndpoint, OcppEndpoint
from bench.platform.log import MessageLog
from bench.platform.modbus import ModbusChannel
from bench.platform.ocpp import OcppChannel
from bench.protocols.modbus.registers import load_pile_map as load_map
from bench.protocols.modbus.registers import shipped_pile_map as shipped_map
from instruments.sim.hub import SocketHub
from instruments.sim.modbus import ModbusFrontEnd
from instruments.sim.platform.modbus_device import PlatformModbusDevice
from instruments.sim.platform.ocpp_charge_point import SimChargePoint
from tests.platform.fake_port import FakePlatformPort
from tests.support.transcript import new_clock

CHARGE_POINT_ID = "CP-0001"
RTC_OFFSET_S = 37.25  # the pile's clock is not the bench's: a mix-up shows in every test


@dataclass
class ModbusBench:
    clock: Clock
    port: FakePlatformPort
    device: PlatformModbusDevice
    front_end: ModbusFrontEnd
    hub: SocketHub
    tcp_port: int
    log: MessageLog
    channels: list = field(default_factory=list)

    def open(self, map_file: Path | None = None, **options) -> ModbusChannel:
        endpoint = ModbusEndpoint("127.0.0.1", self.tcp_port, 1, map_file or self.device.map.path)
        channel = ModbusChannel(endpoint, self.clock, self.log, **options)
        self.channels.append(channel)
        return channel

    def close(self) -> None:
        for channel in self.channels:
            channel.close()
        self.hub.stop()
        self.log.close()


@dataclass
class OcppBench:
    clock: Clock
    port: FakePlatformPort
    channel: OcppChannel
    log: MessageLog
    charge_points: list = field(default_factory=list)

    def charge_point(self, charge_point_id: str = CHARGE_POINT_ID, **options) -> SimChargePoint:
        options.setdefault("meter_interval_s", 5.0)
        cp = SimChargePoint(self.port, self.clock, self.channel.base_url, charge_point_id, **options)
        self.charge_points.append(cp)
        return cp

    def connected(self, **options) -> SimChargePoint:
        cp = self.charge_point(**options)
        cp.connect()
        self.channel.wait_connected(5.0)
        return cp

    def close(self) -> None:
        for cp in self.charge_points:
            cp.close()
        self.channel.close()
        self.log.close()


@pytest.fixture
def clock():
    return new_clock()


@contextmanager
def closing_all():
    """A list of benches a test builds; each is closed at the end."""
    benches: list = []
    try:
        yield benches
    finally:
        for bench in benches:
            bench.close()


@pytest.fixture
def modbus_bench(clock):
    """Build a Modbus rig: map_name, log_path, on_clock (another clock), link_watchdog (the
    simulated pile's, on the rig's clock), FakePlatformPort options."""

    def build(
        map_name: str = "sim-dc-charger",
        log_path: Path | None = None,
        on_clock: Clock | None = None,
        link_watchdog: bool = False,
        **port_options,
    ) -> ModbusBench:
        bench_clock = on_clock or clock
        port = FakePlatformPort(bench_clock, rtc_offset_s=RTC_OFFSET_S, **port_options)
        device = PlatformModbusDevice(
            load_map(shipped_map(map_name)), port, clock=bench_clock if link_watchdog else None
        )
        front_end = ModbusFrontEnd("pile", device, unit_id=1)
        hub = SocketHub(bench_clock)
        tcp_port = hub.serve(front_end)
        hub.start()
        benches.append(ModbusBench(bench_clock, port, device, front_end, hub, tcp_port, MessageLog(log_path)))
        return benches[-1]

    with closing_all() as benches:
        yield build


@pytest.fixture
def ocpp_bench(clock):
    """Build an OCPP rig (the Central System listening): log_path, on_clock, FakePlatformPort options."""

    def build(log_path: Path | None = None, on_clock: Clock | None = None, **port_options) -> OcppBench:
        bench_clock = on_clock or clock
        port = FakePlatformPort(bench_clock, rtc_offset_s=RTC_OFFSET_S, **port_options)
        log = MessageLog(log_path)
        channel = OcppChannel(
            OcppEndpoint("127.0.0.1", 0, CHARGE_POINT_ID), bench_clock, log, rated_power_w=60_000.0, call_timeout_s=3.0
        )
        benches.append(OcppBench(bench_clock, port, channel, log))
        return benches[-1]

    with closing_all() as benches:
        yield build
