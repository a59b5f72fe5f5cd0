"""What real records hold besides clean PWM (issue 11): noise on a flat line, ringing, holes,
clipping, an idle line, and what the uncertainty budget makes of them."""

import numpy as np
import pytest

from bench.analysis.pwm import ScopeAccuracy, analyse_pwm
from tests.analysis.synthetic import as_codes, cp_record, true_edges


@pytest.mark.parametrize("noise", [0.1, 0.3, 0.5])
def test_a_flat_line_with_noise_is_no_pwm_with_its_dc_level(noise):
    times = np.arange(100_000) / 10e6
    volts = 9.0 + np.random.default_rng(3).normal(0.0, noise, len(times))
    analysis = analyse_pwm(times, volts)
    assert analysis.steady and analysis.frequency_hz is None and analysis.duty_pct is None
    assert analysis.level_v == pytest.approx(9.0, abs=0.02)
    assert analysis.noise_v == pytest.approx(noise, rel=0.05)


def test_a_flat_line_in_raw_codes_is_no_pwm_in_volts():
    times = np.arange(100_000) / 10e6
    codes, scale = as_codes(9.0 + np.random.default_rng(4).normal(0.0, 0.3, len(times)), 8)
    analysis = analyse_pwm(times, codes, scale=scale)
    assert analysis.steady and analysis.level_v == pytest.approx(9.0, abs=0.1)


def test_an_idle_line_is_a_dc_level():
    analysis = analyse_pwm(np.arange(1000) / 1e6, np.zeros(1000))
    assert analysis.steady and analysis.level_v == 0.0 and analysis.noise_v == 0.0


@pytest.mark.parametrize("overshoot", [0.2, 0.5])
def test_ringing_does_not_move_rise_fall_or_duty(overshoot):
    analysis = analyse_pwm(*cp_record(30.0, ringing=overshoot))
    truth = true_edges(30.0)
    assert analysis.rise_s == pytest.approx(truth["rise_s"], abs=0.2e-6)
    assert analysis.fall_s == pytest.approx(truth["fall_s"], abs=0.2e-6)
    assert analysis.duty_pct == pytest.approx(30.0, abs=0.05)
    assert analysis.high_v == pytest.approx(9.0, abs=0.1) and analysis.low_v == pytest.approx(-12.0, abs=0.1)


def test_holes_leave_out_the_cycles_they_touch():
    times, volts = cp_record(30.0)
    volts[25_000:25_050] = np.nan  # in the third cycle
    analysis = analyse_pwm(times, volts)
    assert analysis.bad_samples == 50 and analysis.periods == 8 and not analysis.problem
    assert analysis.duty_pct == pytest.approx(30.0, abs=0.01)


def test_a_record_mostly_holes_is_not_judged():
    times, volts = cp_record(30.0)
    volts[::50] = np.nan  # 2 %
    analysis = analyse_pwm(times, volts)
    assert analysis.problem == "2.0 % of the samples are holes or clipped"
    assert analysis.duty_pct is None and not analysis.steady  # never taken for "no PWM"


def test_clipped_codes_are_left_out_like_holes():
    times, volts = cp_record(30.0)
    codes, scale = as_codes(volts, 8)
    codes[40_000:40_020] = 255  # clipped: the ADC's top code
    analysis = analyse_pwm(times, codes, scale=scale)
    assert analysis.bad_samples == 20 and analysis.periods == 8
    assert analysis.duty_pct == pytest.approx(30.0, abs=0.05)


def test_the_expanded_uncertainty_follows_noise_sample_rate_and_the_instrument():
    quiet = analyse_pwm(*cp_record(30.0, noise_v=0.01))
    noisy = analyse_pwm(*cp_record(30.0, noise_v=0.3))
    coarse = analyse_pwm(*cp_record(30.0, rate=1e6, edge_s=20e-6, noise_v=0.01))
    assert quiet.duty_uncertainty_pct < noisy.duty_uncertainty_pct
    assert quiet.duty_uncertainty_pct < coarse.duty_uncertainty_pct
    # the truth lies inside the expanded uncertainty (k = 2); at 10 MS/s the bound is well inside
    # the ±0.5 % duty tolerance, at 1 MS/s one sample's quantisation dominates (1 µs / √12 per edge)
    for analysis in (quiet, noisy, coarse):
        assert abs(analysis.duty_pct - 30.0) <= analysis.duty_uncertainty_pct
    assert quiet.duty_uncertainty_pct < 0.01 and noisy.duty_uncertainty_pct < 0.05
    assert coarse.duty_uncertainty_pct == pytest.approx(2 * 100 * (2**0.5 * 1e-6 / 12**0.5) / 1e-3, rel=0.05)
    rated = analyse_pwm(
        *cp_record(30.0), accuracy=ScopeAccuracy(timebase_ppm=25.0, vertical_pct=1.5, vertical_offset_v=0.1)
    )
    plain = analyse_pwm(*cp_record(30.0))
    assert rated.frequency_uncertainty_hz > plain.frequency_uncertainty_hz  # 25 ppm of 1 kHz: 0.03 Hz at k = 2
    assert rated.frequency_uncertainty_hz == pytest.approx(2 * 1000 * 25e-6 / 3**0.5, rel=0.1)
    assert rated.uncertainty.high_v == pytest.approx(2 * (9 * 0.015 + 0.1) / 3**0.5, rel=0.05)
    assert rated.duty_uncertainty_pct == pytest.approx(plain.duty_uncertainty_pct)  # the time base cancels
