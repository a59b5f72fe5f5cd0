"""BMS emulator and charger state machine complete sessions on virtual time; the monitor judges."""

from types import SimpleNamespace

import pytest

from bench.protocols.gbt27930 import timing
from bench.protocols.gbt27930.battery import ABNORMAL_CONDITIONS
from bench.protocols.gbt27930.bms_config import BmsConfig, ExtensionConfig
from bench.protocols.gbt27930.charger import ChargerBehaviour


def finish(emu, **stop):
    emu.bms.stop(**stop)
    emu.run_until(lambda: emu.bms.phase == "ended" and emu.charger.phase == "ended", 10, "session end")


def test_a_conforming_session_gives_no_finding(emu):
    emu.charge()
    emu.bms.request(400.0, 100.0, "cc")
    emu.clock.sleep(12)
    emu.bms.request(410.0, 20.0, "cv")
    emu.clock.sleep(3)
    finish(emu)
    assert emu.monitor.findings == []
    assert emu.bms.findings.findings == [] and emu.charger.findings.findings == []
    assert [p for _, p in emu.monitor.phases] == ["handshake", "configuration", "charging", "end"]
    stats = emu.monitor.stats()
    for name in (
        "CHM",
        "BHM",
        "CRM",
        "BRM",
        "BCP",
        "CTS",
        "CML",
        "BRO",
        "CRO",
        "BCL",
        "BCS",
        "CCS",
        "BSM",
        "BST",
        "CST",
        "BSD",
        "CSD",
        "BEX",
        "BVM",
    ):
        assert stats[name]["count"] > 0, name
    assert "BEM" not in stats and "CEM" not in stats


def test_chm_keeps_coming_while_the_insulation_check_runs(emu):
    emu.charge()
    chm, bhm = emu.monitor.stats()["CHM"], emu.monitor.stats()["BHM"]
    assert chm["count"] == 64 and chm["mean_period_s"] == pytest.approx(0.25)  # 16 s insulation check
    assert bhm["count"] == 65
    assert emu.first("CRM")[0] == pytest.approx(16.0)


def test_each_side_learns_the_other_only_from_frames(emu):
    emu.charge()
    emu.bms.request(380.0, 50.0)
    emu.clock.sleep(1)
    charger_view = emu.bms.charger
    assert charger_view.value("CRM", "charger_number") == 1
    assert charger_view.get("CML") == {
        "max_output_voltage": 950.0,
        "min_output_voltage": 150.0,
        "max_output_current": -250.0,
        "min_output_current": 0.0,
    }
    assert charger_view.value("CCS", "output_current") == -50.0
    assert charger_view.value("CHM", "protocol_version") == "1.1"
    vehicle = emu.charger.vehicle
    assert vehicle.value("BRM", "vin") == BmsConfig().vin
    assert vehicle.value("BCP", "max_charge_current") == -250.0
    assert emu.plant.demand == (380.0, 50.0, "cc")


def test_bcs_carries_the_measurement_not_the_request(make_emu):
    emu = make_emu(measure=True)
    emu.charge()
    emu.bms.measure_fn = lambda: (399.9, 37.5)  # the bench's analyzer, say
    emu.bms.request(420.0, 100.0)
    emu.clock.sleep(1)
    bcs = emu.charger.vehicle.get("BCS")
    assert (bcs["voltage"], bcs["current"]) == (399.9, -37.5)
    assert emu.charger.vehicle.value("BCL", "current_demand") == -100.0


def test_without_a_measurement_bcs_uses_the_last_ccs(make_emu):
    emu = make_emu(measure=False)
    emu.charge()
    emu.bms.request(420.0, 60.0)
    emu.clock.sleep(1)
    bcs = emu.charger.vehicle.get("BCS")
    assert bcs["current"] == -60.0 and bcs["voltage"] == pytest.approx(378.0 + 60 * 0.05)


