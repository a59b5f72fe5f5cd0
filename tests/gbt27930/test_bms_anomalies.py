"""The BMS emulator scripted to misbehave (issue 13), and the simulated charger's reactions:
the knobs of a non-conforming charger (timeout factor, reconnection attempts)."""

import pytest

from bench.protocols.gbt27930 import timing
from bench.protocols.gbt27930.charger import ChargerBehaviour
from tests.gbt27930.fakes import RATINGS, EmulatedSession


def cem_flags(values):
    return {k for k, v in values.items() if v == "timeout"}


def charging(emu):
    emu.charge()
    emu.bms.request(400.0, 80.0)
    emu.clock.sleep(1.0)
    assert emu.plant.current_a == 80.0


def test_a_patient_bms_never_answers_a_timeout_with_bem(make_emu):
    emu = make_emu(insulation_s=1.0)
    emu.bms.hold_timeouts()
    emu.bms.go_silent(["BRM"])
    emu.charger.silence(["CRM"])  # the BMS's CRM(0xAA) timeout would fire first
    emu.clock.sleep(12.0)
    assert not emu.seen("BEM") and emu.bms.events_named("timeout_held")


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_the_timeout_factor_scales_every_timeout_the_charger_applies(make_emu, factor):
    emu = make_emu(behaviour=ChargerBehaviour(timeout_factor=factor), insulation_s=1.0)
    emu.bms.hold_timeouts()
    emu.bms.go_silent(["BRM"])
    emu.run_until(lambda: emu.seen("CEM"), 20, "CEM")
    assert emu.first("CEM")[0] - emu.first("CRM")[0] == pytest.approx(factor * timing.DEFAULT_TIMEOUT_S)


@pytest.mark.parametrize("attempts", [2, 4])
def test_the_charger_gives_up_after_its_own_number_of_reconnections(make_emu, attempts):
    emu = make_emu(behaviour=ChargerBehaviour(reconnect_attempts=attempts))
    emu.bms.hold_timeouts()
    emu.bms.go_silent(["BRM"])
    emu.run_until(lambda: emu.charger.phase == "aborted", 80, "charger gives up")
    assert [e.details["attempt"] for e in emu.charger.events_named("reconnect")] == list(range(1, attempts + 1))


def test_bro_that_never_becomes_ready_times_out_after_60_s(emu):
    emu.bms.hold_timeouts()
    emu.bms.stay_not_ready()
    emu.run_until(lambda: emu.seen("CEM"), 100, "CEM")
    t_cem, cem = emu.first("CEM")
    assert cem_flags(cem) == {"bro_timeout"}
    assert t_cem - emu.first("CML")[0] == pytest.approx(timing.READY_TIMEOUT_S)
    assert not emu.plant.called("set_contactors")


def test_a_bcl_of_the_wrong_length_is_no_bcl(emu):
    charging(emu)
    emu.bms.send_wrong_length("BCL", 4)
    since = emu.clock.now()
    emu.run_until(lambda: emu.seen("CEM"), 5, "CEM")
    t_cem, cem = emu.first("CEM")
    assert cem_flags(cem) == {"bcl_timeout"}
    assert t_cem - since == pytest.approx(timing.BCL_TIMEOUT_S, abs=0.06)
    assert emu.charger.events_named("discarded")
    assert emu.plant.current_a == 0.0


def test_aborted_bcs_transfers_never_arrive(emu):
    charging(emu)
    emu.bms.abort_transfers("BCS")
    since = emu.clock.now()
    emu.run_until(lambda: emu.seen("CEM"), 10, "CEM")
    t_cem, cem = emu.first("CEM")
    assert cem_flags(cem) == {"bcs_timeout"}
    assert t_cem - since == pytest.approx(timing.DEFAULT_TIMEOUT_S, abs=0.3)
    assert emu.bms.sending("BCL") is False  # the BMS saw CEM


def test_a_bms_that_restarts_its_handshake_is_reconnected_and_charged_again(emu):
    charging(emu)
    assert emu.bms.restart_handshake()
    emu.run_until(lambda: emu.seen("CEM"), 5, "CEM")
    assert cem_flags(emu.first("CEM")[1]) == {"bcl_timeout"}
    assert emu.plant.current_a == 0.0
    emu.run_until(lambda: emu.charger.phase == "charging" and emu.bms.phase == "charging", 30, "charging again")
    assert emu.charger.reconnects == 1


def test_a_late_brm_past_its_timeout_is_charged_on_the_reconnection():
    emu = EmulatedSession(insulation_s=1.0)
    try:
        emu.bms.hold_timeouts()
        emu.bms.go_silent(["BRM"])
        emu.clock.call_later(1.0 + 6.0, emu.bms.resume)
        emu.run_until(lambda: emu.charger.phase == "charging", 60, "charging")
        assert emu.charger.reconnects == 1 and cem_flags(emu.first("CEM")[1]) == {"brm_timeout"}
    finally:
        emu.close()


@pytest.mark.parametrize("checks", [True, False])
def test_a_vehicle_below_the_chargers_range_gets_cml_then_cst_and_no_current(make_emu, checks):
    below = RATINGS.min_voltage_v - 20.0
    emu = make_emu(behaviour=ChargerBehaviour(checks_voltage_range=checks), battery_v=below - 10.0, insulation_s=1.0)
    emu.bms.announce_max_charge_voltage(below)
    emu.bms.request(below, 50.0)
    emu.run_until(lambda: emu.seen("CST") or emu.charger.phase == "charging", 30, "CST or charging")
    if checks:
        t_cst, cst = emu.first("CST")
        assert cst["fault_stop"] == "yes" and cst["voltage_abnormal"] == "yes"
        assert t_cst - emu.first("CML")[0] < 0.1  # one CML, then CST at once
        assert not emu.seen("CRO") and not emu.plant.called("set_contactors") and not emu.seen("CEM")
        assert not [f for f in emu.monitor.findings if f.kind == "phase_order"]
    else:
        assert emu.charger.phase == "charging" and emu.plant.called("set_contactors")
