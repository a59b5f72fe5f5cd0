"""Vehicle-side faults of an AC pile (GB/T 18487.1-2015 Annex A, GB/T 34657.1-2017): the bench
plays a vehicle that fails in defined ways, and the pile must react. From a steady charge at a
third of the pile's maximum current, a relay of the EV simulator applies the fault during a scope
record of the CP and the pile's output; the reaction is timed from the bench's command to the
relay to the last half cycle of the output:

* CP shorted to PE at the vehicle inlet (line ``cp_pe_short``, state E):
  gbt18487.1:A:cp_pe_short_supply_off_time, ≤ 100 ms (U).
* the vehicle's CP diode shorted (the board's own relay; the −12 V level gone):
  gbt18487.1:A:diode_short_supply_off_time, ≤ 100 ms (U).
* the CP line opened (``cp_open``) and the vehicle's PE opened (``pe_break``), both seen by the
  pile as +12 V (state 1): gbt18487.1:A:cp_open_supply_off_time,
  gbt18487.1:A:pe_open_supply_off_time, ≤ 100 ms (U).
* S2 opened by a vehicle drawing current: ≤ 100 ms from the CP's rise to state 2
  (gbt18487.1:A:contactor_open_delay, I), the check of test_contactor_timing.py at load.
* the cable's RC (lines ``rc_10a`` … ``rc_63a``: 1.5 kΩ, 680 Ω, 220 Ω, 100 Ω): the duty offers
  at most min(the pile's rating, the cable's), within the +0.5 % duty tolerance
  (gbt18487.1:A:cable_capacity_duty_excess: resistors I, tolerance U).

A fault whose relay is not wired is skipped with the reason; a fault applied while the output was
not on is not judged (invalid). For a GB/T 18487.1-2023 pile every case here is skipped: the
bench knows none of these figures for that edition.

Fails against a simulated pile with: ignores_cp_fault (the four fault times),
ignores_cable_rating (the cable's rating below the pile's), contactor_open_delay_s above about
0.09 s (every time here).
"""

import pytest

from bench.analysis.pwm import duty_for_current_pct, offered_current_a

pytestmark = [pytest.mark.dut("ac"), pytest.mark.clause("gbt18487.1:A")]

CABLE_KEY = "gbt18487.1:A:cable_capacity_duty_excess"


def judge_supply_cut(bench, key: str, fault: str) -> None:
    if not bench.vehicle_fault_wired(fault):
        pytest.skip(f"{fault}: its relay is not wired ([instruments.ev.wiring])")
    cut = bench.supply_cut_by_fault(fault, key)
    at = {"drawing_a": cut.drawing_a, "fault": cut.what}
    if not cut.supplying:
        bench.check(key, None, at=at, detail="the output was not on when the fault was applied: nothing to time")
        return
    bench.check_duration(
        key,
        None if cut.off_at is None else cut.off_at - cut.applied_at,
        window=cut.watched_s,
        missing=f"{cut.what}: the output still on",
        uncertainty=cut.resolution_s,
        at=at,
        detail="from the bench's command to the fault relay to the last half cycle of the output above 100 V",
    )


@pytest.mark.judges("gbt18487.1:A:cp_pe_short_supply_off_time")
def test_cp_shorted_to_pe_cuts_the_supply(bench):
    judge_supply_cut(bench, "gbt18487.1:A:cp_pe_short_supply_off_time", "cp_pe_short")


@pytest.mark.judges("gbt18487.1:A:diode_short_supply_off_time")
def test_diode_short_cuts_the_supply(bench):
    judge_supply_cut(bench, "gbt18487.1:A:diode_short_supply_off_time", "diode_short")


@pytest.mark.judges("gbt18487.1:A:cp_open_supply_off_time")
def test_cp_opened_while_charging_cuts_the_supply(bench):
    judge_supply_cut(bench, "gbt18487.1:A:cp_open_supply_off_time", "cp_open")


@pytest.mark.judges("gbt18487.1:A:pe_open_supply_off_time")
def test_pe_opened_while_charging_cuts_the_supply(bench):
    judge_supply_cut(bench, "gbt18487.1:A:pe_open_supply_off_time", "pe_open")


@pytest.mark.judges("gbt18487.1:A:contactor_open_delay")
def test_s2_opened_while_charging_at_load_opens_the_contactor(bench):
    amps = bench.charging_fault_current_a()
    bench.charge_drawing(amps)
    bench.check_supply_opens_after_s2("gbt18487.1:A:contactor_open_delay", at={"drawing_a": amps})


@pytest.mark.judges("gbt18487.1:A:cable_capacity_duty_excess")
@pytest.mark.operating_points("ac_cable_rating_a")
def test_the_offered_current_respects_the_cable_rating(bench, operating_point):
    cable_a = operating_point
    if not bench.cable_wired(cable_a):
        pytest.skip(f"no relay for a {cable_a:g} A cable's RC is wired ([instruments.ev.wiring])")
    rule = bench.limit(CABLE_KEY)
    allowed = min(bench.dut.current_range_a[1], cable_a)
    at = {"cable_a": cable_a, "rc_ohm": rule.figure(f"rc_{cable_a:g}a_ohm"), "allowed_a": allowed}
    duty = bench.offered_duty_with_cable(cable_a)
    if duty is None:
        bench.check(CABLE_KEY, None, at=at, detail="no PWM after the start: no offer to judge")
        return
    limit_duty = duty_for_current_pct(allowed)
    bench.check(
        CABLE_KEY,
        duty - limit_duty,
        at=at,
        detail=f"duty {duty:.2f} % offers {offered_current_a(duty):.1f} A; at most {allowed:g} A "
        f"(min of the pile's {bench.dut.current_range_a[1]:g} A and the cable's {cable_a:g} A) = {limit_duty:.2f} %",
    )
