"""The charger's own battery-safety duties (docs/limits.md §1 4.5.3 e, §3 "Stopping").

* GB/T 27930-2015: the charger stops when BSM reports an abnormal status; the bench allows
  1 s (four BSM periods) from the first abnormal BSM frame to the first CST frame
  (gbt27930:bsm:abnormal_stop_time, U).
* GB/T 34657.1 D0.4504: when the output voltage exceeds the vehicle's maximum charging
  voltage (BCP), the charger stops within 1 s (gbt34657.1:D0.4504:overvoltage_stop_time, I):
  the battery simulator is raised above the maximum while charging; the time runs from the
  inlet voltage crossing the maximum (a scope record on the bench clock) to the first CST.

Fails against a simulated charger with: ignores_battery_alarms (both).
"""

import pytest

from bench.analysis.dc import first_rise_above
from bench.api.timings import CAN_TIME_RESOLUTION_S, WINDOW_FACTOR

pytestmark = pytest.mark.dut("dc")

# The abnormal status the vehicle reports (one of the BSM status fields).
ABNORMAL = "overtemperature"
# How far above the vehicle's maximum charging voltage the battery simulator goes (bench
# choice: clearly above, inside the DUT's output range).
OVERVOLTAGE_FACTOR = 1.02
# The charging current of these cases (bench choice: a third of the DUT's maximum).
CHARGING_FRACTION = 1 / 3


@pytest.mark.judges("gbt27930:bsm:abnormal_stop_time")
@pytest.mark.clause("gbt27930:bsm")
def test_charger_stops_on_an_abnormal_bsm_status(bench):
    rule = bench.limit("gbt27930:bsm:abnormal_stop_time")
    amps = bench.charge_steadily(round(bench.dut.current_range_a[1] * CHARGING_FRACTION))
    reported_at = bench.report_battery_abnormal(ABNORMAL)
    bsm = bench.wait_for_frame(
        "BSM", reported_at, rule.high, where=lambda frame: frame.values.get(ABNORMAL) not in ("normal", None)
    )
    if bsm is None:
        bench.check(
            "gbt27930:bsm:abnormal_stop_time",
            None,
            at={"status": ABNORMAL},
            detail="the bench's BMS sent no abnormal BSM: nothing to time",
        )
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


@pytest.mark.judges("gbt34657.1:D0.4504:overvoltage_stop_time")
@pytest.mark.clause("gbt34657.1:D0.4504")
def test_charger_stops_within_1_s_on_output_overvoltage(bench):
    rule = bench.limit("gbt34657.1:D0.4504:overvoltage_stop_time")
    maximum = bench.vehicle.max_charge_voltage_v
    amps = bench.charge_steadily(round(bench.dut.current_range_a[1] * CHARGING_FRACTION))
    raised = maximum * OVERVOLTAGE_FACTOR
    record, raised_at = bench.record_during(
        "inlet voltage above the vehicle's maximum", ("inlet_voltage",), rule.high, lambda: bench.hold_battery(raised)
    )
    crossed = first_rise_above(
        record.bench_times("inlet_voltage"), record.volts("inlet_voltage"), maximum, after=raised_at
    )
    at = {"vehicle_max_v": maximum, "battery_v": round(raised, 1), "charging_a": round(amps, 1)}
    if crossed is None:
        bench.check(
            "gbt34657.1:D0.4504:overvoltage_stop_time",
            None,
            at=at,
            detail="the inlet never went above the vehicle's maximum: nothing to time",
        )
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
