"""Stopping, as the bench judges it (docs/limits.md §3 "Stopping", §5).

* Normal stop (the vehicle sends BST): the current falls at ≥ 100 A/s down to 5 A
  (nbt33001:stop:current_fall_rate, NB/T 33001 via GB/T 34657.1 D0.5101, I), and is ≤ 5 A
  within 10 s of BST (gbt27930:stop:bms_current_off_time, T). The fall is read off a scope
  record of the output current lined up on the bench clock with the BST frame; the rate is
  taken from 90 % of the charging current (past the turn-over) down to 5 A.
* After the stop, with the charger's contactors open, the vehicle opens K5/K6: the inlet is
  below 60 V 1 s later (nbt33001:stop:residual_voltage, I) — the charger's bleed-off.
* Charger-initiated fault stop (a fault CST, here after the vehicle-side emergency stop):
  the current is ≤ 5 A within 100 ms of the CST frame (gbt27930:stop:fault_current_off_time,
  T), from a forced-trigger record on the bench clock (10 µs a sample).

Fails against a simulated charger with: current_slew_a_per_s below 100 A/s (fall rate; below
about 9.5 A/s also the 10 s after BST), bleed_off_s above 1 s (residual voltage),
cst_current_delay_s above 0.1 s (fault stop).
"""

import pytest

from bench.analysis.dc import stop_fall_rate, time_to_current_off, value_at
from bench.api.timings import FAULT_RECORD_FACTOR, WINDOW_FACTOR, record_window_s

pytestmark = pytest.mark.dut("dc")

# The charging current the stops start from (bench choice: two thirds of a 150 A charger's
# maximum; fast enough stops take a fraction of a second from there).
STOP_FROM_FRACTION = 2 / 3
# The rate is measured from this fraction of the charging current (past the turn-over).
FALL_START_FRACTION = 0.9


@pytest.mark.judges(
    "gbt27930:stop:bms_current_off_time",
    "nbt33001:stop:current_fall_rate",
    "nbt33001:stop:residual_voltage",
)
@pytest.mark.clause("nbt33001:stop")
def test_normal_stop_current_fall_and_residual_voltage(bench):
    rate_rule = bench.limit("nbt33001:stop:current_fall_rate")
    off_rule = bench.limit("gbt27930:stop:bms_current_off_time")
    residual_rule = bench.limit("nbt33001:stop:residual_voltage")
    end_a = rate_rule.figure("end_current_a")
    charging_a = bench.charge_steadily(round(bench.dut.current_range_a[1] * STOP_FROM_FRACTION))
    start_a = FALL_START_FRACTION * charging_a
    at = {"charging_a": round(charging_a, 1)}

    with bench.step("the vehicle stops (BST) during a record of the output current"):
        window = record_window_s(WINDOW_FACTOR * charging_a / rate_rule.low)
        record, stopped_at = bench.record_during(
            "output current at a BMS stop", ("output_current",), window, lambda: bench.bms.stop("soc_reached")
        )
    bst = bench.frames.first("BST", stopped_at)
    bst_at = bst.time if bst is not None else stopped_at
    times, amps = record.bench_times("output_current"), record.volts("output_current")
    rate, reached = stop_fall_rate(times, amps, start_a=start_a, end_a=end_a, after=bst_at)
    fall_s = (start_a - end_a) / rate if rate else None
    uncertainty = (
        None
        if rate is None
        else rate
        * (
            bench.accuracy("scope", "voltage", start_a) / (start_a - end_a)
            + (bench.accuracy("scope", "time", fall_s or 0.0) + record.sample_interval) / (fall_s or float("inf"))
        )
    )
    bench.check(
        "nbt33001:stop:current_fall_rate",
        rate,
        uncertainty=uncertainty,
        at=at,
        detail=f"from {start_a:.1f} A to {end_a:g} A"
        + (
            ""
            if reached
            else f"; not down to {end_a:g} A by the end of the {window:.2f} s record: the rate is an upper bound"
        ),
    )

    off_at = time_to_current_off(times, amps, end_a, after=bst_at)
    resolution = record.sample_interval
    if off_at is None:  # not within the record: the analyzer, polled, from here on
        off_at, resolution = bench.wait_current_off(end_a, until=bst_at + off_rule.high * WINDOW_FACTOR)
    took = (off_at if off_at is not None else bench.now()) - bst_at
    bench.check(
        "gbt27930:stop:bms_current_off_time",
        took,
        uncertainty=resolution,
        at=at,
        detail="from the first BST frame"
        + ("" if off_at is not None else f"; still above {end_a:g} A: the time is a lower bound"),
    )

    with bench.step("the vehicle opens K5/K6 after the session: the inlet discharges"):
        bench.wait_for_session_end()
        after_s = residual_rule.figure("after_s")
        record, opened_at = bench.record_during(
            "inlet voltage after K5-K6 open",
            ("inlet_voltage",),
            record_window_s(WINDOW_FACTOR * after_s),
            bench.open_vehicle_contactors,
        )
    volts = value_at(record.bench_times("inlet_voltage"), record.volts("inlet_voltage"), opened_at + after_s)
    bench.check(
        "nbt33001:stop:residual_voltage",
        volts,
        at=at,
        uncertainty=None if volts is None else bench.accuracy("scope", "voltage", volts),
        detail=f"inlet voltage {after_s:g} s after K5/K6 opened (the charger's contactors open)",
    )


@pytest.mark.judges("gbt27930:stop:fault_current_off_time")
@pytest.mark.clause("gbt27930:stop")
def test_fault_stop_cuts_the_current_within_100_ms(bench):
    rule = bench.limit("gbt27930:stop:fault_current_off_time")
    end_a = rule.figure("end_current_a")
    charging_a = bench.charge_steadily(round(bench.dut.current_range_a[1] * STOP_FROM_FRACTION))
    at = {"charging_a": round(charging_a, 1), "fault": "emergency stop at the vehicle side"}
    with bench.step("emergency stop during a record of the output current"):
        record, pressed_at = bench.record_during(
            "output current at a fault stop",
            ("output_current",),
            FAULT_RECORD_FACTOR * rule.high,
            bench.press_emergency_stop,
        )
    _, cst = bench.time_until_frame("CST", pressed_at, rule.high * WINDOW_FACTOR)
    if cst is None:
        bench.check(
            "gbt27930:stop:fault_current_off_time",
            None,
            at=at,
            detail="no CST frame after the emergency stop: nothing to time",
        )
        return
    times, amps = record.bench_times("output_current"), record.volts("output_current")
    off_at = time_to_current_off(times, amps, end_a, after=cst.time)
    took = (off_at if off_at is not None else times[-1]) - cst.time
    bench.check(
        "gbt27930:stop:fault_current_off_time",
        took,
        at=at,
        uncertainty=bench.accuracy("scope", "time", took) + record.sample_interval,
        detail=bench.describe_stop(cst, "CST", rule.high * WINDOW_FACTOR)
        + (
            ""
            if off_at is not None
            else f"; still above {end_a:g} A at the end of the record: the time is a lower bound"
        ),
    )
