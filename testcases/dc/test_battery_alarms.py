"""The charger's own battery-safety duties (docs/limits.md §1 4.5.3 e, §3 "Stopping").

* GB/T 27930-2015: the charger stops when BSM reports an abnormal status; the bench allows
  1 s (four BSM periods) from the first abnormal BSM frame to the first CST frame
  (gbt27930:bsm:abnormal_stop_time, U).
* GB/T 34657.1 D0.4504: when the output voltage exceeds the vehicle's maximum charging
  voltage (BCP), the charger stops within 1 s (gbt34657.1:D0.4504:overvoltage_stop_time, I):
  the battery simulator is raised above the maximum while charging (the BMS's voltage demand
  raised above it first, so that the current goes on flowing until the charger stops it); the
  time runs from the inlet voltage crossing the maximum (a scope record on the bench clock) to the first CST.

Each stop is also timed to its end, the output current down to the 5 A of a stopped charger,
from the same scope record of the output current (the analyzer, polled, past its end):
within 1.1 s of the first abnormal BSM (the 1 s to CST and the 100 ms from a fault CST to 5 A;
gbt27930:bsm:abnormal_current_off_time, U) and within 1 s of the inlet crossing the maximum
(gbt34657.1:D0.4504:overvoltage_current_off_time, I: the strict reading of "stop").

Fails against a simulated charger with: ignores_battery_alarms (all four);
cst_current_delay_s above about 1 s (the current still on after a timely CST).
"""

import pytest

from bench.analysis.dc import first_rise_above
from bench.api.timings import CAN_TIME_RESOLUTION_S, WINDOW_FACTOR, record_window_s

pytestmark = pytest.mark.dut("dc")

# The abnormal status the vehicle reports (one of the BSM status fields).
ABNORMAL = "overtemperature"
# How far above the vehicle's maximum charging voltage the battery simulator goes (bench
# choice: clearly above, inside the DUT's output range).
OVERVOLTAGE_FACTOR = 1.02
# The charging current of these cases (bench choice: a third of the DUT's maximum).
CHARGING_FRACTION = 1 / 3
# Before the battery is raised, the BMS's voltage demand goes this far above the vehicle's
# maximum (bench choice, inside the DUT's output range): the charger's own voltage limit then
# does not end the current, its over-voltage stop must.
DEMAND_ABOVE_MAXIMUM = 1.05


@pytest.mark.judges("gbt27930:bsm:abnormal_stop_time", "gbt27930:bsm:abnormal_current_off_time")
@pytest.mark.clause("gbt27930:bsm")
def test_charger_stops_on_an_abnormal_bsm_status(bench):
    rule = bench.limit("gbt27930:bsm:abnormal_stop_time")
    off_rule = bench.limit("gbt27930:bsm:abnormal_current_off_time")
    amps = bench.charge_steadily(round(bench.dut.current_range_a[1] * CHARGING_FRACTION))
    record, reported_at = bench.record_during(
        "output current at an abnormal BSM status",
        ("output_current",),
        record_window_s(WINDOW_FACTOR * off_rule.high),
        lambda: bench.report_battery_abnormal(ABNORMAL),
    )
    bsm = bench.wait_for_frame(
        "BSM", reported_at, rule.high, where=lambda frame: frame.values.get(ABNORMAL) not in ("normal", None)
    )
    if bsm is None:
        for key in ("gbt27930:bsm:abnormal_stop_time", "gbt27930:bsm:abnormal_current_off_time"):
            bench.check(key, None, at={"status": ABNORMAL}, detail="the bench's BMS sent no abnormal BSM: no time")
        return
    window = rule.high * WINDOW_FACTOR
    took, cst = bench.time_until_frame("CST", bsm.time, window)
    bench.check(
        "gbt27930:bsm:abnormal_stop_time",
        took,
        uncertainty=CAN_TIME_RESOLUTION_S,
        at={"status": ABNORMAL, "charging_a": round(amps, 1)},
        detail=f"from the first BSM with {ABNORMAL} abnormal; {bench.describe_stop(cst, 'CST', window)}",
    )
    bench.check_current_off(
        "gbt27930:bsm:abnormal_current_off_time",
        record,
        bsm.time,
        at={"status": ABNORMAL, "charging_a": round(amps, 1)},
        timed_from=f"the first BSM with {ABNORMAL} abnormal",
    )


@pytest.mark.judges("gbt34657.1:D0.4504:overvoltage_stop_time", "gbt34657.1:D0.4504:overvoltage_current_off_time")
@pytest.mark.clause("gbt34657.1:D0.4504")
def test_charger_stops_within_1_s_on_output_overvoltage(bench):
    rule = bench.limit("gbt34657.1:D0.4504:overvoltage_stop_time")
    maximum = bench.vehicle.max_charge_voltage_v
    amps = bench.charge_steadily(round(bench.dut.current_range_a[1] * CHARGING_FRACTION))
    bench.request(maximum * DEMAND_ABOVE_MAXIMUM, amps, "cc")
    raised = maximum * OVERVOLTAGE_FACTOR
    record, raised_at = bench.record_during(
        "inlet voltage above the vehicle's maximum",
        ("inlet_voltage", "output_current"),
        record_window_s(WINDOW_FACTOR * rule.high),
        lambda: bench.hold_battery(raised),
    )
    crossed = first_rise_above(
        record.bench_times("inlet_voltage"), record.volts("inlet_voltage"), maximum, after=raised_at
    )
    at = {"vehicle_max_v": maximum, "battery_v": round(raised, 1), "charging_a": round(amps, 1)}
    if crossed is None:
        for key in ("gbt34657.1:D0.4504:overvoltage_stop_time", "gbt34657.1:D0.4504:overvoltage_current_off_time"):
            bench.check(key, None, at=at, detail="the inlet never went above the vehicle's maximum: nothing to time")
        return
    window = rule.high * WINDOW_FACTOR
    took, cst = bench.time_until_frame("CST", crossed, window)
    bench.check(
        "gbt34657.1:D0.4504:overvoltage_stop_time",
        took,
        at=at,
        uncertainty=bench.accuracy("scope", "time", took) + record.sample_interval,
        detail=f"from the inlet crossing {maximum:g} V; {bench.describe_stop(cst, 'CST', window)}",
    )
    bench.check_current_off(
        "gbt34657.1:D0.4504:overvoltage_current_off_time",
        record,
        crossed,
        at=at,
        timed_from=f"the inlet crossing {maximum:g} V",
    )
