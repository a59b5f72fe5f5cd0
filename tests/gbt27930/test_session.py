"""BMS emulator and charger state machine complete sessions on virtual time; the monitor judges."""

from types import SimpleNamespace

import pytest

from bench.protocols.gbt27930 import timing
from bench.protocols.gbt27930.battery import ABNORMAL_CONDITIONS
from bench.protocols.gbt27930.bms_config import BmsConfig, ExtensionConfig
from bench.protocols.gbt27930.charger import ChargerBehaviour


def finish(bench, **stop):
    bench.bms.stop(**stop)
    bench.run_until(lambda: bench.bms.phase == "ended" and bench.charger.phase == "ended", 10, "session end")


def test_a_conforming_session_gives_no_finding(bench):
    bench.charge()
    bench.bms.request(400.0, 100.0, "cc")
    bench.clock.sleep(12)
    bench.bms.request(410.0, 20.0, "cv")
    bench.clock.sleep(3)
    finish(bench)
    assert bench.monitor.findings == []
    assert bench.bms.findings.findings == [] and bench.charger.findings.findings == []
    assert [p for _, p in bench.monitor.phases] == ["handshake", "configuration", "charging", "end"]
    stats = bench.monitor.stats()
    for name in ("CHM", "BHM", "CRM", "BRM", "BCP", "CTS", "CML", "BRO", "CRO", "BCL", "BCS", "CCS", "BSM",
                 "BST", "CST", "BSD", "CSD", "BEX", "BVM"):
        assert stats[name]["count"] > 0, name
    assert "BEM" not in stats and "CEM" not in stats


def test_chm_keeps_coming_while_the_insulation_check_runs(bench):
    bench.charge()
    chm, bhm = bench.monitor.stats()["CHM"], bench.monitor.stats()["BHM"]
    assert chm["count"] == 64 and chm["mean_period_s"] == pytest.approx(0.25)   # 16 s insulation check
    assert bhm["count"] == 65
    assert bench.first("CRM")[0] == pytest.approx(16.0)


def test_each_side_learns_the_other_only_from_frames(bench):
    bench.charge()
    bench.bms.request(380.0, 50.0)
    bench.clock.sleep(1)
    charger_view = bench.bms.charger
    assert charger_view.value("CRM", "charger_number") == 1
    assert charger_view.get("CML") == {"max_output_voltage": 950.0, "min_output_voltage": 150.0,
                                       "max_output_current": -250.0, "min_output_current": 0.0}
    assert charger_view.value("CCS", "output_current") == -50.0
    assert charger_view.value("CHM", "protocol_version") == "1.1"
    vehicle = bench.charger.vehicle
    assert vehicle.value("BRM", "vin") == BmsConfig().vin
    assert vehicle.value("BCP", "max_charge_current") == -250.0
    assert bench.plant.demand == (380.0, 50.0, "cc")


def test_bcs_carries_the_measurement_not_the_request(make_bench):
    bench = make_bench(measure=True)
    bench.charge()
    bench.bms.measure_fn = lambda: (399.9, 37.5)   # the bench's analyzer, say
    bench.bms.request(420.0, 100.0)
    bench.clock.sleep(1)
    bcs = bench.charger.vehicle.get("BCS")
    assert (bcs["voltage"], bcs["current"]) == (399.9, -37.5)
    assert bench.charger.vehicle.value("BCL", "current_demand") == -100.0


def test_without_a_measurement_bcs_uses_the_last_ccs(make_bench):
    bench = make_bench(measure=False)
    bench.charge()
    bench.bms.request(420.0, 60.0)
    bench.clock.sleep(1)
    bcs = bench.charger.vehicle.get("BCS")
    assert bcs["current"] == -60.0 and bcs["voltage"] == pytest.approx(378.0 + 60 * 0.05)


def test_soc_rises_with_the_measured_charge(make_bench):
    bench = make_bench(config=BmsConfig(capacity_ah=100.0, soc_pct=50.0))
    bench.charge()
    bench.bms.request(420.0, 100.0)
    bench.clock.sleep(36.0)                       # 1 Ah of 100 Ah: +1 %
    assert bench.bms.battery.soc_pct == pytest.approx(51.0, abs=0.05)


def test_request_profile_over_time(bench):
    bench.charge()
    start = bench.clock.now()
    bench.bms.request_profile([(0.0, 400.0, 10.0, "cc"), (2.0, 400.0, 80.0, "cc"), (4.0, 405.0, 30.0, "cv")])
    bench.clock.sleep(1.0)
    assert bench.plant.demand == (400.0, 10.0, "cc")
    bench.clock.sleep(2.0)
    assert bench.plant.demand == (400.0, 80.0, "cc")
    bench.clock.sleep(2.0)
    assert bench.plant.demand == (405.0, 30.0, "cv")
    modes = [(t - start, v["mode"]) for t, v in bench.seen("BCL") if t >= start]
    assert modes[-1][1] == "cv" and 4.0 <= modes[-1][0] <= 4.0 + 0.05   # the next BCL


