"""The charger's insulation monitoring (GB/T 18487.1-2015 Annex B, GB/T 34657.1-2017 D0.2501):
resistors from DC+ to PE at the inlet, switched in by relays of the EV simulator, bring the
insulation resistance to a level in Ω per volt of the charger's rated output voltage
(bench/api/dc/insulation.py: 450 Ω/V, 110 Ω/V, both together 88 Ω/V on the shipped profiles).

* At the insulation check (after BHM, before CRM), a resistance of at most 100 Ω/V is a fault: the
  charger does not charge (gbt18487.1:B:insulation_fault_no_charging, I).
* Above 100 and up to 500 Ω/V it is a warning: the charger charges after the check, and goes on
  charging when the resistance falls to that level while it charges
  (gbt18487.1:B:insulation_warning_charging, I; the 5 s window U). Above 500 Ω/V every other DC
  case charges.
* Falling to at most 100 Ω/V while charging: output current ≤ 5 A within 100 ms of the relays
  (gbt18487.1:B:insulation_fault_current_off_time, U: the duty and the time).

A level whose relays are not wired, or whose resistance is not given, is skipped; one whose Ω/V
falls outside the band it stands for (resistors sized for another charger) is skipped with its
figure.

Fails against a simulated charger with: ignores_insulation_fault (the fault at the check and the
stop while charging), imd_fault_ohm_per_v above 110 (the warnings: no charging, a stop) or below 88
(the fault taken for a warning), cst_current_delay_s above about 0.1 s (the stop while charging).
"""

import pytest

pytestmark = pytest.mark.dut("dc")

NO_CHARGING_KEY = "gbt18487.1:B:insulation_fault_no_charging"
WARNING_KEY = "gbt18487.1:B:insulation_warning_charging"
OFF_KEY = "gbt18487.1:B:insulation_fault_current_off_time"


def level_or_skip(bench, name: str, key: str, band: str):
    level = bench.insulation_level(name, key)
    if level is None:
        pytest.skip(f"insulation level {name}: its relays are not wired or their ohms not given ([instruments.ev])")
    if level.band != band:
        pytest.skip(f"insulation level {name}: {level.what}, not a {band} level for this charger's rated voltage")
    return level


@pytest.mark.judges("gbt18487.1:B:insulation_fault_no_charging")
@pytest.mark.clause("gbt18487.1:B")
def test_an_insulation_fault_at_the_check_prevents_charging(bench):
    level = level_or_skip(bench, "fault", NO_CHARGING_KEY, "fault")
    bench.apply_insulation(level)
    start = bench.session_start()
    bench.check(NO_CHARGING_KEY, not start.charged, reference=True, at={"insulation": level.what}, detail=start.detail)


@pytest.mark.judges("gbt18487.1:B:insulation_warning_charging")
@pytest.mark.clause("gbt18487.1:B")
@pytest.mark.parametrize("name", ["warning", "low_warning"])
def test_an_insulation_warning_at_the_check_allows_charging(bench, name):
    level = level_or_skip(bench, name, WARNING_KEY, "warning")
    bench.apply_insulation(level)
    start = bench.session_start()
    bench.check(
        WARNING_KEY,
        start.charged,
        reference=True,
        at={"insulation": level.what, "when": "at the check"},
        detail=start.detail,
    )


@pytest.mark.judges("gbt18487.1:B:insulation_warning_charging", "gbt18487.1:B:insulation_fault_current_off_time")
@pytest.mark.clause("gbt18487.1:B")
def test_insulation_falling_while_charging_warns_then_stops(bench):
    warning = level_or_skip(bench, "low_warning", WARNING_KEY, "warning")
    fault = level_or_skip(bench, "fault", OFF_KEY, "fault")
    rule = bench.limit(WARNING_KEY)
    bench.charge_steadily(round(bench.dut.current_range_a[1] / 3))
    bench.apply_insulation(warning)
    going, detail = bench.still_charging(rule.figure("observe_s"), rule.figure("end_current_a"))
    bench.check(
        WARNING_KEY, going, reference=True, at={"insulation": warning.what, "when": "while charging"}, detail=detail
    )
    if not going:
        why = "the charger had stopped at the warning level: no charging left for the fault level to stop"
        bench.check(OFF_KEY, None, at={"insulation": fault.what}, detail=why, invalid_reason=why)
        return
    bench.judge_fault_stop(OFF_KEY, bench.insulation_fault_while_charging(fault, OFF_KEY))
