"""Each receive timeout of the standard: the right BEM/CEM at the right time, then the stop.

docs/limits.md §3: BRM, BCP, BRO and BCS 5 s; BCL and CCS 1 s; 3 reconnection attempts.
"""

import pytest

from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930 import timing
from bench.protocols.gbt27930.charger import ChargerBehaviour
from tests.gbt27930.fakes import EmulatedSession


def error_frames(emu, name):
    """Values of the first BEM/CEM and when it was sent."""
    return emu.first(name)


def only_flag(values, flag):
    set_flags = {k for k, v in values.items() if v == "timeout"}
    return set_flags == {flag}


@pytest.mark.parametrize(
    "silenced, armed_by, flag",
    [
        ("BRM", "CRM", "brm_timeout"),  # from the first CRM(0x00)
        ("BCP", "CRM 0xAA", "bcp_timeout"),  # from the first CRM(0xAA), the vehicle's cue for BCP
        ("BRO", "BCP", "bro_timeout"),  # from the BCP that started CML
    ],
)
def test_charger_times_out_the_handshake_and_configuration(emu, silenced, armed_by, flag):
    emu.bms.go_silent([silenced])
    emu.run_until(lambda: emu.seen("CEM"), 40, "CEM")
    t_cem, cem = error_frames(emu, "CEM")
    assert only_flag(cem, flag)
    if armed_by == "CRM 0xAA":
        armed_at = next(t for t, v in emu.seen("CRM") if v["recognition"] == "recognized")
    else:
        armed_at = emu.first(armed_by)[0]
    assert t_cem - armed_at == pytest.approx(timing.DEFAULT_TIMEOUT_S)
    assert emu.charger.phase == "error"
    # the stop: three reconnection attempts, each restarting at CRM(0x00), then the charger gives up
    emu.run_until(lambda: emu.charger.phase == "aborted", 60, "charger gives up")
    assert emu.charger.reconnects == timing.MAX_RECONNECTS
    assert [e.details["attempt"] for e in emu.charger.events_named("reconnect")] == [1, 2, 3]
    assert len(emu.charger.events_named("timeout")) == 1 + timing.MAX_RECONNECTS
    assert not emu.plant.called("set_contactors")  # no energy ever flowed
    assert fk.TIMEOUT_REPORTED in {f.kind for f in emu.monitor.findings}


def charging_then_silence(emu, name):
    emu.charge()
    emu.bms.request(400.0, 80.0)
    emu.clock.sleep(2.0)
    assert emu.plant.current_a == 80.0
    emu.bms.go_silent([name])
    emu.run_until(lambda: emu.seen("CEM"), 10, "CEM")
    return emu.first("CEM")


@pytest.mark.parametrize(
    "silenced, flag, seconds",
    [
        ("BCL", "bcl_timeout", timing.BCL_TIMEOUT_S),
        ("BCS", "bcs_timeout", timing.DEFAULT_TIMEOUT_S),
    ],
)
def test_charger_times_out_bcl_and_bcs_and_stops_the_output(emu, silenced, flag, seconds):
    t_cem, cem = charging_then_silence(emu, silenced)
    assert only_flag(cem, flag)
    last = emu.monitor.streams[(0x1000 if silenced == "BCL" else 0x1100, 0xF4, 0x56)].last_time
    assert t_cem - last == pytest.approx(seconds)
    stop = emu.plant.called("stop_output")
    assert stop and stop[0][0] == pytest.approx(t_cem)
    assert emu.plant.current_a == 0.0
    emu.clock.sleep(0.05)
    assert emu.plant.called("set_contactors")[-1][2] == (False,) and not emu.charger.contactors_closed
    assert emu.bms.phase == "error"  # the BMS saw CEM and stopped its side
    assert not emu.bms.sending("BCL") and not emu.bms.sending("BSM")