@pytest.mark.parametrize("condition", sorted(ABNORMAL_CONDITIONS))
def test_abnormal_bsm_status_makes_the_charger_stop_with_fault_bits(bench, condition):
    bench.charge()
    bench.bms.request(400.0, 100.0)
    bench.clock.sleep(1.0)
    reported = bench.clock.now()
    bench.bms.report_abnormal(condition)
    bench.run_until(lambda: bench.charger.phase == "stopping", 2.0)
    t_cst, cst = bench.first("CST")
    assert cst["fault_stop"] == "yes"
    field, _ = ABNORMAL_CONDITIONS[condition]
    expected = {"cell_voltage": "voltage_abnormal", "overcurrent": "current_mismatch",
                "connector": "connector_fault"}.get(field, "other_fault")
    assert cst[expected] == "yes"
    assert t_cst - reported <= 0.25 + 1e-9       # one BSM period; standards.md: within 1 s
    assert bench.plant.called("stop_output")[-1][2] == (True,)
    assert bench.first("BST")[1] is None or bench.first("BST")[0] >= t_cst   # the BMS did not stop by itself


def test_a_charger_that_ignores_bsm_keeps_charging(make_bench):
    bench = make_bench(behaviour=ChargerBehaviour(stop_on_bsm_abnormal=False))
    bench.charge()
    bench.bms.report_abnormal("overtemperature")
    bench.clock.sleep(3.0)
    assert bench.charger.phase == "charging" and bench.seen("CST") == []
    assert bench.charger.vehicle.value("BSM", "overtemperature") == "abnormal"


def test_battery_values_reach_the_charger_without_bst(make_bench):
    bench = make_bench(config=BmsConfig(send_bmv=True, send_bmt=True, cells=4, temperature_probes=3))
    bench.charge()
    bench.bms.set_temperatures(40.0, spread_c=20.0)
    bench.bms.set_cell_voltages([3.30, 3.95, 3.31, 3.29])
    bench.clock.sleep(10.5)
    v = bench.charger.vehicle
    assert (v.value("BSM", "highest_temperature"), v.value("BSM", "lowest_temperature")) == (50, 30)
    assert v.value("BSM", "highest_cell_number") == 2
    assert v.value("BCS", "highest_cell_voltage") == 3.95
    assert v.get("BMV")["cell_voltage"] == [3.30, 3.95, 3.31, 3.29]
    assert v.get("BMT")["temperature"] == [30, 40, 50]
    assert v.value("BEX", "lowest_cell_voltage") == 3.29 and v.value("BEX", "lowest_cell_number") == 4
    assert bench.seen("BST") == [] and bench.charger.phase == "charging"


def test_charging_prohibited_pauses_the_output(bench):
    bench.charge()
    bench.bms.request(400.0, 100.0)
    bench.clock.sleep(0.5)
    bench.bms.set_charging_allowed(False)
    bench.clock.sleep(0.5)
    assert bench.plant.demand == (400.0, 0.0, "cc")
    assert bench.charger.peer.value("BSM", "charging_allowed") == "prohibited"
    assert bench.bms.charger.value("CCS", "charging_permitted") == "paused"
    bench.bms.set_charging_allowed(True)
    bench.clock.sleep(0.5)
    assert bench.plant.demand == (400.0, 100.0, "cc")


def test_output_above_the_vehicle_maximum_stops_within_1_s(bench):
    bench.charge()
    bench.bms.request(400.0, 50.0)
    bench.clock.sleep(1.0)
    bench.plant.output_offset_v = 50.0             # 378 + 2.5 + 50 > 426.1 (BCP maximum)
    started = bench.clock.now()
    bench.run_until(lambda: bench.charger.phase == "stopping", 2.0)
    t_cst, cst = bench.first("CST")
    assert cst["fault_stop"] == "yes" and cst["voltage_abnormal"] == "yes"
    assert t_cst - started <= timing.OVERVOLTAGE_STOP_S


def test_a_charger_that_ignores_overvoltage(make_bench):
    bench = make_bench(behaviour=ChargerBehaviour(stop_on_overvoltage=False))
    bench.charge()
    bench.plant.output_offset_v = 60.0
    bench.clock.sleep(3.0)
    assert bench.charger.phase == "charging"