def test_soc_rises_with_the_measured_charge(make_emu):
    emu = make_emu(config=BmsConfig(capacity_ah=100.0, soc_pct=50.0))
    emu.charge()
    emu.bms.request(420.0, 100.0)
    emu.clock.sleep(36.0)  # 1 Ah of 100 Ah: +1 %
    assert emu.bms.battery.soc_pct == pytest.approx(51.0, abs=0.05)


def test_request_profile_over_time(emu):
    emu.charge()
    start = emu.clock.now()
    emu.bms.request_profile([(0.0, 400.0, 10.0, "cc"), (2.0, 400.0, 80.0, "cc"), (4.0, 405.0, 30.0, "cv")])
    emu.clock.sleep(1.0)
    assert emu.plant.demand == (400.0, 10.0, "cc")
    emu.clock.sleep(2.0)
    assert emu.plant.demand == (400.0, 80.0, "cc")
    emu.clock.sleep(2.0)
    assert emu.plant.demand == (405.0, 30.0, "cv")
    modes = [(t - start, v["mode"]) for t, v in emu.seen("BCL") if t >= start]
    assert modes[-1][1] == "cv" and 4.0 <= modes[-1][0] <= 4.0 + 0.05  # the next BCL


@pytest.mark.parametrize("condition", sorted(ABNORMAL_CONDITIONS))
def test_abnormal_bsm_status_makes_the_charger_stop_with_fault_bits(emu, condition):
    emu.charge()
    emu.bms.request(400.0, 100.0)
    emu.clock.sleep(1.0)
    reported = emu.clock.now()
    emu.bms.report_abnormal(condition)
    emu.run_until(lambda: emu.charger.phase == "stopping", 2.0)
    t_cst, cst = emu.first("CST")
    assert cst["fault_stop"] == "yes"
    field, _ = ABNORMAL_CONDITIONS[condition]
    expected = {
        "cell_voltage": "voltage_abnormal",
        "overcurrent": "current_mismatch",
        "connector": "connector_fault",
    }.get(field, "other_fault")
    assert cst[expected] == "yes"
    assert t_cst - reported <= 0.25 + 1e-9  # one BSM period; docs/limits.md: within 1 s
    assert emu.plant.called("stop_output")[-1][2] == (True,)
    assert emu.first("BST")[1] is None or emu.first("BST")[0] >= t_cst  # the BMS did not stop by itself


def test_a_charger_that_ignores_bsm_keeps_charging(make_emu):
    emu = make_emu(behaviour=ChargerBehaviour(stop_on_bsm_abnormal=False))
    emu.charge()
    emu.bms.report_abnormal("overtemperature")
    emu.clock.sleep(3.0)
    assert emu.charger.phase == "charging" and emu.seen("CST") == []
    assert emu.charger.vehicle.value("BSM", "overtemperature") == "abnormal"


def test_battery_values_reach_the_charger_without_bst(make_emu):
    emu = make_emu(config=BmsConfig(send_bmv=True, send_bmt=True, cells=4, temperature_probes=3))
    emu.charge()
    emu.bms.set_temperatures(40.0, spread_c=20.0)
    emu.bms.set_cell_voltages([3.30, 3.95, 3.31, 3.29])
    emu.clock.sleep(10.5)
    v = emu.charger.vehicle
    assert (v.value("BSM", "highest_temperature"), v.value("BSM", "lowest_temperature")) == (50, 30)
    assert v.value("BSM", "highest_cell_number") == 2
    assert v.value("BCS", "highest_cell_voltage") == 3.95
    assert v.get("BMV")["cell_voltage"] == [3.30, 3.95, 3.31, 3.29]
    assert v.get("BMT")["temperature"] == [30, 40, 50]
    assert v.value("BEX", "lowest_cell_voltage") == 3.29 and v.value("BEX", "lowest_cell_number") == 4
    assert emu.seen("BST") == [] and emu.charger.phase == "charging"


