"""The pre-charge before the DC contactors close (GB/T 18487.1-2015 B.3.4, GB/T 34657.1-2017
D0.3001): the charger closes K1/K2 only once its output voltage is 1–10 V below the voltage on
the contactors' outer side (the inlet, the battery behind K5/K6).

The bench reads the charger's side of K1/K2 (an analyzer element wired there for the type test,
``[instruments.analyzer] channels charger_output``) and the inlet together until the charger's
CRO 0xAA, and judges inlet − charger from the last pair read before it
(gbt18487.1:B:precharge_voltage_difference, I). Without that element the case is skipped.

Fails against a simulated charger with: precharge_mismatch_v below about −5 V or above about
+4 V (the simulated charger pre-charges to the inlet voltage less 5 V).
"""

import pytest

pytestmark = pytest.mark.dut("dc")

KEY = "gbt18487.1:B:precharge_voltage_difference"


@pytest.mark.judges("gbt18487.1:B:precharge_voltage_difference")
@pytest.mark.clause("gbt18487.1:B")
def test_the_contactors_close_on_an_output_just_below_the_battery(bench):
    if not bench.charger_side_wired():
        pytest.skip(
            "no analyzer element on the charger's side of K1/K2 ([instruments.analyzer] channels charger_output)"
        )
    reading = bench.precharge_at_closing()
    at = {"battery_v": bench.vehicle.rated_voltage_v}
    if reading.charger_v is None or reading.inlet_v is None:
        bench.check(KEY, None, at=at, detail=reading.detail, invalid_reason=reading.detail)
        return
    bench.check(KEY, reading.inlet_v - reading.charger_v, uncertainty=reading.uncertainty, at=at, detail=reading.detail)
