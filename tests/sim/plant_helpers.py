"""Building simulated plants from the shipped profiles, and small measurements on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.analysis.pwm import PwmAnalysis, analyse_pwm
from bench.core.clock import VirtualClock
from bench.core.profile import load_profile
from instruments.sim.plant.ac_pile import AcPilePlant
from instruments.sim.plant.dc_charger import DcChargerPlant

ROOT = Path(__file__).resolve().parents[2]
AC_PROFILE = load_profile(ROOT / "profiles" / "sim-ac-7kw.toml")
DC_PROFILE = load_profile(ROOT / "profiles" / "sim-dc-60kw.toml")
EPOCH = 1_767_574_800.0  # 2026-01-05T01:00:00Z


def ac_plant(**sim) -> tuple[VirtualClock, AcPilePlant]:
    clock = VirtualClock(epoch=EPOCH)
    return clock, AcPilePlant(clock, AC_PROFILE.dut, {**AC_PROFILE.sim, **sim})


def dc_plant(**sim) -> tuple[VirtualClock, DcChargerPlant]:
    clock = VirtualClock(epoch=EPOCH)
    return clock, DcChargerPlant(clock, DC_PROFILE.dut, DC_PROFILE.vehicle, {**DC_PROFILE.sim, **sim})


def capture(signal, clock, window: float, points: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """The last ``window`` seconds of a signal, as a scope would take them."""
    times = np.linspace(clock.now() - window, clock.now(), points)
    return times, signal.sample(times)


def cp_pwm(plant, clock, periods: int = 10) -> PwmAnalysis:
    times, volts = capture(plant.signal("cp"), clock, periods / plant.sim["pwm_frequency_hz"])
    return analyse_pwm(times, volts)


def charging_ac(clock, plant, amps: float | None = None) -> None:
    """Plug in, (set a limit,) start, close S2 and wait until the contactor is closed."""
    plant.ev.set_plugged(True)
    if amps is not None:
        plant.platform.set_current_limit(amps)
    plant.platform.start()
    clock.sleep(plant.sim["command_response_delay_s"] + 0.1)
    plant.ev.set_s2(True)
    clock.sleep(plant.sim["contactor_close_delay_s"] + 0.1)


# -- DC ----------------------------------------------------------------------------------------
BATTERY_V = 500.0


def battery_on(plant, volts: float = BATTERY_V) -> None:
    plant.battery.set_priority("voltage")
    plant.battery.set_voltage(volts)
    plant.battery.set_output(True)


def energise_dc(clock, plant) -> None:
    """Connect, aux on, insulation check, K5/K6, pre-charge, K1/K2 — through the hooks the
    protocol state machine uses. The vehicle side (battery or load) is set up by the caller."""
    plant.ev.set_cc2_connected(True)
    plant.set_aux_power(True)
    assert plant.vehicle_connected()
    plant.start_insulation_check()
    clock.sleep(plant.sim["insulation_check_s"] + plant.sim["bleed_off_s"] + 0.2)
    assert plant.insulation_check_done() is True
    plant.ev.set_vehicle_contactors(True)
    clock.sleep(0.1)
    plant.start_precharge(plant.inlet_voltage())
    clock.wait_until(plant.precharge_done, timeout=2.0)
    plant.set_contactors(True)


def charge_dc(clock, plant, volts: float = 650.0, amps: float = 100.0, mode: str = "cc", settle: float = 2.0) -> None:
    battery_on(plant)
    energise_dc(clock, plant)
    plant.set_demand(volts, amps, mode)
    clock.sleep(settle)


def time_to(signal, start: float, end: float, level: float, rising: bool) -> float | None:
    t = signal.next_crossing(start, end, level, rising)
    return None if t is None else t - start