def test_charging_prohibited_pauses_the_output(emu):
    emu.charge()
    emu.bms.request(400.0, 100.0)
    emu.clock.sleep(0.5)
    emu.bms.set_charging_allowed(False)
    emu.clock.sleep(0.5)
    assert emu.plant.demand == (400.0, 0.0, "cc")
    assert emu.charger.peer.value("BSM", "charging_allowed") == "prohibited"
    assert emu.bms.charger.value("CCS", "charging_permitted") == "paused"
    emu.bms.set_charging_allowed(True)
    emu.clock.sleep(0.5)
    assert emu.plant.demand == (400.0, 100.0, "cc")


def test_output_above_the_vehicle_maximum_stops_within_1_s(emu):
    emu.charge()
    emu.bms.request(400.0, 50.0)
    emu.clock.sleep(1.0)
    emu.plant.output_offset_v = 50.0  # 378 + 2.5 + 50 > 426.1 (BCP maximum)
    started = emu.clock.now()
    emu.run_until(lambda: emu.charger.phase == "stopping", 2.0)
    t_cst, cst = emu.first("CST")
    assert cst["fault_stop"] == "yes" and cst["voltage_abnormal"] == "yes"
    assert t_cst - started <= timing.OVERVOLTAGE_STOP_S


def test_a_charger_that_ignores_overvoltage(make_emu):
    emu = make_emu(behaviour=ChargerBehaviour(stop_on_overvoltage=False))
    emu.charge()
    emu.plant.output_offset_v = 60.0
    emu.clock.sleep(3.0)
    assert emu.charger.phase == "charging"


def test_charger_initiated_stop_ends_cleanly(emu):
    emu.charge()
    emu.bms.request(400.0, 100.0)
    emu.clock.sleep(61.0)
    assert emu.charger.stop("manual")
    emu.run_until(lambda: emu.bms.phase == "ended" and emu.charger.phase == "ended", 10)
    assert emu.first("CST")[1]["manual_stop"] == "yes"
    t_bst, bst = emu.first("BST")
    assert bst["charger_stopped"] == "yes"
    assert emu.first("BSD")[0] >= t_bst + 0.1 - 1e-9
    assert emu.plant.called("set_contactors")[-1][2] == (False,)
    assert emu.plant.called("start_bleed_off")
    assert emu.monitor.findings == []
    csd = emu.bms.charger.get("CSD")
    assert csd["energy"] == round(378.0 * 100 * 61.0 / 3.6e6, 1) and csd["charging_time"] == 1


def test_bms_stop_reason_and_faults_reach_the_charger(emu):
    emu.charge()
    emu.bms.stop("total_voltage_reached", faults=["battery_overtemperature"])
    emu.run_until(lambda: emu.charger.phase == "statistics", 2)
    bst = emu.charger.vehicle.get("BST")
    assert bst["total_voltage_reached"] == "yes" and bst["battery_overtemperature"] == "yes"
    assert emu.first("CST")[1]["bms_stopped"] == "yes"
    assert emu.plant.called("stop_output")[-1][2] == (True,)  # a fault in BST: fast stop


def test_inlet_voltage_far_from_bcp_is_a_fault(make_emu):
    emu = make_emu(measure=False)
    emu.plant.battery_v = 378.0 * (1 + timing.INLET_VOLTAGE_TOLERANCE) + 5  # BCP says sum of cells
    emu.bms.battery.set_cell_voltages(378.0 / 114)
    emu.run_until(lambda: emu.charger.phase in ("stopping", "charging"), 25)
    assert emu.charger.phase == "stopping"
    cst = emu.first("CST")[1]
    assert cst["fault_stop"] == "yes" and cst["voltage_abnormal"] == "yes"
    assert not emu.plant.called("set_contactors")


def test_insulation_fault_ends_the_handshake(make_emu):
    emu = make_emu(insulation_ok=False, insulation_s=2.0)
    emu.clock.sleep(5.0)
    assert emu.charger.phase == "fault" and emu.seen("CRM") == []


