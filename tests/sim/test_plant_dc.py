"""The simulated DC charger driven through its ChargerHooks, with the battery simulator or the
electronic load on the vehicle side — each [sim] parameter conforming by default and
misbehaving past its limit."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.sim_parameters import UPLOAD_FIELDS
from bench.protocols.gbt27930.hooks import ChargerHooks, ChargerRatings
from instruments.sim.plant.dc_charger import PRECHARGE_HOLD_S, PRECHARGE_SETTLED_V
from instruments.sim.plant.ports import BatterySimulatorPort, ElectronicLoadPort, EvSimulatorPort, Plant, PlatformPort
from tests.sim.plant_helpers import BATTERY_V, battery_on, capture, charge_dc, dc_plant, energise_dc, time_to

R = 0.05  # the profile's battery_resistance_ohm (default)
STOP_RATE_A_PER_S = 100.0  # docs/limits.md §3/§5
SAFE_V = 60.0


def test_plant_implements_the_contract():
    clock, plant = dc_plant()
    for port, proto in (
        (plant.ev, EvSimulatorPort),
        (plant.battery, BatterySimulatorPort),
        (plant.load, ElectronicLoadPort),
        (plant.platform, PlatformPort),
    ):
        missing = [m for m in dir(proto) if not m.startswith("_") and not hasattr(port, m)]
        assert not missing, (proto.__name__, missing)
    for proto in (ChargerHooks, Plant):
        missing = [m for m in dir(proto) if not m.startswith("_") and not hasattr(plant, m)]
        assert not missing, (proto.__name__, missing)
    assert set(plant.signal_names()) == {
        "aux_voltage",
        "cc1",
        "charger_voltage",  # issue 13: the charger's side of K1/K2 (pre-charge)
        "inlet_voltage",
        "output_current",
        "supply_voltage",
        "supply_current",
    }
    with pytest.raises(KeyError):
        plant.signal("cp")
    assert plant.ratings() == ChargerRatings(750.0, 200.0, 150.0, 0.0, 60000.0)


# -- connection and auxiliary supply -----------------------------------------------------------
def test_cc1_levels_and_aux_supply():
    clock, plant = dc_plant()
    cc1, aux = plant.signal("cc1"), plant.signal("aux_voltage")
    assert cc1.at(clock.now()) == pytest.approx(12.0)
    plant.ev.set_plugged(True)
    assert cc1.at(clock.now()) == pytest.approx(6.0)
    assert not plant.vehicle_connected()
    plant.ev.set_cc2_connected(True)
    assert cc1.at(clock.now()) == pytest.approx(4.0)
    assert plant.vehicle_connected()
    assert aux.at(clock.now()) == 0.0
    plant.set_aux_power(True)
    clock.sleep(0.1)
    assert aux.at(clock.now()) == pytest.approx(12.0)
    plant.grid.set_output(False)
    clock.sleep(0.1)
    assert aux.at(clock.now()) == 0.0 and cc1.at(clock.now()) == 0.0


# -- a whole session through the hooks ---------------------------------------------------------
def test_charging_sequence_with_the_battery_simulator_in_cv():
    clock, plant = dc_plant()
    battery_on(plant)
    plant.ev.set_cc2_connected(True)
    plant.set_aux_power(True)
    plant.start_insulation_check()
    assert plant.insulation_check_done() is None
    clock.sleep(0.5)
    assert plant.contactors_closed and plant.inlet_voltage() > 700.0  # insulation test voltage
    clock.sleep(2.0)
    assert plant.insulation_check_done() is True and not plant.contactors_closed
    clock.sleep(1.0)
    assert plant.inlet_voltage() < SAFE_V  # bled off after the check
    plant.ev.set_vehicle_contactors(True)
    clock.sleep(0.1)
    assert plant.inlet_voltage() == pytest.approx(BATTERY_V, abs=0.01)
    plant.start_precharge(BATTERY_V)
    assert not plant.precharge_done()
    clock.wait_until(plant.precharge_done, timeout=1.0)
    plant.set_contactors(True)
    clock.sleep(0.5)
    assert plant.output_current() == pytest.approx(0.0, abs=0.01)
    plant.set_demand(650.0, 100.0, "cc")
    clock.sleep(2.0)
    volts, amps = plant.output()
    assert amps == pytest.approx(100.0, abs=1e-6)
    assert volts == pytest.approx(BATTERY_V + 100.0 * R, abs=1e-3)  # the battery's, plus I·R
    assert plant.regime == "cc"
    assert plant.battery.terminal_current() == pytest.approx(-100.0, abs=1e-3)
    assert plant.battery.status() == {"cv"}
    stop_at = clock.now()
    plant.stop_output(fault=False)
    clock.sleep(2.0)
    assert plant.output_current() == pytest.approx(0.0, abs=1e-6)
    plant.set_contactors(False)
    plant.start_bleed_off()
    plant.ev.set_vehicle_contactors(False)
    plant.battery.set_output(False)
    off_at = clock.now()
    clock.sleep(2.0)
    assert plant.inlet_voltage() < SAFE_V
    assert time_to(plant.signal("inlet_voltage"), off_at, clock.now(), SAFE_V, False) == pytest.approx(0.4)
    assert time_to(plant.signal("output_current"), stop_at, clock.now(), 5.0, False) < 1.0
    times = np.linspace(0.0, clock.now(), 2_000_001)
    power = plant.signal("inlet_voltage").sample(times) * plant.signal("output_current").sample(times)
    assert plant.energy_kwh() == pytest.approx(np.trapezoid(power, times) / 3.6e6, rel=1e-4)
    assert 505.0 * 100.0 * 1.5 / 3.6e6 < plant.energy_kwh() < 505.0 * 100.0 * 2.5 / 3.6e6


def test_charging_sequence_with_the_load_in_cc_regulates_voltage():
    clock, plant = dc_plant()
    battery_on(plant)  # the battery is there for the inlet check and pre-charge …
    energise_dc(clock, plant)
    plant.ev.set_vehicle_contactors(False)  # … then the bench takes it away and sinks with the load
    plant.battery.set_output(False)
    plant.load.set_mode("cc")
    plant.load.set_current(80.0)
    plant.load.set_input(True)
    plant.set_demand(600.0, 120.0, "cv")
    clock.sleep(2.0)
    volts, amps = plant.output()
    assert volts == pytest.approx(600.0, abs=1e-3)
    assert amps == pytest.approx(80.0, abs=1e-3)  # the load's current, not the demand's
    assert plant.regime == "cv"
    assert plant.load.terminal_current() == pytest.approx(80.0, abs=1e-3)
    plant.set_demand(550.0, 120.0, "cv")
    clock.sleep(1.0)
    assert plant.output()[0] == pytest.approx(550.0, abs=1e-3)
    # The load asks for more than the charger's current limit: current-limited, voltage collapses.
    plant.load.set_current(130.0)
    clock.sleep(1.0)
    volts, amps = plant.output()
    assert amps == pytest.approx(120.0, abs=1e-3) and volts < 5.0 and plant.regime == "cc"
    plant.load.set_current(80.0)
    clock.sleep(1.0)
    plant.stop_output(fault=False)
    clock.sleep(1.0)
    assert plant.output_current() == pytest.approx(0.0, abs=1e-3)
    plant.set_contactors(False)
    plant.start_bleed_off()
    plant.load.set_input(False)
    clock.sleep(1.0)
    assert plant.inlet_voltage() < SAFE_V


def test_battery_sink_limit_hands_regulation_to_the_charger_voltage():
    clock, plant = dc_plant()
    plant.battery.set_current_limits(100.0, -50.0)
    charge_dc(clock, plant, volts=560.0, amps=100.0)
    volts, amps = plant.output()
    assert amps == pytest.approx(50.0, abs=1e-3) and volts == pytest.approx(560.0, abs=1e-3)
    assert plant.regime == "cv" and plant.battery.status() == {"cc-"}


def test_demand_voltage_caps_the_battery_current():
    clock, plant = dc_plant()
    charge_dc(clock, plant, volts=502.0, amps=100.0)
    volts, amps = plant.output()
    assert volts == pytest.approx(502.0, abs=1e-3)
    assert amps == pytest.approx(2.0 / R, rel=1e-3)


def test_opening_k5k6_under_current_is_consistent_and_recorded():
    clock, plant = dc_plant()
    charge_dc(clock, plant, volts=650.0, amps=100.0)
    plant.ev.set_vehicle_contactors(False)
    clock.sleep(0.5)
    volts, amps = plant.output()
    assert amps == pytest.approx(0.0, abs=1e-3)
    assert volts == pytest.approx(650.0, abs=0.01)  # the charger now holds its voltage limit
    assert plant.history.last_value("ev", "k5k6_interrupted_a") == pytest.approx(100.0, abs=0.01)
    assert plant.battery.terminal_current() == 0.0 and plant.battery.terminal_voltage() == BATTERY_V


# -- regulation errors and power limit (NB/T 33001, 4.2.10.5) ----------------------------------
@pytest.mark.parametrize("error", [0.0, 1.0])
def test_current_error_shifts_the_regulated_current(error):
    clock, plant = dc_plant(current_error_pct=error)
    charge_dc(clock, plant, amps=80.0)
    assert plant.output()[1] == pytest.approx(80.0 * (1 + error / 100), abs=1e-6)
    assert (abs(plant.output()[1] - 80.0) <= 0.01 * 80.0 / 2) == (error == 0.0)


@pytest.mark.parametrize("error", [0.0, -1.0])
def test_voltage_error_shifts_the_regulated_voltage(error):
    clock, plant = dc_plant(voltage_error_pct=error)
    battery_on(plant)
    energise_dc(clock, plant)
    plant.ev.set_vehicle_contactors(False)
    plant.battery.set_output(False)
    plant.load.set_current(50.0)
    plant.load.set_input(True)
    plant.set_demand(600.0, 100.0, "cv")
    clock.sleep(2.0)
    assert plant.output()[0] == pytest.approx(600.0 * (1 + error / 100), abs=1e-3)
    assert (abs(plant.output()[0] - 600.0) <= 0.005 * 600.0) == (error == 0.0)


def test_power_limit_caps_the_output_power():
    clock, plant = dc_plant()
    charge_dc(clock, plant, amps=150.0)
    volts, amps = plant.output()
    assert volts * amps == pytest.approx(60000.0, rel=1e-6) and plant.regime == "cp"
    plant.platform.set_power_limit(30000.0)
    clock.sleep(plant.sim["command_response_delay_s"] + 2.0)
    volts, amps = plant.output()
    assert volts * amps == pytest.approx(30000.0, rel=1e-6)


@pytest.mark.parametrize("error", [0.0, 3.0])
def test_power_gain_error_applies_only_while_power_limited(error):
    clock, plant = dc_plant(power_gain_error_pct=error)
    charge_dc(clock, plant, amps=150.0)
    plant.apply_power_limit(30000.0)
    clock.sleep(2.0)
    volts, amps = plant.output()
    assert volts * amps == pytest.approx(30000.0 * (1 + error / 100), rel=1e-6)
    assert (abs(volts * amps - 30000.0) <= 0.02 * 30000.0) == (error == 0.0)
    plant.set_demand(650.0, 40.0, "cc")  # 40 A ≈ 20 kW: no longer power-limited
    clock.sleep(2.0)
    assert plant.output()[1] == pytest.approx(40.0, abs=1e-6) and plant.regime == "cc"


def test_platform_current_limit_caps_the_demand():
    clock, plant = dc_plant()
    charge_dc(clock, plant, amps=100.0)
    plant.apply_current_limit(60.0)
    clock.sleep(2.0)
    assert plant.output()[1] == pytest.approx(60.0, abs=1e-6)


# -- dynamics: slew, adjustment, fault cut, bleed-off -------------------------------------------
def stop_rate(plant, clock, fault: bool) -> tuple[float, float]:
    """Mean fall rate from the stop to 5 A, and the time to 5 A."""
    current = plant.signal("output_current")
    start, i0 = clock.now(), plant.output_current()
    plant.stop_output(fault=fault)
    clock.sleep(3.0)
    t5 = time_to(current, start, clock.now(), 5.0, False)
    return (i0 - 5.0) / t5, t5


@pytest.mark.parametrize("slew", [200.0, 80.0])
def test_normal_stop_falls_at_the_slew_rate(slew):
    clock, plant = dc_plant(current_slew_a_per_s=slew)
    charge_dc(clock, plant, amps=100.0)
    rate, _ = stop_rate(plant, clock, fault=False)
    assert rate == pytest.approx(slew, rel=0.1)
    assert (rate >= STOP_RATE_A_PER_S) == (slew == 200.0)
    times, amps = capture(plant.signal("output_current"), clock, 3.0, 30_001)
    assert np.max(-np.diff(amps) / np.diff(times)) <= slew * (1 + 1e-6)


@pytest.mark.parametrize("slew", [200.0, 15.0])
def test_slew_limits_the_current_adjustment_time(slew):
    clock, plant = dc_plant(current_slew_a_per_s=slew)
    charge_dc(clock, plant, amps=60.0, settle=6.0)
    start = clock.now()
    plant.set_demand(650.0, 80.0, "cc")  # ΔI = 20 A: ≤ 1 s
    clock.sleep(5.0)
    settled = time_to(plant.signal("output_current"), start, clock.now(), 80.0 - 0.01 * 80.0, True)
    assert (settled <= 1.0) == (slew == 200.0)


@pytest.mark.parametrize("delay", [0.02, 0.12])
def test_fault_stop_cuts_to_5_a_after_the_cst_delay(delay):
    clock, plant = dc_plant(cst_current_delay_s=delay)
    charge_dc(clock, plant, amps=100.0)
    _, t5 = stop_rate(plant, clock, fault=True)
    assert t5 == pytest.approx(delay, abs=0.005)
    assert (t5 <= 0.1) == (delay == 0.02)
    assert plant.history.first("charger", "output_cut", True) is not None


@pytest.mark.parametrize("bleed", [0.4, 1.2])
def test_bleed_off_brings_the_inlet_below_60_v_in_bleed_off_s(bleed):
    clock, plant = dc_plant(bleed_off_s=bleed)
    charge_dc(clock, plant)
    plant.stop_output(fault=False)
    clock.sleep(1.0)
    plant.set_contactors(False)
    plant.start_bleed_off()
    clock.sleep(0.5)
    assert plant.inlet_voltage() == pytest.approx(BATTERY_V, abs=0.01)  # the battery still holds it
    plant.ev.set_vehicle_contactors(False)
    off_at = clock.now()
    clock.sleep(3.0)
    t60 = time_to(plant.signal("inlet_voltage"), off_at, clock.now(), SAFE_V, False)
    assert t60 == pytest.approx(bleed, abs=1e-6)
    assert (t60 < 1.0) == (bleed == 0.4)


def test_without_bleed_off_the_inlet_stays_charged():
    clock, plant = dc_plant()
    charge_dc(clock, plant)
    plant.stop_output(fault=False)
    clock.sleep(1.0)
    plant.set_contactors(False)
    plant.ev.set_vehicle_contactors(False)
    clock.sleep(5.0)
    assert plant.inlet_voltage() > 400.0


# -- wake-up (4.2.10.4) --------------------------------------------------------------------------
@pytest.mark.parametrize("off_s", [12.0, 8.0])
def test_wake_cuts_the_aux_supply_for_aux_off_duration(off_s):
    clock, plant = dc_plant(aux_off_duration_s=off_s)
    notes = []
    plant.add_listener(notes.append)
    plant.ev.set_cc2_connected(True)
    plant.set_aux_power(True)
    plant.platform.wake_vehicle()
    clock.sleep(30.0)
    aux = plant.signal("aux_voltage")
    off = aux.next_crossing(0.0, clock.now(), 6.0, False)
    on = aux.next_crossing(off, clock.now(), 6.0, True)
    assert off == pytest.approx(plant.sim["command_response_delay_s"])
    assert on - off == pytest.approx(off_s)
    assert (on - off > 10.0) == (off_s == 12.0)
    assert notes == ["communication_restart"]


def test_wake_goes_to_the_handler_when_one_is_set():
    clock, plant = dc_plant(aux_off_duration_s=11.0)
    calls = []
    plant.set_wake_handler(lambda off_s: calls.append((clock.now(), off_s)))
    plant.ev.set_cc2_connected(True)
    plant.set_aux_power(True)
    plant.platform.wake_vehicle()
    clock.sleep(20.0)
    assert calls == [(2.0, 11.0)] and plant.aux_on  # the handler switches the aux supply itself


def test_wake_restarts_communication_false_restores_aux_silently():
    clock, plant = dc_plant(wake_restarts_communication=False)
    notes = []
    plant.add_listener(notes.append)
    plant.ev.set_cc2_connected(True)
    plant.platform.wake_vehicle()
    clock.sleep(20.0)
    assert plant.aux_on and notes == []


# -- protection flags and supply -----------------------------------------------------------------
@pytest.mark.parametrize("ignores", [False, True])
def test_ignores_battery_alarms_is_exposed_for_the_state_machine(ignores):
    _, plant = dc_plant(ignores_battery_alarms=ignores)
    assert plant.stops_on_battery_alarms is (not ignores)


def test_chm_period_is_exposed_for_the_state_machine():
    _, plant = dc_plant(chm_period_ms=300.0)
    assert plant.chm_period_s == pytest.approx(0.3)


def test_supply_fault_stops_the_output_and_reports():
    clock, plant = dc_plant()
    notes = []
    plant.add_listener(notes.append)
    charge_dc(clock, plant)
    plant.grid.set_voltage(450.0)  # > 1.15 × 380 V
    fault_at = clock.now()
    clock.sleep(1.0)
    t5 = time_to(plant.signal("output_current"), fault_at, clock.now(), 5.0, False)
    assert t5 == pytest.approx(0.2 + 0.02, abs=0.005)
    assert "supply_fault" in notes
    assert [e["kind"] for e in plant.platform.events()][-2:] == ["protection", "stop"]


def test_ignores_supply_fault_keeps_charging():
    clock, plant = dc_plant(ignores_supply_fault=True)
    charge_dc(clock, plant)
    plant.grid.set_voltage(450.0)
    clock.sleep(3.0)
    assert plant.output_current() == pytest.approx(100.0, abs=1e-6)


def test_estop_and_disconnection_are_fault_stops():
    clock, plant = dc_plant()
    notes = []
    plant.add_listener(notes.append)
    charge_dc(clock, plant)
    plant.ev.set_estop(True)
    clock.sleep(0.5)
    assert plant.output_current() < 5.0 and notes == ["estop"]
    clock2, plant2 = dc_plant()
    charge_dc(clock2, plant2)
    plant2.ev.set_cc2_connected(False)
    clock2.sleep(0.5)
    assert plant2.output_current() < 5.0
    assert "disconnected" in [n for _, a, w, n in plant2.history if w == "notify"]


def test_grid_current_follows_the_output_power():
    clock, plant = dc_plant()
    charge_dc(clock, plant)
    _, amps = capture(plant.signal("supply_current"), clock, 0.02, 4000)
    rms = np.sqrt(np.mean(amps**2))
    p_out = 505.0 * 100.0
    assert rms == pytest.approx((p_out / 0.95 + 50.0) / (3 * 220.0), rel=1e-3)  # per phase, L–N supply


# -- platform ------------------------------------------------------------------------------------
def test_platform_start_and_stop_reach_the_listeners_after_the_delay():
    clock, plant = dc_plant()
    notes = []
    plant.add_listener(lambda name: notes.append((clock.now(), name)))
    charge_dc(clock, plant)
    t0 = clock.now()
    plant.platform.stop()
    clock.sleep(5.0)
    assert notes == [(t0 + 2.0, "stop")]
    assert plant.output_current() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("error", [0.0, 5.0])
def test_realtime_upload_error(error):
    clock, plant = dc_plant(upload_error_pct=error)
    charge_dc(clock, plant)
    up = plant.platform.realtime()
    assert up["voltage_v"] == pytest.approx(505.0 * (1 + error / 100), abs=1e-3)
    assert up["current_a"] == pytest.approx(100.0 * (1 + error / 100), abs=1e-3)
    assert up["power_w"] == pytest.approx(50500.0 * (1 + error / 100), rel=1e-5)
    assert up["state"] == "charging"


@pytest.mark.parametrize("offset", [0.0, 4.0])
def test_dc_rtc_offset_after_sync(offset):
    clock, plant = dc_plant(rtc_offset_s=offset)
    plant.platform.set_clock(clock.wall_time() + 100.0)
    clock.sleep(10.0)
    assert plant.platform.clock() - clock.wall_time() == pytest.approx(100.0 + offset)


BMS = {
    "vin": "LSVAU2180N2183294",
    "battery_capacity": 150.0,
    "lowest_cell_voltage": 3.31,
    "lowest_cell_number": 17,
    "heating_status": "off",
    "cooling_status": "on",
    "internal_resistance": 86.0,
    "vehicle_model": "SVW71223BM",
}


def test_bms_info_is_uploaded_unchanged_by_default():
    _, plant = dc_plant()
    plant.learn_bms_info(BMS)
    assert plant.platform.bms_info() == BMS
    assert set(BMS) == set(UPLOAD_FIELDS)


def test_uploads_missing_and_corrupt_alter_exactly_the_named_fields():
    _, plant = dc_plant(
        uploads_missing=["vin", "heating_status"],
        uploads_corrupt=["lowest_cell_number", "cooling_status", "vehicle_model"],
    )
    plant.learn_bms_info(BMS)
    info = plant.platform.bms_info()
    assert "vin" not in info and "heating_status" not in info
    for name in ("lowest_cell_number", "cooling_status", "vehicle_model"):
        assert info[name] != BMS[name] and type(info[name]) is type(BMS[name])
    for name in ("battery_capacity", "lowest_cell_voltage", "internal_resistance"):
        assert info[name] == BMS[name]
    _, again = dc_plant(uploads_corrupt=["lowest_cell_number", "cooling_status", "vehicle_model"])
    again.learn_bms_info(BMS)
    assert {k: v for k, v in again.platform.bms_info().items() if k in info} == info  # deterministic


@pytest.mark.parametrize("reports", [True, False])
def test_dc_events_only_when_reported(reports):
    clock, plant = dc_plant(reports_events=reports)
    charge_dc(clock, plant)
    plant.stop_output(fault=False)
    plant.report_event("communication_fault", "BCL timeout")
    kinds = [e["kind"] for e in plant.platform.events()]
    assert kinds == (["start", "stop", "communication_fault"] if reports else [])


# -- safe state ----------------------------------------------------------------------------------
def test_dc_safe_state_order_is_readable_from_the_history():
    clock, plant = dc_plant()
    charge_dc(clock, plant)
    # BST → the charger stops (the state machine) → I ≤ 5 A → K5/K6 open → battery off → inlet < 60 V
    plant.stop_output(fault=False)
    clock.wait_until(lambda: plant.output_current() <= 5.0, timeout=10.0)
    plant.set_contactors(False)
    plant.start_bleed_off()
    plant.ev.set_vehicle_contactors(False)
    plant.battery.set_output(False)
    clock.wait_until(lambda: plant.inlet_voltage() < SAFE_V, timeout=2.0)
    t_stop = plant.history.first("charger", "stop")
    t_k56 = plant.history.first("ev", "k5k6", False)
    t_batt = plant.history.first("battery", "output", False, after=t_k56)
    current_at_k56 = plant.signal("output_current").at(t_k56)
    t_safe = t_batt + time_to(plant.signal("inlet_voltage"), t_batt, clock.now(), SAFE_V, False)
    assert t_stop < t_k56 <= t_batt < t_safe and current_at_k56 <= 5.0
    assert plant.history.of("ev", "k5k6_interrupted_a") == []


@pytest.mark.parametrize("step", ["k5k6", "battery", "k1k2", "aux", "grid"])
def test_safe_state_steps_are_consistent_in_any_state(step):
    clock, plant = dc_plant()
    charge_dc(clock, plant)
    if step == "k5k6":
        plant.ev.set_vehicle_contactors(False)
    elif step == "battery":
        plant.battery.set_output(False)
    elif step == "k1k2":
        plant.set_contactors(False)
    elif step == "aux":
        plant.set_aux_power(False)
    else:
        plant.grid.set_output(False)
    clock.sleep(1.0)
    volts, amps = plant.output()
    assert np.isfinite(volts) and np.isfinite(amps) and amps >= -1e-9
    if step in ("k5k6", "battery", "k1k2", "grid"):
        assert amps == pytest.approx(0.0, abs=1e-3)
    times, values = capture(plant.signal("inlet_voltage"), clock, 2.0, 20_001)
    assert np.all(np.isfinite(values)) and np.all(values >= -1e-9)


def test_the_battery_status_is_uploaded_as_it_was_bms_upload_lag_s_ago():
    clock, plant = dc_plant(bms_upload_lag_s=2.0)
    plant.learn_battery_status({"highest_temperature": 25.0})
    clock.sleep(3.0)
    plant.learn_battery_status({"highest_temperature": 58.0})
    assert plant.platform.battery_status() == {"highest_temperature": 25.0}  # 2 s late
    clock.sleep(1.9)
    assert plant.platform.battery_status() == {"highest_temperature": 25.0}
    clock.sleep(0.1)
    assert plant.platform.battery_status() == {"highest_temperature": 58.0}


def test_a_pile_that_does_not_upload_the_battery_status_gives_nothing():
    clock, plant = dc_plant(uploads_battery_status=False)
    plant.learn_battery_status({"highest_temperature": 25.0})
    clock.sleep(5.0)
    assert plant.platform.battery_status() == {}


# -- issue 13: DC vehicle-side faults ------------------------------------------------------------
def test_cc1_fault_resistor_and_pe_loss_take_detection_point_1_out_of_its_band():
    clock, plant = dc_plant()
    cc1 = plant.signal("cc1")
    plant.ev.set_cc2_connected(True)
    assert cc1.at(clock.now()) == pytest.approx(4.0)
    plant.set_cc1_fault(True)
    assert cc1.at(clock.now()) == pytest.approx(3.0) and not plant.vehicle_connected()
    plant.set_cc1_fault(False)
    plant.set_pe_break(True)
    assert cc1.at(clock.now()) == pytest.approx(6.0) and not plant.vehicle_connected()
    plant.set_pe_break(False)
    assert plant.vehicle_connected()


@pytest.mark.parametrize(
    ("sim", "fault", "stops"),
    [
        ({}, "set_cc1_fault", True),
        ({}, "set_pe_break", True),
        ({"ignores_cc1_fault": True}, "set_cc1_fault", False),
        ({"ignores_cc1_fault": True}, "set_pe_break", False),
        ({"ignores_pe_loss": True}, "set_cc1_fault", True),
        ({"ignores_pe_loss": True}, "set_pe_break", False),
    ],
)
def test_a_vehicle_side_fault_while_charging_is_a_fault_stop_unless_ignored(sim, fault, stops):
    clock, plant = dc_plant(**sim)
    charge_dc(clock, plant, amps=100.0)
    getattr(plant, fault)(True)
    clock.sleep(0.1)
    assert (plant.output_current() <= 5.0) == stops
    assert (plant.history.first("charger", "output_cut", True) is not None) == stops


# -- issue 13: DC insulation and pre-charge ----------------------------------------------------
INSULATION_OHM = {"insulation_warning": 337_500.0, "insulation_low": 82_500.0}  # 450 and 110 Ω/V at 750 V


def insulation_plant(**sim):
    clock, plant = dc_plant(**sim)
    plant.fit_insulation_resistors(INSULATION_OHM)
    return clock, plant


def test_the_insulation_resistors_in_parallel_are_what_the_imd_measures():
    _, plant = insulation_plant()
    assert plant.insulation_resistance_ohm() == float("inf")
    plant.wires()["insulation_low"](True)
    assert plant.insulation_resistance_ohm() == pytest.approx(82_500.0)
    plant.wires()["insulation_warning"](True)
    assert plant.insulation_resistance_ohm() == pytest.approx(1 / (1 / 337_500.0 + 1 / 82_500.0))  # 88 Ω/V


@pytest.mark.parametrize(
    ("sim", "lines", "good"),
    [
        ({}, (), True),
        ({}, ("insulation_warning",), True),  # 450 Ω/V: a warning, charging allowed
        ({}, ("insulation_low",), True),  # 110 Ω/V
        ({}, ("insulation_warning", "insulation_low"), False),  # 88 Ω/V: a fault
        ({"ignores_insulation_fault": True}, ("insulation_warning", "insulation_low"), True),
    ],
)
def test_the_insulation_check_fails_at_a_fault_level_only(sim, lines, good):
    clock, plant = insulation_plant(**sim)
    for line in lines:
        plant.set_insulation_resistor(line, True)
    plant.ev.set_cc2_connected(True)
    plant.set_aux_power(True)
    plant.start_insulation_check()
    clock.sleep(plant.sim["insulation_check_s"] + 0.1)
    assert plant.insulation_check_done() is good


@pytest.mark.parametrize(
    ("sim", "lines", "stops"),
    [
        ({}, ("insulation_low",), False),
        ({}, ("insulation_low", "insulation_warning"), True),
        ({"ignores_insulation_fault": True}, ("insulation_low", "insulation_warning"), False),
    ],
)
def test_an_insulation_fault_while_charging_is_a_fault_stop_unless_ignored(sim, lines, stops):
    clock, plant = insulation_plant(**sim)
    charge_dc(clock, plant, amps=100.0)
    for line in lines:
        plant.set_insulation_resistor(line, True)
    clock.sleep(0.1)
    assert (plant.output_current() <= 5.0) == stops
    assert (plant.history.first("charger", "output_cut", True) is not None) == stops


@pytest.mark.parametrize(("mismatch", "below"), [(0.0, 5.0), (-6.0, 11.0), (4.5, 0.5)])
def test_the_precharge_stands_5_v_below_the_inlet_off_by_the_mismatch(mismatch, below):
    clock, plant = dc_plant(precharge_mismatch_v=mismatch)
    battery_on(plant)
    energise_dc(clock, plant)  # closes K1/K2 once precharge_done
    before = clock.now() - 1e-6
    charger = plant.signal("charger_voltage")
    assert BATTERY_V - charger.at(before) == pytest.approx(below, abs=PRECHARGE_SETTLED_V)
    clock.sleep(0.1)
    assert charger.at(clock.now()) == pytest.approx(plant.inlet_voltage())  # closed: the inlet


def test_the_precharge_waits_for_the_output_to_stand():
    clock, plant = dc_plant()
    battery_on(plant)
    plant.ev.set_cc2_connected(True)
    plant.set_aux_power(True)
    plant.ev.set_vehicle_contactors(True)
    clock.sleep(0.1)
    plant.start_precharge(plant.inlet_voltage())
    started = clock.now()
    clock.wait_until(plant.precharge_done, timeout=5.0, poll=0.01)
    assert clock.now() - started >= PRECHARGE_HOLD_S
