"""4.2.9.5 and 4.2.9.1: the CP PWM the pile sends for the current it offers.

GB/T 18487.1-2015 Annex A: 1000 Hz accepted 970–1030 Hz; the duty follows the current table
(6 A → 10 %, 10–85 %: I = D × 0.6 A/%) within ±0.5 %; 4.2.9.1 regulates power by that duty,
so the duty — not the current the vehicle draws — is judged, on the duty alone
(changji:4.2.9.1:offered_duty_error: the table's slope triples above 85 %, so a band in amps
would fail a pile inside the duty tolerance near 63 A). Settable in 1 % steps.

Fails against a simulated pile with: pwm_frequency_hz (frequency), pwm_duty_offset_pct
(duty error, offered current), pwm_duty_resolution_pct (1 % steps, and duty error where the
rounding exceeds the tolerance).
"""

import pytest

from bench.analysis.pwm import duty_for_current_pct, offered_current_a

pytestmark = pytest.mark.dut("ac")


@pytest.mark.judges(
    "changji:4.2.9.1:offered_duty_error",
    "changji:4.2.9.5:duty_error",
    "changji:4.2.9.5:pwm_frequency",
)
@pytest.mark.clause("changji:4.2.9.5")
@pytest.mark.operating_points("ac_offered_current_a")
def test_pwm_frequency_and_duty_follow_the_offered_current(bench, operating_point):
    amps = operating_point
    if reason := bench.within_rating(current_a=amps):
        pytest.skip(reason)
    bench.plug_in()
    bench.start_session()
    bench.offer_current(amps)

    pwm = bench.capture_cp(f"CP offering {amps:g} A").analysis
    at = {"offered_current_a": amps}
    expected = duty_for_current_pct(amps)
    bench.check(
        "changji:4.2.9.5:pwm_frequency",
        pwm.frequency_hz,
        at=at,
        uncertainty=pwm.frequency_uncertainty_hz,
        invalid_reason=pwm.problem,
    )
    bench.check_reading(
        "changji:4.2.9.5:duty_error",
        pwm.duty_pct,
        reference=expected,
        at=at,
        uncertainty=pwm.duty_uncertainty_pct,
        invalid_reason=pwm.problem,
        detail=f"measured {pwm.duty_pct} %, expected {expected:.3f} % for {amps:g} A",
    )
    offered = None if pwm.duty_pct is None else offered_current_a(pwm.duty_pct)
    bench.check_reading(
        "changji:4.2.9.1:offered_duty_error",
        pwm.duty_pct,
        reference=expected,
        at=at,
        uncertainty=pwm.duty_uncertainty_pct,
        invalid_reason=pwm.problem,
        detail=f"the duty offers {offered} A; the platform asked for {amps:g} A",
    )


@pytest.mark.judges("changji:4.2.9.5:duty_step")
@pytest.mark.clause("changji:4.2.9.5")
def test_duty_is_settable_in_one_percent_steps(bench):
    """The resolution: each 1 % setting moves the duty by one step (1 % ± the step limit). The
    absolute duty at each setting is the tolerance case's business, not this one's."""
    duties = bench.points("ac_duty_steps_pct")
    bench.plug_in()
    bench.start_session()
    measured = []
    for duty in duties:
        bench.offer_current(offered_current_a(duty))
        pwm = bench.capture_cp(f"CP at {duty:g} %").analysis
        measured.append(pwm)
    for (low, high), (m_low, m_high) in zip(zip(duties, duties[1:]), zip(measured, measured[1:])):
        known = m_low.duty_pct is not None and m_high.duty_pct is not None
        step = m_high.duty_pct - m_low.duty_pct if known else None
        spread = [m.duty_uncertainty_pct for m in (m_low, m_high)]
        bench.check(
            "changji:4.2.9.5:duty_step",
            step,
            reference=high - low,
            uncertainty=None if None in spread else (spread[0] ** 2 + spread[1] ** 2) ** 0.5,
            invalid_reason=m_low.problem or m_high.problem,
            at={"from_pct": low, "to_pct": high},
            detail=f"measured {m_low.duty_pct} % → {m_high.duty_pct} %",
        )
