"""NB/T 33001 (via GB/T 34657.1 D0.41xx, docs/limits.md §5): DC output accuracy against the
BMS demand, and the current adjustment time.

* Voltage error ≤ ±0.5 % of the demand (nbt33001:output:voltage_error): BCL mode 1
  (constant voltage); the battery simulator holds the inlet for the handshake and then goes
  out of the way, the DC load sinks a set current, so the charger alone sets the voltage.
* Current error ≤ ±0.3 A below 30 A, ≤ ±1 % from 30 A (nbt33001:output:current_error_small,
  :current_error): BCL mode 2 (constant current) into the battery simulator holding the
  voltage, below the DUT's rated power.
* Adjustment time (nbt33001:output:current_adjust_time): a step of ΔI ≤ 20 A settles within
  1 s; a larger step at ΔI / (20 A/s) or faster (nbt33001:output:current_adjust_rate).
  Settled = within the current tolerance of the level the current settles at, so that the
  accuracy does not count twice.

Fails against a simulated charger with: voltage_error_pct (voltage error), current_error_pct
(current errors: above 1 % the ≥ 30 A points, above 1.5 % also the 20 A point),
current_slew_a_per_s below 20 A/s (adjustment time).
"""

import pytest

from bench.analysis.dc import adjust_time_limit

pytestmark = pytest.mark.dut("dc")

# The load's current while the charger regulates the voltage (bench choice: well inside the
# DUT's current and power at every voltage of the grid).
CV_LOAD_A = 50.0


@pytest.mark.judges("nbt33001:output:voltage_error")
@pytest.mark.clause("nbt33001:output")
def test_output_voltage_follows_the_bms_voltage_demand(bench):
    rule = bench.limit("nbt33001:output:voltage_error")
    demands = [
        v for v in bench.points("dc_voltage_demand_v") if v + rule.tolerance(v) < bench.vehicle.max_charge_voltage_v
    ]
    if not demands:
        pytest.skip("every voltage of the grid is too close to the vehicle's maximum charging voltage")
    first = demands[0]
    bench.start_charging(battery_v=first, voltage_v=first, current_a=bench.vehicle.max_charge_current_a, mode="cv")
    bench.battery_out_of_the_way()
    bench.sink_with_load(CV_LOAD_A)
    for volts in demands:
        bench.request(volts, bench.vehicle.max_charge_current_a, "cv")
        measured = bench.settled_within("U", rule, volts)
        bench.check_reading(
            "nbt33001:output:voltage_error",
            measured,
            reference=volts,
            uncertainty=bench.accuracy("analyzer", "voltage", measured or volts),
            at={"voltage_demand_v": volts, "load_a": CV_LOAD_A},
            detail=f"measured {measured} V",
        )


@pytest.mark.judges("nbt33001:output:current_error", "nbt33001:output:current_error_small")
@pytest.mark.clause("nbt33001:output")
def test_output_current_follows_the_bms_current_demand(bench):
    demands = [a for a in bench.points("dc_current_demand_a") if bench.within_rating(current_a=a) is None]
    if not demands:
        pytest.skip("every current of the grid is above the DUT's maximum")
    bench.start_charging(battery_v=bench.battery_voltage_for(demands[0]), current_a=demands[0])
    for amps in demands:
        battery_v = bench.battery_voltage_for(amps)
        bench.hold_battery(battery_v)
        bench.request(bench.vehicle.max_charge_voltage_v, amps, "cc")
        rule = bench.current_error_limit(amps)
        measured = bench.settled_within("I", rule, amps)
        bench.check_reading(
            rule.key,
            measured,
            reference=amps,
            uncertainty=bench.accuracy("analyzer", "current", measured or amps),
            at={"current_demand_a": amps, "battery_v": round(battery_v, 1)},
            detail=f"measured {measured} A",
        )


@pytest.mark.judges("nbt33001:output:current_adjust_time")
@pytest.mark.clause("nbt33001:output")
@pytest.mark.operating_points("dc_current_step_small_a")
def test_current_adjustment_time(bench, operating_point):
    """A step of at most 20 A settles within 1 s."""
    start_a, end_a = operating_point
    rule = bench.limit("nbt33001:output:current_adjust_time")
    if reason := bench.within_rating(current_a=max(operating_point)):
        pytest.skip(reason)
    assert abs(end_a - start_a) <= rule.figure("step_a"), "a small-step grid point above the clause's step"
    step = bench.time_current_step(start_a, end_a, allowed_s=rule.high)
    bench.check(
        "nbt33001:output:current_adjust_time",
        step.seconds,
        uncertainty=step.uncertainty,
        at={"from_a": start_a, "to_a": end_a},
        detail=step.detail,
    )


@pytest.mark.judges("nbt33001:output:current_adjust_rate")
@pytest.mark.clause("nbt33001:output")
@pytest.mark.operating_points("dc_current_step_large_a")
def test_current_adjustment_rate(bench, operating_point):
    """A step of more than 20 A settles at ΔI / (20 A/s) or faster."""
    start_a, end_a = operating_point
    rule = bench.limit("nbt33001:output:current_adjust_time")
    if reason := bench.within_rating(current_a=max(operating_point)):
        pytest.skip(reason)
    assert abs(end_a - start_a) > rule.figure("step_a"), "a large-step grid point within the clause's step"
    allowed = adjust_time_limit(
        end_a - start_a, step_a=rule.figure("step_a"), within_s=rule.high, rate_a_per_s=rule.figure("rate_a_per_s")
    )
    step = bench.time_current_step(start_a, end_a, allowed_s=allowed)
    rate = abs(end_a - start_a) / step.seconds if step.seconds > 0 else float("inf")
    uncertainty = None if step.uncertainty is None else rate * step.uncertainty / max(step.seconds, 1e-9)
    bench.check(
        "nbt33001:output:current_adjust_rate",
        rate,
        uncertainty=uncertainty,
        at={"from_a": start_a, "to_a": end_a},
        detail=f"{step.seconds:.3f} s for {abs(end_a - start_a):g} A ({allowed:.3g} s allowed); {step.detail}",
    )
