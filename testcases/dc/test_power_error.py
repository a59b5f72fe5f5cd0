"""4.2.10.5: DC output power error.

Attachment 3 4.2.10.5: in 20–100 % of the rated power, with a current of at least 30 A, the
output power is within ±2 % of the set power (changji:4.2.10.5:power_error, T: the measured
power against the set power as reference; the check's value is the error in W). The set
power is the platform's power limit; the BMS asks for 10 % more current than that power
gives, so the power limit governs. Each power level is measured with the battery at the low,
middle and high end of the voltage window where the current stays between 30 A and the
charger's maximum (the full grid). The power analyzer measures P at the vehicle inlet once it
has settled; the check keeps the settle time.

The reading is ``invalid`` (not judged) when the output current reached the BMS request or
the charger reports its own maximum current (then the power control did not set the output),
or when the analyzer's P and the battery simulator's V·I disagree beyond their combined
uncertainty. Every point goes into the run's plot of error against set power.

Fails against a simulated charger with: power_gain_error_pct (the power limit's error, in
power-limited operation only: past +2 % up to the 10 % demand headroom; beyond it the request
governs and the reading is invalid); current_error_pct only where the current error is large
enough to make the charger current-limited below the set power (beyond −10 %, the BMS
demand's headroom, and past 2 % only beyond about −12 %).
"""

import pytest

pytestmark = pytest.mark.dut("dc")

POWER_KEY = "changji:4.2.10.5:power_error"


@pytest.mark.judges("changji:4.2.10.5:power_error")
@pytest.mark.clause("changji:4.2.10.5")
@pytest.mark.operating_points("dc_power_fraction")
def test_output_power_within_2_percent_of_the_set_power(bench, operating_point):
    fraction, position = operating_point
    rule = bench.limit(POWER_KEY)
    if not rule.figure("min_rated_fraction") <= fraction <= rule.figure("max_rated_fraction"):
        pytest.skip(f"{fraction:g} × rated power is outside the clause's 20–100 %")
    point = bench.power_point_at(fraction, position)
    if point is None:
        pytest.skip(f"no battery voltage keeps {fraction:g} × rated power between 30 A and the charger's maximum")
    at = {
        "set_power_w": point.set_power_w,
        "battery_position": position,
        "battery_v": round(point.battery_v, 1),
        "bms_demand_a": round(point.demand_a, 1),
    }
    with bench.step(f"charge at {point.set_power_w / 1000:g} kW set by the platform, battery {point.battery_v:.0f} V"):
        bench.start_charging(battery_v=point.battery_v, current_a=point.demand_a, power_limit_w=point.set_power_w)
    reading = bench.read_set_power(point)
    check = bench.check_reading(
        POWER_KEY,
        reading.power_w,
        reference=point.set_power_w,
        uncertainty=bench.accuracy("analyzer", "power", reading.power_w or point.set_power_w),
        at=at,
        detail=reading.detail,
        invalid_reason=reading.invalid_reason,
        settle_s=reading.settle_s,
    )
    bench.add_to_power_error_plot(position, reading, check)