def test_charger_initiated_stop_ends_cleanly(bench):
    bench.charge()
    bench.bms.request(400.0, 100.0)
    bench.clock.sleep(61.0)
    assert bench.charger.stop("manual")
    bench.run_until(lambda: bench.bms.phase == "ended" and bench.charger.phase == "ended", 10)
    assert bench.first("CST")[1]["manual_stop"] == "yes"
    t_bst, bst = bench.first("BST")
    assert bst["charger_stopped"] == "yes"
    assert bench.first("BSD")[0] >= t_bst + 0.1 - 1e-9
    assert bench.plant.called("set_contactors")[-1][2] == (False,)
    assert bench.plant.called("start_bleed_off")
    assert bench.monitor.findings == []
    csd = bench.bms.charger.get("CSD")
    assert csd["energy"] == round(378.0 * 100 * 61.0 / 3.6e6, 1) and csd["charging_time"] == 1


def test_bms_stop_reason_and_faults_reach_the_charger(bench):
    bench.charge()
    bench.bms.stop("total_voltage_reached", faults=["battery_overtemperature"])
    bench.run_until(lambda: bench.charger.phase == "statistics", 2)
    bst = bench.charger.vehicle.get("BST")
    assert bst["total_voltage_reached"] == "yes" and bst["battery_overtemperature"] == "yes"
    assert bench.first("CST")[1]["bms_stopped"] == "yes"
    assert bench.plant.called("stop_output")[-1][2] == (True,)   # a fault in BST: fast stop


def test_inlet_voltage_far_from_bcp_is_a_fault(make_bench):
    bench = make_bench(measure=False)
    bench.plant.battery_v = 378.0 * (1 + timing.INLET_VOLTAGE_TOLERANCE) + 5     # BCP says sum of cells
    bench.bms.battery.set_cell_voltages(378.0 / 114)
    bench.run_until(lambda: bench.charger.phase in ("stopping", "charging"), 25)
    assert bench.charger.phase == "stopping"
    cst = bench.first("CST")[1]
    assert cst["fault_stop"] == "yes" and cst["voltage_abnormal"] == "yes"
    assert not bench.plant.called("set_contactors")


def test_insulation_fault_ends_the_handshake(make_bench):
    bench = make_bench(insulation_ok=False, insulation_s=2.0)
    bench.clock.sleep(5.0)
    assert bench.charger.phase == "fault" and bench.seen("CRM") == []


def test_not_connected_vehicle_is_not_started(make_bench):
    bench = make_bench(connected=False)
    bench.clock.sleep(1.0)
    assert bench.charger.phase == "idle" and bench.seen("CHM") == []


def test_extension_frames_carry_the_4_2_7_values(make_bench):
    ext = ExtensionConfig(lowest_cell_voltage_v=3.05, lowest_cell_number=17, heating_status="on",
                          cooling_status="off", internal_resistance_mohm=92.5, vehicle_model="BYD7009BEV3")
    bench = make_bench(config=BmsConfig(extension=ext))
    bench.charge()
    bench.clock.sleep(5.5)
    assert bench.charger.vehicle_data() == {
        "vin": BmsConfig().vin, "rated_capacity_ah": 152.0, "lowest_cell_voltage": 3.05, "lowest_cell_number": 17,
        "heating_status": "on", "cooling_status": "off", "internal_resistance": 92.5, "vehicle_model": "BYD7009BEV3"}
    bvm = [e for e in bench.changes if e.name == "BVM"]
    assert bvm[0].via_tp and bvm[0].length == 11
    stats = bench.monitor.stats()
    assert stats["BEX"]["mean_period_s"] == pytest.approx(1.0) and stats["BVM"]["count"] == 2


def test_a_short_vehicle_model_is_one_frame(make_bench):
    bench = make_bench(config=BmsConfig(extension=ExtensionConfig(vehicle_model="EV-8")))
    bench.charge()
    bench.clock.sleep(0.5)
    bvm = [e for e in bench.changes if e.name == "BVM"]
    assert not bvm[0].via_tp and bvm[0].values == {"vehicle_model": "EV-8"}


def test_a_profile_extension_dbc_replaces_the_default(make_bench, tmp_path):
    dbc = tmp_path / "own.dbc"
    dbc.write_text(OWN_EXTENSION_DBC)
    ext = ExtensionConfig(lowest_cell_voltage_v=3.1, internal_resistance_mohm=70.0, dbc=str(dbc))
    bench = make_bench(config=BmsConfig(extension=ext), start=False)
    bench.charger.close()
    from bench.protocols.gbt27930.charger import ChargerStateMachine
    from .fakes import RATINGS
    bench.charger = ChargerStateMachine(bench.charger_bus, bench.plant, RATINGS, extension_dbc_path=str(dbc))
    bench.bms.start()
    bench.charger.start()
    bench.charge()
    bench.clock.sleep(2.5)
    own = bench.charger.vehicle.get("OWN_BATT")
    assert own == {"lowest_cell_voltage": 3.1, "internal_resistance": 70.0}
    assert bench.charger.vehicle.get("BEX") is None


