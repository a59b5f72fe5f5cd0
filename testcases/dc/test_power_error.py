"""4.2.10.5: DC output power error.

Attachment 3 4.2.10.5: in 20–100 % of the rated power, with a current of at least 30 A, the
output power is within ±2 % of the set power (changji:4.2.10.5:power_error, T: the measured
power against the set power as reference; the check's value is the error in W). The set
power is the platform's power limit; the BMS asks for more current than that power gives,
so the power limit governs; the battery voltage keeps the current at or above 30 A at every
point. The power analyzer measures P at the vehicle inlet once it has settled.

Fails against a simulated charger with: power_gain_error_pct (the power limit's error, in
power-limited operation only); current_error_pct only where the current error is large
enough to make the charger current-limited below the set power (beyond −10 %, the BMS
demand's headroom, and past 2 % only beyond about −12 %).
"""

import pytest

pytestmark = pytest.mark.dut("dc")


@pytest.mark.judges("changji:4.2.10.5:power_error")
@pytest.mark.clause("changji:4.2.10.5")
@pytest.mark.operating_points("dc_power_fraction")
def test_output_power_within_2_percent_of_the_set_power(bench, operating_point):
    rule = bench.limit("changji:4.2.10.5:power_error")
    if not rule.figure("min_rated_fraction") <= operating_point <= rule.figure("max_rated_fraction"):
        pytest.skip(f"{operating_point:g} × rated power is outside the clause's 20–100 %")
    point = bench.power_point(operating_point)
    at = {
        "set_power_w": point.set_power_w,
        "battery_v": round(point.battery_v, 1),
        "bms_demand_a": round(point.demand_a, 1),
    }
    with bench.step(f"charge at {point.set_power_w / 1000:g} kW set by the platform"):
        bench.start_charging(battery_v=point.battery_v, current_a=point.demand_a, power_limit_w=point.set_power_w)
    power = bench.settled_within("P", rule, point.set_power_w)
    current = bench.output()["I"]
    bench.check_reading(
        "changji:4.2.10.5:power_error",
        power,
        reference=point.set_power_w,
        uncertainty=bench.accuracy("analyzer", "power", power or point.set_power_w),
        at=at,
        detail=f"measured {power} W at {current} A (the clause needs ≥ {rule.figure('min_current_a'):g} A)",
    )