def test_not_connected_vehicle_is_not_started(make_emu):
    emu = make_emu(connected=False)
    emu.clock.sleep(1.0)
    assert emu.charger.phase == "idle" and emu.seen("CHM") == []


def test_extension_frames_carry_the_4_2_7_values(make_emu):
    ext = ExtensionConfig(
        lowest_cell_voltage_v=3.05,
        lowest_cell_number=17,
        heating_status="on",
        cooling_status="off",
        internal_resistance_mohm=92.5,
        vehicle_model="BYD7009BEV3",
    )
    emu = make_emu(config=BmsConfig(extension=ext))
    emu.charge()
    emu.clock.sleep(5.5)
    assert emu.charger.vehicle_data() == {
        "vin": BmsConfig().vin,
        "rated_capacity_ah": 152.0,
        "lowest_cell_voltage": 3.05,
        "lowest_cell_number": 17,
        "heating_status": "on",
        "cooling_status": "off",
        "internal_resistance": 92.5,
        "vehicle_model": "BYD7009BEV3",
    }
    bvm = [e for e in emu.changes if e.name == "BVM"]
    assert bvm[0].via_tp and bvm[0].length == 11
    stats = emu.monitor.stats()
    assert stats["BEX"]["mean_period_s"] == pytest.approx(1.0) and stats["BVM"]["count"] == 2


def test_a_short_vehicle_model_is_one_frame(make_emu):
    emu = make_emu(config=BmsConfig(extension=ExtensionConfig(vehicle_model="EV-8")))
    emu.charge()
    emu.clock.sleep(0.5)
    bvm = [e for e in emu.changes if e.name == "BVM"]
    assert not bvm[0].via_tp and bvm[0].values == {"vehicle_model": "EV-8"}


def test_a_profile_extension_dbc_replaces_the_default(make_emu, tmp_path):
    dbc = tmp_path / "own.dbc"
    dbc.write_text(OWN_EXTENSION_DBC)
    ext = ExtensionConfig(lowest_cell_voltage_v=3.1, internal_resistance_mohm=70.0, dbc=str(dbc))
    emu = make_emu(config=BmsConfig(extension=ext), start=False)
    emu.charger.close()
    from bench.protocols.gbt27930.charger import ChargerStateMachine

    from .fakes import RATINGS

    emu.charger = ChargerStateMachine(emu.charger_bus, emu.plant, RATINGS, extension_dbc_path=str(dbc))
    emu.bms.start()
    emu.charger.start()
    emu.charge()
    emu.clock.sleep(2.5)
    own = emu.charger.vehicle.get("OWN_BATT")
    assert own == {"lowest_cell_voltage": 3.1, "internal_resistance": 70.0}
    assert emu.charger.vehicle.get("BEX") is None


OWN_EXTENSION_DBC = """VERSION ""

NS_ :

BS_:

BU_: BMS Charger

BO_ 2566914292 OWN_BATT: 4 BMS
 SG_ lowest_cell_voltage : 0|16@1+ (0.001,0) [0|65.535] "V" Charger
 SG_ internal_resistance : 16|16@1+ (1,0) [0|65535] "mOhm" Charger

BA_DEF_ BO_  "GenMsgCycleTime" INT 0 65535;
BA_DEF_DEF_  "GenMsgCycleTime" 0;
BA_ "GenMsgCycleTime" BO_ 2566914292 500;
"""


def test_sleeping_vehicle_answers_only_after_the_aux_supply_is_cycled(emu):
    emu.bms.sleep()
    emu.clock.sleep(3.0)
    assert emu.seen("CHM") and emu.seen("BHM") == []
    emu.charger.wake_vehicle(aux_off_s=5.0)  # too short for this vehicle (10 s)
    emu.clock.sleep(8.0)
    assert emu.bms.phase == "asleep" and emu.seen("BHM") == []
    emu.charger.wake_vehicle(aux_off_s=11.0)
    off_at = emu.clock.now()
    emu.clock.sleep(12.0)
    assert [c[2] for c in emu.plant.called("set_aux_power")][-2:] == [(False,), (True,)]
    assert emu.bms.events_named("woken")[0].details["off_for_s"] == pytest.approx(11.0)
    assert emu.first("BHM")[0] == pytest.approx(off_at + 11.0)
    emu.charge(30)


