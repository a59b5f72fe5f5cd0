"""A PlatformPort for the platform channel's tests: records every command with the bench time
it arrived, carries commands out after a response delay on the clock, keeps its own clock
(with an offset, like ``rtc_offset_s``) and reports events when told to."""

from __future__ import annotations

from bench.core.clock import Clock

BMS_VALUES = {
    "vin": "LFV2A21K6G4051234",
    "battery_capacity": 150.0,
    "lowest_cell_voltage": 3.215,
    "lowest_cell_number": 17,
    "heating_status": "on",
    "cooling_status": "off",
    "internal_resistance": 12.5,
    "vehicle_model": "BJ7000U3D4-BEV",
}

# 4.5.3 e battery status: values each register and JSON carry exactly; the lowest cell is the
# 4.2.7 one (one register serves both).
BATTERY_VALUES = {
    "battery_voltage": 552.3,
    "soc": 47.0,
    "highest_cell_voltage": 3.402,
    "highest_cell_number": 88.0,
    "lowest_cell_voltage": 3.215,
    "lowest_cell_number": 17.0,
    "highest_temperature": 31.5,
    "highest_temperature_probe": 3.0,
    "lowest_temperature": -4.0,
    "lowest_temperature_probe": 7.0,
}


class FakePlatformPort:
    def __init__(
        self,
        clock: Clock,
        *,
        voltage_v: float = 400.0,
        response_delay_s: float = 2.0,
        rtc_offset_s: float = 0.0,
        bms: dict | None = None,
        rated_w: float = 60_000.0,
    ):
        self.bench_clock = clock
        self.voltage_v = voltage_v
        self.response_delay_s = response_delay_s
        self.offset = rtc_offset_s
        self.bms = dict(BMS_VALUES if bms is None else bms)
        self.battery = dict(BATTERY_VALUES)
        self.rated_w = rated_w
        self.state = "preparing"
        self.power_limit_w = rated_w
        self.current_limit_a: float | None = None
        self.energy_kwh = 0.0
        self.calls: list[tuple[float, str, tuple]] = []
        self._events: list[dict] = []
        self.link: list[tuple[float, str]] = []  # (bench time, "lost: how" / "restored")

    # -- commands ------------------------------------------------------------------------
    def _record(self, name: str, *args) -> None:
        self.calls.append((self.bench_clock.now(), name, args))

    def start(self) -> None:
        self._record("start")
        self.bench_clock.call_later(self.response_delay_s, self._begin)

    def stop(self) -> None:
        self._record("stop")
        self.bench_clock.call_later(self.response_delay_s, self._end)

    def wake_vehicle(self) -> None:
        self._record("wake_vehicle")

    def timed_start(self, unix_time: float) -> None:
        self._record("timed_start", unix_time)
        self.bench_clock.call_at(self._bench_time(unix_time), self._begin)

    def set_power_limit(self, watts: float) -> None:
        self._record("set_power_limit", watts)
        self.bench_clock.call_later(self.response_delay_s, setattr, self, "power_limit_w", watts)

    def timed_power_change(self, unix_time: float, watts: float) -> None:
        self._record("timed_power_change", unix_time, watts)
        self.bench_clock.call_at(self._bench_time(unix_time), setattr, self, "power_limit_w", watts)

    def set_current_limit(self, amps: float) -> None:
        self._record("set_current_limit", amps)
        self.current_limit_a = amps

    def set_clock(self, unix_time: float) -> None:
        self._record("set_clock", unix_time)
        self.offset = unix_time - self.bench_clock.wall_time()

    # -- what the pile reports -------------------------------------------------------------
    def clock(self) -> float:
        return self.bench_clock.wall_time() + self.offset

    def realtime(self) -> dict:
        charging = self.state == "charging"
        power = self.power_limit_w if charging else 0.0
        return {
            "voltage_v": self.voltage_v,
            "current_a": round(power / self.voltage_v, 3),
            "power_w": power,
            "state": self.state,
            "energy_kwh": self.energy_kwh,
        }

    def current_state(self) -> str:
        return self.state

    def bms_info(self) -> dict:
        return dict(self.bms)

    def battery_status(self) -> dict:
        return dict(self.battery)

    def events(self) -> list[dict]:
        drained, self._events = self._events, []
        return drained

    def link_lost(self, how: str) -> None:
        self.link.append((self.bench_clock.now(), f"lost: {how}"))
        self.raise_event("communication_fault", f"platform link lost ({how})")

    def link_restored(self) -> None:
        self.link.append((self.bench_clock.now(), "restored"))

    def raise_event(self, kind: str, detail: str = "") -> None:
        self._events.append({"kind": kind, "pile_time": self.clock(), "detail": detail})

    # -- internals -------------------------------------------------------------------------
    def _bench_time(self, pile_time: float) -> float:
        return pile_time - self.offset - self.bench_clock.epoch

    def _begin(self) -> None:
        self.state = "charging"
        self.raise_event("start", "remote start")

    def _end(self) -> None:
        self.state = "finishing"
        self.raise_event("stop", "remote stop")
