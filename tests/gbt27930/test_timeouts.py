"""Each receive timeout of the standard: the right BEM/CEM at the right time, then the stop.

standards.md §3: BRM, BCP, BRO and BCS 5 s; BCL and CCS 1 s; 3 reconnection attempts.
"""

import pytest

from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930 import timing


def error_frames(bench, name):
    """Values of the first BEM/CEM and when it was sent."""
    return bench.first(name)


def only_flag(values, flag):
    set_flags = {k for k, v in values.items() if v == "timeout"}
    return set_flags == {flag}


@pytest.mark.parametrize("silenced, armed_by, flag", [
    ("BRM", "CRM", "brm_timeout"),      # from the first CRM(0x00)
    ("BCP", "BRM", "bcp_timeout"),      # from the BRM that made CRM 0xAA
    ("BRO", "BCP", "bro_timeout"),      # from the BCP that started CML
])
def test_charger_times_out_the_handshake_and_configuration(bench, silenced, armed_by, flag):
    bench.bms.go_silent([silenced])
    bench.run_until(lambda: bench.seen("CEM"), 40, "CEM")
    t_cem, cem = error_frames(bench, "CEM")
    assert only_flag(cem, flag)
    assert t_cem - bench.first(armed_by)[0] == pytest.approx(timing.DEFAULT_TIMEOUT_S)
    assert bench.charger.phase == "error"
    # the stop: three reconnection attempts, each restarting at CRM(0x00), then the charger gives up
    bench.run_until(lambda: bench.charger.phase == "aborted", 60, "charger gives up")
    assert bench.charger.reconnects == timing.MAX_RECONNECTS
    assert [e.details["attempt"] for e in bench.charger.events_named("reconnect")] == [1, 2, 3]
    assert len(bench.charger.events_named("timeout")) == 1 + timing.MAX_RECONNECTS
    assert not bench.plant.called("set_contactors")      # no energy ever flowed
    assert fk.TIMEOUT_REPORTED in {f.kind for f in bench.monitor.findings}


def charging_then_silence(bench, name):
    bench.charge()
    bench.bms.request(400.0, 80.0)
    bench.clock.sleep(2.0)
    assert bench.plant.current_a == 80.0
    bench.bms.go_silent([name])
    bench.run_until(lambda: bench.seen("CEM"), 10, "CEM")
    return bench.first("CEM")


@pytest.mark.parametrize("silenced, flag, seconds", [
    ("BCL", "bcl_timeout", timing.BCL_TIMEOUT_S),
    ("BCS", "bcs_timeout", timing.DEFAULT_TIMEOUT_S),
])
def test_charger_times_out_bcl_and_bcs_and_stops_the_output(bench, silenced, flag, seconds):
    t_cem, cem = charging_then_silence(bench, silenced)
    assert only_flag(cem, flag)
    last = bench.monitor.streams[(0x1000 if silenced == "BCL" else 0x1100, 0xF4, 0x56)].last_time
    assert t_cem - last == pytest.approx(seconds)
    stop = bench.plant.called("stop_output")
    assert stop and stop[0][0] == pytest.approx(t_cem)
    assert bench.plant.current_a == 0.0
    bench.clock.sleep(0.05)
    assert bench.plant.called("set_contactors")[-1][2] == (False,) and not bench.charger.contactors_closed
    assert bench.bms.phase == "error"                      # the BMS saw CEM and stopped its side
    assert not bench.bms.sending("BCL") and not bench.bms.sending("BSM")


def test_bcl_timeout_three_reconnections_then_stop(bench):
    charging_then_silence(bench, "BCL")
    bench.run_until(lambda: bench.charger.phase == "aborted", 60, "charger gives up")
    cems = [e for e in bench.changes if e.name == "CEM"]
    assert bench.charger.reconnects == timing.MAX_RECONNECTS
    assert len(bench.charger.events_named("timeout")) == 1 + timing.MAX_RECONNECTS
    assert all(only_flag(e.values, "bcl_timeout") for e in cems)
    # each attempt reached charging again (and closed K1/K2) before BCL was missed again
    assert [c[2] for c in bench.plant.called("set_contactors")].count((True,)) == 1 + timing.MAX_RECONNECTS


def test_bms_times_out_ccs_with_bem_and_the_charger_stops(bench):
    bench.charge()
    bench.bms.request(400.0, 80.0)
    bench.clock.sleep(2.0)
    bench.charger.silence(["CCS"])
    bench.run_until(lambda: bench.seen("BEM"), 10, "BEM")
    t_bem, bem = bench.first("BEM")
    assert only_flag(bem, "ccs_timeout")
    last_ccs = bench.monitor.streams[(0x1200, 0x56, 0xF4)].last_time
    assert t_bem - last_ccs == pytest.approx(timing.CCS_TIMEOUT_S)
    assert bench.bms.phase == "error" and not bench.bms.sending("BCL")
    assert bench.plant.called("stop_output")[0][0] == pytest.approx(t_bem)   # the charger obeys BEM
    assert bench.charger.phase == "error"


def test_bms_times_out_a_missing_cst_after_bst(bench):
    bench.charge()
    bench.charger.silence(["CST"])
    bench.bms.stop()
    bench.run_until(lambda: bench.seen("BEM"), 10, "BEM")
    t_bem, bem = bench.first("BEM")
    assert only_flag(bem, "cst_timeout")
    assert t_bem - bench.first("BST")[0] == pytest.approx(timing.DEFAULT_TIMEOUT_S)


def test_bms_times_out_a_charger_that_never_sends_crm(make_bench):
    bench = make_bench(insulation_s=1000.0)      # the charger stays in CHM; then stops CHM
    bench.clock.sleep(2.0)
    bench.charger.quiet()
    bench.run_until(lambda: bench.seen("BEM"), 10, "BEM")
    t_bem, bem = bench.first("BEM")
    assert only_flag(bem, "crm_00_timeout")
    assert t_bem - bench.monitor.streams[(0x2600, 0x56, 0xF4)].last_time == pytest.approx(timing.DEFAULT_TIMEOUT_S)
