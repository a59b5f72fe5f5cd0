"""A small fake charger plant (ChargerHooks) and an emulated session: BMS emulator + charger on one clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.core.canbus import virtual_bus
from bench.core.clock import VirtualClock
from bench.protocols.gbt27930.bms import BmsEmulator
from bench.protocols.gbt27930.bms_config import BmsConfig
from bench.protocols.gbt27930.charger import ChargerBehaviour, ChargerStateMachine
from bench.protocols.gbt27930.hooks import ChargerRatings
from bench.protocols.gbt27930.monitor import ConformanceMonitor

RATINGS = ChargerRatings(
    max_voltage_v=950.0, min_voltage_v=150.0, max_current_a=250.0, min_current_a=0.0, max_power_w=60_000.0
)


@dataclass
class FakePlant:
    """Just enough charger hardware: instant current, a resistive battery, timed checks."""

    clock: VirtualClock
    battery_v: float = 378.0
    insulation_s: float = 16.0
    precharge_s: float = 0.5
    resistance_ohm: float = 0.05
    connected: bool = True
    insulation_ok: bool = True
    bms: BmsEmulator | None = None
    aux_on: bool = False
    contactors: bool = False
    current_a: float = 0.0
    demand: tuple | None = None
    energy: float = 0.0
    output_offset_v: float = 0.0  # forces the output voltage up (overvoltage tests)
    calls: list = field(default_factory=list)
    _insulation_started: float | None = None
    _precharge_started: float | None = None
    _last_t: float = 0.0

    def _log(self, name, *args):
        self.calls.append((self.clock.now(), name, args))

    def set_aux_power(self, on):
        self._log("set_aux_power", on)
        self.aux_on = on
        if self.bms is not None:
            self.bms.set_aux_power(on)

    def vehicle_connected(self):
        return self.connected

    def start_insulation_check(self):
        self._log("start_insulation_check")
        self._insulation_started = self.clock.now()

    def insulation_check_done(self):
        if self._insulation_started is None or self.clock.now() - self._insulation_started < self.insulation_s:
            return None
        return self.insulation_ok

    def inlet_voltage(self):
        return self.battery_v

    def start_precharge(self, target_v):
        self._log("start_precharge", target_v)
        self._precharge_started = self.clock.now()

    def precharge_done(self):
        return self._precharge_started is not None and self.clock.now() - self._precharge_started >= self.precharge_s

    def set_contactors(self, closed):
        self._log("set_contactors", closed)
        self.contactors = closed

    def set_demand(self, voltage_v, current_a, mode):
        self._integrate()
        self.demand = (voltage_v, current_a, mode)
        self.current_a = min(current_a, RATINGS.max_current_a) if self.contactors else 0.0

    def output(self):
        self._integrate()
        return self.battery_v + self.current_a * self.resistance_ohm + self.output_offset_v, self.current_a

    def stop_output(self, fault):
        self._log("stop_output", fault)
        self._integrate()
        self.current_a = 0.0
        self.demand = None

    def output_current(self):
        return self.current_a

    def start_bleed_off(self):
        self._log("start_bleed_off")

    def communication_fault(self, detail):
        self._log("communication_fault", detail)

    def energy_kwh(self):
        self._integrate()
        return self.energy

    def measure(self):
        return self.output()

    def _integrate(self):
        now = self.clock.now()
        self.energy += self.battery_v * self.current_a * (now - self._last_t) / 3.6e6
        self._last_t = now

    def called(self, name):
        return [c for c in self.calls if c[1] == name]


class EmulatedSession:
    """BMS emulator + charger + monitor on one virtual bus and virtual time."""

    def __init__(
        self,
        *,
        config: BmsConfig | None = None,
        behaviour: ChargerBehaviour | None = None,
        measure: bool = True,
        start: bool = True,
        **plant,
    ):
        self.clock = VirtualClock(epoch=1_700_000_000.0)
        channel = f"gbt-test-{id(self)}"  # a channel of its own: nothing leaks between tests
        self.bench_bus = virtual_bus(channel, self.clock, "bench")
        self.charger_bus = virtual_bus(channel, self.clock, "charger")
        self.plant = FakePlant(self.clock, **plant)
        self.bms = BmsEmulator(self.bench_bus, config or BmsConfig(), self.plant.measure if measure else None)
        self.plant.bms = self.bms
        self.charger = ChargerStateMachine(self.charger_bus, self.plant, RATINGS, behaviour)
        # Observers listen on an endpoint of their own: there they see frames in bus order
        # (on an actor's bus, its replies to a frame would reach them before the frame).
        self.observer_bus = virtual_bus(channel, self.clock, "observer")
        self.changes = []  # MessageEvent: every message each time its payload changed
        self.monitor = ConformanceMonitor(self.observer_bus, on_change=self.changes.append)
        if start:
            self.bms.start()
            self.charger.start()

    def seen(self, name):
        """Values of ``name`` each time they changed, with the time: [(t, values)]."""
        return [(e.time, e.values) for e in self.changes if e.name == name]

    def first(self, name):
        return next(((t, v) for t, v in self.seen(name)), (None, None))

    def run_until(self, condition, timeout, what="condition"):
        return self.clock.wait_until(condition, timeout, poll=0.01, what=what)

    def charge(self, timeout=40.0):
        """Run until the session is charging."""
        self.run_until(lambda: self.bms.phase == "charging" and self.charger.phase == "charging", timeout, "charging")

    def close(self):
        self.monitor.close()
        self.bms.close()
        self.charger.close()
        for bus in (self.bench_bus, self.charger_bus, self.observer_bus):
            bus.close()
