"""The simulated piles' [sim] parameters of issue 10 items 2, 3 and 6, each conforming by default
and misbehaving past its limit: the timed power change's time, the DC output short, the
communication fault of a GB/T 27930 timeout, the platform link loss, the energy register."""

from __future__ import annotations

import pytest

from tests.sim.plant_helpers import ac_plant, charge_dc, charging_ac, dc_plant, time_to

SHORT_STOP_S = 1.0  # changji:4.2.5:short_circuit_stop_time (limits table)


def charging_into_a_battery_that_hardly_sources(clock, plant) -> None:
    """As the bench holds the battery simulator: it may source 5 A only (bench/api/dc/vehicle.py)."""
    charge_dc(clock, plant)
    plant.battery.set_current_limits(5.0, -200.0)
    clock.sleep(0.5)


# -- 4.2.9.3 / 4.2.10.3: the timed power change ------------------------------------------------
@pytest.mark.parametrize("offset", [0.0, -2.5, 61.0])
def test_timed_power_change_fires_timed_power_offset_s_from_its_time(offset):
    clock, plant = dc_plant(timed_power_offset_s=offset)
    due = clock.wall_time() + 100.0
    plant.platform.timed_power_change(due, 30_000.0)
    clock.sleep(200.0)
    fired = plant.history.first("platform", "timed")
    assert fired is not None and clock.epoch + fired == pytest.approx(due + offset)
    assert plant.history.last_value("charger", "platform_power_w") == 30_000.0


def test_the_timed_start_keeps_its_time_whatever_the_power_offset():
    clock, plant = ac_plant(timed_power_offset_s=30.0)
    due = clock.wall_time() + 100.0
    plant.platform.timed_start(due)
    clock.sleep(150.0)
    assert clock.epoch + plant.history.first("platform", "timed") == pytest.approx(due)


# -- 4.2.5: the DC output short ------------------------------------------------------------------
@pytest.mark.parametrize("stop_s", [0.02, 1.0])
def test_an_output_short_trips_after_short_circuit_stop_s(stop_s):
    clock, plant = dc_plant(short_circuit_stop_s=stop_s)
    notes = []
    plant.add_listener(notes.append)
    charging_into_a_battery_that_hardly_sources(clock, plant)
    plant.platform.events()
    shorted = clock.now()
    plant.wires()["output_short"](True)
    clock.sleep(2.0)
    assert plant.inlet_voltage() < 5.0  # the short holds the inlet down
    off = time_to(plant.signal("output_current"), shorted, clock.now(), 5.0, False)
    assert off == pytest.approx(stop_s + plant.sim["cst_current_delay_s"], abs=0.005)
    assert (off <= SHORT_STOP_S) == (stop_s == 0.02)
    assert "short_circuit" in notes
    assert [e["kind"] for e in plant.platform.events()][:2] == ["protection", "stop"]


def test_a_charger_that_ignores_the_short_keeps_delivering_into_it():
    clock, plant = dc_plant(ignores_output_short=True)
    charging_into_a_battery_that_hardly_sources(clock, plant)
    plant.platform.events()
    plant.wires()["output_short"](True)
    clock.sleep(3.0)
    assert plant.output_current() == pytest.approx(100.0, abs=1e-6)
    assert plant.inlet_voltage() < 5.0
    assert plant.platform.events() == []


def test_opening_the_short_before_the_trip_cancels_it():
    clock, plant = dc_plant(short_circuit_stop_s=0.5)
    charge_dc(clock, plant)
    plant.wires()["output_short"](True)
    clock.sleep(0.1)
    plant.wires()["output_short"](False)
    clock.sleep(2.0)
    assert plant.output_current() == pytest.approx(100.0, abs=1e-3)


# -- 4.2.5: communication faults ------------------------------------------------------------------
@pytest.mark.parametrize("ignores", [False, True])
def test_communication_faults_are_uploaded_and_ignores_can_loss_is_exposed(ignores):
    _, plant = dc_plant(ignores_can_loss=ignores)
    plant.communication_fault("GB/T 27930 bcl timeout (CEM)")
    assert [(e["kind"], e["detail"]) for e in plant.platform.events()] == [
        ("communication_fault", "GB/T 27930 bcl timeout (CEM)")
    ]
    assert plant.stops_on_communication_loss is not ignores


@pytest.mark.parametrize("uploads", [True, False])
def test_a_platform_link_loss_is_recorded_once_per_outage(uploads):
    clock, plant = ac_plant(uploads_link_loss=uploads)
    port = plant.platform
    port.link_lost("no request for 5 s")
    clock.sleep(3.0)
    port.link_lost("no request for 5 s")  # the same outage
    port.link_restored()
    port.link_lost("connection closed")  # a second one
    events = port.events()
    assert [e["kind"] for e in events] == (["communication_fault"] * 2 if uploads else [])
    if uploads:
        assert events[0]["pile_time"] == pytest.approx(clock.wall_time() - 3.0)
        assert "connection closed" in events[1]["detail"]


# -- 4.4.3: the energy register --------------------------------------------------------------------
@pytest.mark.parametrize("error", [0.0, 2.5])
def test_the_energy_register_reads_the_delivered_energy_times_the_meter_error(error):
    clock, plant = ac_plant(meter_error_pct=error)
    charging_ac(clock, plant)
    clock.sleep(600.0)
    delivered = plant.energy_kwh()
    assert delivered > 0.1
    assert plant.platform.realtime()["energy_kwh"] == pytest.approx(delivered * (1 + error / 100), rel=1e-9)
