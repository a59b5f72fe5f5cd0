"""One run of every channel call, shared by the adapter tests and the determinism test."""

from __future__ import annotations

from bench.core.clock import Clock
from bench.platform.channel import PlatformChannel
from tests.platform.fake_port import FakePlatformPort

# (bench time, kind, detail) of the events the fake pile raises during the run
EVENTS = (
    (4.3, "anomaly", "insulation resistance low"),
    (6.2, "protection", "output over-voltage"),
    (7.7, "communication_fault", "BCL timeout"),
)


def run(channel: PlatformChannel, clock: Clock, port: FakePlatformPort) -> dict:
    """Every command, then uploads and events; returns what each call gave."""
    for at, kind, detail in EVENTS:
        clock.call_at(at, port.raise_event, kind, detail)
    out = {"start": channel.start()}
    clock.sleep(3.0)  # the fake carries the start out after 2 s
    out["realtime_charging"] = channel.realtime()
    out["pile_time_at_realtime"] = port.clock()
    out["set_power_limit"] = channel.set_power_limit(30_000)
    out["set_current_limit"] = channel.set_current_limit(16.05)
    out["wake_vehicle"] = channel.wake_vehicle()
    out["timed_start_at"] = port.clock() + 600.4
    out["timed_start"] = channel.timed_start(out["timed_start_at"])
    out["change_at"] = port.clock() + 10.0
    out["timed_power_change"] = channel.timed_power_change(out["change_at"], 20_000)
    clock.sleep(6.0)  # t = 9: the limit of 30 kW applies, the change is still ahead
    out["realtime_before_change"] = channel.realtime()
    clock.sleep(5.0)  # t = 14: past the change
    out["realtime_after_change"] = channel.realtime()
    out["sync_to"] = clock.wall_time() + 0.25
    out["set_clock"] = channel.set_clock(out["sync_to"])
    out["read_clock"] = channel.read_clock()
    out["bms_info"] = channel.bms_info()
    out["stop"] = channel.stop()
    clock.sleep(3.0)
    out["events"] = channel.events()
    return out