OWN_EXTENSION_DBC = '''VERSION ""

NS_ :

BS_:

BU_: BMS Charger

BO_ 2566914292 OWN_BATT: 4 BMS
 SG_ lowest_cell_voltage : 0|16@1+ (0.001,0) [0|65.535] "V" Charger
 SG_ internal_resistance : 16|16@1+ (1,0) [0|65535] "mOhm" Charger

BA_DEF_ BO_  "GenMsgCycleTime" INT 0 65535;
BA_DEF_DEF_  "GenMsgCycleTime" 0;
BA_ "GenMsgCycleTime" BO_ 2566914292 500;
'''


def test_sleeping_vehicle_answers_only_after_the_aux_supply_is_cycled(bench):
    bench.bms.sleep()
    bench.clock.sleep(3.0)
    assert bench.seen("CHM") and bench.seen("BHM") == []
    bench.charger.wake_vehicle(aux_off_s=5.0)          # too short for this vehicle (10 s)
    bench.clock.sleep(8.0)
    assert bench.bms.phase == "asleep" and bench.seen("BHM") == []
    bench.charger.wake_vehicle(aux_off_s=11.0)
    off_at = bench.clock.now()
    bench.clock.sleep(12.0)
    assert [c[2] for c in bench.plant.called("set_aux_power")][-2:] == [(False,), (True,)]
    assert bench.bms.events_named("woken")[0].details["off_for_s"] == pytest.approx(11.0)
    assert bench.first("BHM")[0] == pytest.approx(off_at + 11.0)
    bench.charge(30)


def test_a_charger_that_does_not_restart_after_wake_up(make_bench):
    bench = make_bench(behaviour=ChargerBehaviour(wake_restarts_communication=False))
    bench.bms.sleep()
    bench.clock.sleep(1.0)
    bench.charger.wake_vehicle(aux_off_s=11.0)
    bench.clock.sleep(15.0)
    assert bench.bms.phase == "waiting" and bench.charger.phase == "idle"
    chm = bench.monitor.streams[(0x2600, 0x56, 0xF4)]
    assert chm.last_time <= 1.0 and bench.seen("BHM") == []


def test_from_vehicle_reads_the_profile_table():
    ext = SimpleNamespace(lowest_cell_voltage_v=3.1, lowest_cell_number=5, heating_status="on", cooling_status="off",
                          internal_resistance_mohm=60.0, vehicle_model="X1", dbc=None)
    vehicle = SimpleNamespace(battery_type="ternary", capacity_ah=120.0, rated_voltage_v=350.0,
                              max_charge_voltage_v=400.0, max_charge_current_a=200.0, max_cell_voltage_v=4.2,
                              max_temperature_c=55.0, nominal_energy_kwh=42.0, soc_pct=30.0, temperature_c=20.0,
                              cells=96, vin="LSVAB1234C5678901", bms_protocol_version="1.1", extension=ext)
    config = BmsConfig.from_vehicle(vehicle, send_bmv=True)
    assert config.battery_type == "ternary" and config.cells == 96 and config.send_bmv
    assert config.extension.vehicle_model == "X1" and config.extension.heating_status == "on"


@pytest.mark.parametrize("bad", [{"battery_type": "diesel"}, {"vin": "SHORT"}, {"brm_length": 45}])
def test_bad_vehicle_settings_are_refused(bad):
    from bench.core.errors import BenchError
    with pytest.raises(BenchError):
        BmsConfig(**bad)


def test_a_monitor_sharing_the_bms_bus_must_listen_before_the_bms():
    """On one ClockedBus (real hardware: one interface) an observer registered before the
    actor sees frames in bus order; registered after, it would see the BMS's TP.DT replies
    before the CTS that asked for them."""
    from bench.core.canbus import virtual_bus
    from bench.core.clock import VirtualClock
    from bench.protocols.gbt27930.bms import BmsEmulator
    from bench.protocols.gbt27930.charger import ChargerStateMachine
    from bench.protocols.gbt27930.monitor import ConformanceMonitor
    from .fakes import RATINGS, FakePlant

    clock = VirtualClock()
    bench_bus, charger_bus = virtual_bus("shared-bms-bus", clock), virtual_bus("shared-bms-bus", clock)
    monitor = ConformanceMonitor(bench_bus)                      # first: sees bus order
    bms = BmsEmulator(bench_bus, BmsConfig())
    late = ConformanceMonitor(bench_bus)                         # after the BMS: does not
    plant = FakePlant(clock, bms=bms)
    charger = ChargerStateMachine(charger_bus, plant, RATINGS)
    bms.start()
    charger.start()
    clock.wait_until(lambda: charger.phase == "charging", 40)
    clock.sleep(1.0)
    assert monitor.findings == []
    assert {f.kind for f in late.findings} >= {"tp_unexpected_cts"}
    for node in (bms, charger):
        node.close()
    bench_bus.close()
    charger_bus.close()