def test_a_charger_that_does_not_restart_after_wake_up(make_emu):
    emu = make_emu(behaviour=ChargerBehaviour(wake_restarts_communication=False))
    emu.bms.sleep()
    emu.clock.sleep(1.0)
    emu.charger.wake_vehicle(aux_off_s=11.0)
    emu.clock.sleep(15.0)
    assert emu.bms.phase == "waiting" and emu.charger.phase == "idle"
    chm = emu.monitor.streams[(0x2600, 0x56, 0xF4)]
    assert chm.last_time <= 1.0 and emu.seen("BHM") == []


def test_from_vehicle_reads_the_profile_table():
    ext = SimpleNamespace(
        lowest_cell_voltage_v=3.1,
        lowest_cell_number=5,
        heating_status="on",
        cooling_status="off",
        internal_resistance_mohm=60.0,
        vehicle_model="X1",
        dbc=None,
    )
    vehicle = SimpleNamespace(
        battery_type="ternary",
        capacity_ah=120.0,
        rated_voltage_v=350.0,
        max_charge_voltage_v=400.0,
        max_charge_current_a=200.0,
        max_cell_voltage_v=4.2,
        max_temperature_c=55.0,
        nominal_energy_kwh=42.0,
        soc_pct=30.0,
        temperature_c=20.0,
        cells=96,
        vin="LSVAB1234C5678901",
        bms_protocol_version="1.1",
        extension=ext,
    )
    config = BmsConfig.from_vehicle(vehicle, send_bmv=True)
    assert config.battery_type == "ternary" and config.cells == 96 and config.send_bmv
    assert config.extension.vehicle_model == "X1" and config.extension.heating_status == "on"


@pytest.mark.parametrize("bad", [{"battery_type": "diesel"}, {"vin": "SHORT"}, {"brm_length": 45}])
def test_bad_vehicle_settings_are_refused(bad):
    from bench.core.errors import BenchError

    with pytest.raises(BenchError):
        BmsConfig(**bad)


def test_a_monitor_sharing_the_bms_bus_sees_bus_order_whenever_it_subscribed():
    """On one ClockedBus (real hardware: one interface) an observer sees frames in bus order
    whether it subscribed before or after the BMS: the BMS's TP.DT replies are handed to
    send-listeners only after the CTS that asked for them (ClockedBus holds them back)."""
    from bench.core.canbus import virtual_bus
    from bench.core.clock import VirtualClock
    from bench.protocols.gbt27930.bms import BmsEmulator
    from bench.protocols.gbt27930.charger import ChargerStateMachine
    from bench.protocols.gbt27930.monitor import ConformanceMonitor

    from .fakes import RATINGS, FakePlant

    clock = VirtualClock()
    bench_bus, charger_bus = virtual_bus("shared-bms-bus", clock), virtual_bus("shared-bms-bus", clock)
    monitor = ConformanceMonitor(bench_bus)  # first: sees bus order
    bms = BmsEmulator(bench_bus, BmsConfig())
    late = ConformanceMonitor(bench_bus)  # after the BMS: still bus order
    plant = FakePlant(clock, bms=bms)
    charger = ChargerStateMachine(charger_bus, plant, RATINGS)
    bms.start()
    charger.start()
    clock.wait_until(lambda: charger.phase == "charging", 40)
    clock.sleep(1.0)
    assert monitor.findings == []
    assert late.findings == []
    for node in (bms, charger):
        node.close()
    bench_bus.close()
    charger_bus.close()
