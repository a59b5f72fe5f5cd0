"""GB/T 18487.1-2015 Annex A: CP voltage levels and edges at detection point 1.

State 1 (not connected) +12 V ± 0.6 V; state 2 (connected, S2 open) +9 V ± 1 V, both as the DC
level before the session starts and as the PWM's high level; state 3 (S2 closed) +6 V ± 1 V;
the PWM's low level −12 V ± 0.6 V in every PWM state; rise ≤ 10 µs, fall ≤ 13 µs (10–90 %).
All U: the IEC 61851-1 Annex A figures (docs/limits.md §2).

Fails against a simulated pile with: cp_high_v (the generator's +12 V, which every high
level follows through the R1 / vehicle divider).
"""

import pytest

pytestmark = [pytest.mark.dut("ac"), pytest.mark.clause("gbt18487.1:A")]


@pytest.mark.judges(
    "gbt18487.1:A:cp_fall_time",
    "gbt18487.1:A:cp_low_voltage",
    "gbt18487.1:A:cp_rise_time",
    "gbt18487.1:A:cp_state1_voltage",
    "gbt18487.1:A:cp_state2_voltage",
    "gbt18487.1:A:cp_state3_voltage",
)
def test_cp_levels_in_each_state_and_pwm_edges(bench):
    bench.unplug()
    state1 = bench.capture_cp("CP state 1 (not connected)", steady=True).analysis
    bench.check(
        "gbt18487.1:A:cp_state1_voltage",
        state1.level_v,
        at={"state": 1},
        uncertainty=state1.uncertainty.high_v if state1.uncertainty else None,
        invalid_reason=state1.problem,
    )

    bench.plug_in()
    dc_state2 = bench.capture_cp("CP state 2 (S2 open, no PWM yet)", steady=True).analysis
    bench.check(
        "gbt18487.1:A:cp_state2_voltage",
        dc_state2.level_v if dc_state2.steady else None,
        at={"state": 2, "PWM": "off"},
        uncertainty=dc_state2.uncertainty.high_v if dc_state2.uncertainty else None,
        invalid_reason=dc_state2.problem,
        detail="the DC level before the session starts"
        if dc_state2.steady
        else f"PWM at {dc_state2.frequency_hz} Hz before the session started: no DC level to judge",
    )

    bench.start_session()
    state2 = bench.capture_cp("CP state 2 (S2 open, PWM)").analysis
    bench.check(
        "gbt18487.1:A:cp_state2_voltage",
        state2.high_v,
        at={"state": 2},
        uncertainty=state2.uncertainty.high_v if state2.uncertainty else None,
        invalid_reason=state2.problem,
    )
    bench.check(
        "gbt18487.1:A:cp_low_voltage",
        state2.low_v,
        at={"state": 2, "PWM": "on"},
        uncertainty=state2.uncertainty.low_v if state2.uncertainty else None,
        invalid_reason=state2.problem,
    )
    bench.check(
        "gbt18487.1:A:cp_rise_time",
        state2.rise_s,
        at={"state": 2},
        uncertainty=state2.uncertainty.rise_s if state2.uncertainty else None,
        invalid_reason=state2.problem,
    )
    bench.check(
        "gbt18487.1:A:cp_fall_time",
        state2.fall_s,
        at={"state": 2},
        uncertainty=state2.uncertainty.fall_s if state2.uncertainty else None,
        invalid_reason=state2.problem,
    )

    bench.close_s2()
    state3 = bench.capture_cp("CP state 3 (S2 closed, PWM)").analysis
    bench.check(
        "gbt18487.1:A:cp_state3_voltage",
        state3.high_v,
        at={"state": 3},
        uncertainty=state3.uncertainty.high_v if state3.uncertainty else None,
        invalid_reason=state3.problem,
    )
    bench.check(
        "gbt18487.1:A:cp_low_voltage",
        state3.low_v,
        at={"state": 3, "PWM": "on"},
        uncertainty=state3.uncertainty.low_v if state3.uncertainty else None,
        invalid_reason=state3.problem,
    )