def test_bcl_timeout_three_reconnections_then_stop(emu):
    charging_then_silence(emu, "BCL")
    emu.run_until(lambda: emu.charger.phase == "aborted", 60, "charger gives up")
    cems = [e for e in emu.changes if e.name == "CEM"]
    assert emu.charger.reconnects == timing.MAX_RECONNECTS
    assert len(emu.charger.events_named("timeout")) == 1 + timing.MAX_RECONNECTS
    assert all(only_flag(e.values, "bcl_timeout") for e in cems)
    # each attempt reached charging again (and closed K1/K2) before BCL was missed again
    assert [c[2] for c in emu.plant.called("set_contactors")].count((True,)) == 1 + timing.MAX_RECONNECTS


def test_bms_times_out_ccs_with_bem_and_the_charger_stops(emu):
    emu.charge()
    emu.bms.request(400.0, 80.0)
    emu.clock.sleep(2.0)
    emu.charger.silence(["CCS"])
    emu.run_until(lambda: emu.seen("BEM"), 10, "BEM")
    t_bem, bem = emu.first("BEM")
    assert only_flag(bem, "ccs_timeout")
    last_ccs = emu.monitor.streams[(0x1200, 0x56, 0xF4)].last_time
    assert t_bem - last_ccs == pytest.approx(timing.CCS_TIMEOUT_S)
    assert emu.bms.phase == "error" and not emu.bms.sending("BCL")
    assert emu.plant.called("stop_output")[0][0] == pytest.approx(t_bem)  # the charger obeys BEM
    assert emu.charger.phase == "error"


def test_bms_times_out_a_missing_cst_after_bst(emu):
    emu.charge()
    emu.charger.silence(["CST"])
    emu.bms.stop()
    emu.run_until(lambda: emu.seen("BEM"), 10, "BEM")
    t_bem, bem = emu.first("BEM")
    assert only_flag(bem, "cst_timeout")
    assert t_bem - emu.first("BST")[0] == pytest.approx(timing.DEFAULT_TIMEOUT_S)


def test_bms_times_out_a_charger_that_never_sends_crm(make_emu):
    emu = make_emu(insulation_s=1000.0)  # the charger stays in CHM; then stops CHM
    emu.clock.sleep(2.0)
    emu.charger.quiet()
    emu.run_until(lambda: emu.seen("BEM"), 10, "BEM")
    t_bem, bem = emu.first("BEM")
    assert only_flag(bem, "crm_00_timeout")
    assert t_bem - emu.monitor.streams[(0x2600, 0x56, 0xF4)].last_time == pytest.approx(timing.DEFAULT_TIMEOUT_S)


def test_the_live_monitor_reports_a_bus_that_went_quiet(emu):
    emu.charge()
    emu.bms.go_silent()
    emu.charger.silence()
    emu.clock.sleep(1.5)
    stale = {f.message.split()[0] for f in emu.monitor.findings if f.kind == fk.MESSAGE_TIMEOUT}
    assert stale == {"BCL", "CCS"}


def test_a_timeout_is_reported_to_the_platform_side_as_a_communication_fault(emu):
    """Attachment 3 4.2.5: the charger records a communication fault and reports it."""
    t_cem, _ = charging_then_silence(emu, "BCL")
    faults = emu.plant.called("communication_fault")
    assert faults and faults[0][0] == pytest.approx(t_cem, abs=0.05)
    assert "bcl timeout" in faults[0][2][0]


def test_a_charger_that_ignores_timeouts_keeps_charging_and_reports_nothing():
    emu = EmulatedSession(behaviour=ChargerBehaviour(stop_on_timeout=False))
    emu.charge()
    emu.bms.request(400.0, 80.0)
    emu.clock.sleep(2.0)
    emu.bms.go_silent()
    emu.clock.sleep(10.0)
    assert emu.plant.current_a == 80.0 and emu.charger.phase == "charging"
    assert not emu.seen("CEM") and not emu.plant.called("communication_fault")
    assert emu.charger.events_named("timeout_ignored")
