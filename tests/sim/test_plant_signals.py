"""Piecewise signals: analytic shapes, sampling any past window, crossings, the history bound."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from bench.core.clock import VirtualClock
from instruments.sim.plant.signals import (
    HISTORY_KEEP_S,
    Affine,
    Approach,
    Const,
    DerivedSignal,
    PiecewiseSignal,
    Pwm,
    Sine,
)


def numeric_crossing(shape, a, b, level, rising, n=2_000_001):
    t = np.linspace(a, b, n)
    v = shape.values(t)
    above = v >= level
    idx = np.flatnonzero(above[1:] & ~above[:-1]) if rising else np.flatnonzero(~above[1:] & above[:-1])
    return t[idx[0]] if len(idx) else None


@pytest.mark.parametrize(
    "y0,target,tau,slew",
    [
        (0.0, 100.0, 0.05, 200.0),  # slew-limited ramp, then exponential
        (100.0, 0.0, 0.05, 200.0),
        (0.0, 100.0, 0.05, None),  # pure first order
        (10.0, 12.0, 0.05, 200.0),  # gap below slew·tau: no ramp part
        (0.0, 50.0, 0.0, 100.0),  # pure ramp
    ],
)
def test_approach_is_continuous_rate_limited_and_its_crossings_are_exact(y0, target, tau, slew):
    shape = Approach(1.0, y0, target, tau, slew)
    t = np.linspace(1.0, 3.0, 200_001)
    v = shape.values(t)
    assert v[0] == pytest.approx(y0)
    assert v[-1] == pytest.approx(target, abs=1e-3)
    rate = np.abs(np.diff(v) / np.diff(t))
    if slew is not None:
        assert rate.max() <= slew * (1 + 1e-6)
    assert np.max(np.abs(np.diff(v))) < abs(target - y0) * 1e-3 + 1e-9  # no step
    level = y0 + 0.7 * (target - y0)
    rising = target > y0
    analytic = shape.crossing(1.0, 3.0, level, rising)
    assert analytic == pytest.approx(numeric_crossing(shape, 1.0, 3.0, level, rising), abs=2e-5)
    assert shape.value(analytic) == pytest.approx(level, abs=1e-9 + abs(target - y0) * 1e-9)
    assert shape.crossing(1.0, 3.0, level, not rising) is None


def test_approach_is_autonomous_so_re_rooting_keeps_the_curve():
    first = Approach(0.0, 0.0, 100.0, 0.05, 200.0)
    later = Approach(0.3, first.value(0.3), 100.0, 0.05, 200.0)
    t = np.linspace(0.3, 1.0, 1001)
    np.testing.assert_allclose(first.values(t), later.values(t), atol=1e-9)


def test_pwm_levels_duty_edges_and_crossings():
    shape = Pwm(high=9.0, low=-12.0, frequency=1000.0, duty=0.267, ramp=2.5e-6, t_ref=0.0)
    t = np.linspace(0.0, 0.01, 1_000_001)
    v = shape.values(t)
    assert v.max() == pytest.approx(9.0) and v.min() == pytest.approx(-12.0)
    rise = shape.crossing(0.0021, 0.01, -1.5, True)
    fall = shape.crossing(rise, 0.01, -1.5, False)
    rise2 = shape.crossing(fall, 0.01, -1.5, True)
    assert rise == pytest.approx(0.003, abs=1e-12)
    assert (fall - rise) == pytest.approx(0.000267, abs=1e-12)  # centred edges: exact width at mid level
    assert (rise2 - rise) == pytest.approx(0.001, abs=1e-12)
    assert shape.value(rise) == pytest.approx(-1.5, abs=1e-9)
    assert shape.crossing(0.0, 0.01, 10.0, True) is None


def test_sine_crossing_is_analytic():
    shape = Sine(311.0, 50.0, 0.003)
    for level, rising in ((0.0, True), (100.0, True), (100.0, False), (-200.0, False)):
        t = shape.crossing(0.01, 0.1, level, rising)
        assert shape.value(t) == pytest.approx(level, abs=1e-6)
        assert t == pytest.approx(numeric_crossing(shape, 0.01, 0.1, level, rising), abs=1e-7)


def test_affine_follows_its_base_and_inverts_the_direction_with_a_negative_gain():
    base = Approach(0.0, 0.0, 100.0, 0.05, 200.0)
    shape = Affine(base, 500.0, -0.05)
    t = base.crossing(0, 1, 60.0, True)
    assert shape.crossing(0, 1, 497.0, False) == pytest.approx(t)
    assert shape.value(t) == pytest.approx(497.0)


def test_piecewise_signal_samples_any_past_window_and_steps_count_as_crossings():
    clock = VirtualClock()
    signal = PiecewiseSignal("x", "V", clock, Const(0.0))
    clock.sleep(1.0)
    signal.set(Const(10.0))
    clock.sleep(1.0)
    signal.set(Approach(clock.now(), 10.0, 0.0, 0.1))
    clock.sleep(1.0)
    times = np.array([0.5, 1.0, 1.5, 2.0, 2.1, 2.9])
    np.testing.assert_allclose(signal.sample(times), [0, 10, 10, 10, 10 * math.exp(-1), 10 * math.exp(-9)])
    shuffled = times[::-1].copy()
    np.testing.assert_allclose(signal.sample(shuffled), signal.sample(times)[::-1])
    assert signal.at(1.5) == 10.0
    assert signal.next_crossing(0.0, 3.0, 5.0, True) == 1.0  # the step at 1 s
    assert signal.next_crossing(0.0, 3.0, 5.0, False) == pytest.approx(2.0 + 0.1 * math.log(2))
    assert signal.next_crossing(1.2, 1.9, 5.0, False) is None


def test_setting_the_same_shape_adds_no_segment_and_same_instant_replaces():
    clock = VirtualClock()
    signal = PiecewiseSignal("x", "V", clock, Const(1.0))
    clock.sleep(1.0)
    signal.set(Const(1.0))
    signal.set(Const(2.0))
    signal.set(Const(3.0))
    assert [shape for _, shape in signal.segments()] == [Const(1.0), Const(3.0)]


def test_history_is_bounded_to_the_documented_window():
    clock = VirtualClock()
    signal = PiecewiseSignal("x", "V", clock, Const(0.0))
    for k in range(1, 1001):
        clock.sleep(1.0)
        signal.set(Const(float(k)))
    starts = [t for t, _ in signal.segments()]
    assert starts[0] >= clock.now() - HISTORY_KEEP_S - 1.0
    assert len(starts) <= HISTORY_KEEP_S + 2
    assert signal.at(clock.now() - HISTORY_KEEP_S + 0.5) == pytest.approx(1000 - HISTORY_KEEP_S)


def test_a_scope_record_of_100k_points_takes_milliseconds():
    clock = VirtualClock()
    signal = PiecewiseSignal("cp", "V", clock, Const(9.0))
    for k in range(200):  # many segments inside the window
        clock.sleep(0.0005)
        signal.set(Pwm(9.0 - k * 1e-3, -12.0, 1000.0, 0.267, 2.5e-6, 0.0))
    times = np.linspace(clock.now() - 0.1, clock.now(), 100_000)
    signal.sample(times)
    start = time.perf_counter()
    for _ in range(5):
        signal.sample(times)
    # A figure, not a timed assertion (it would fail on a loaded machine).
    print(f"\n100 k samples over 200 segments: {(time.perf_counter() - start) / 5 * 1e3:.1f} ms each")


def test_derived_signal_crossing_is_found_numerically():
    clock = VirtualClock()
    clock.sleep(1.0)
    signal = DerivedSignal("y", "A", lambda t: 10 * np.sin(2 * np.pi * 50 * t))
    t = signal.next_crossing(0.0, 0.1, 5.0, True)
    assert t == pytest.approx(math.asin(0.5) / (2 * math.pi * 50), abs=1e-6)
