"""The one Clock: virtual time moves only while the bench waits, events fire in time order,
periodic tasks keep absolute deadlines, wait helpers return the time they measured."""

from __future__ import annotations

import time

import pytest

from bench.core.clock import ClockError, RealClock, VirtualClock
from bench.core.errors import WaitTimeout


def test_virtual_time_moves_only_while_the_bench_waits():
    clock = VirtualClock()
    start = time.monotonic()
    clock.sleep(3600.0)
    assert clock.now() == 3600.0
    assert time.monotonic() - start < 1.0


def test_events_fire_in_time_order_and_ties_in_scheduling_order():
    clock = VirtualClock()
    fired = []
    clock.call_at(2.0, fired.append, "b")
    clock.call_at(1.0, fired.append, "a")
    clock.call_at(2.0, fired.append, "c")
    cancelled = clock.call_at(1.5, fired.append, "never")
    cancelled.cancel()
    clock.sleep(5.0)
    assert fired == ["a", "b", "c"]


def test_a_callback_sees_its_own_time():
    clock = VirtualClock()
    seen = []
    clock.call_later(0.25, lambda: seen.append(clock.now()))
    clock.sleep(1.0)
    assert seen == [0.25]


def test_periodic_tasks_keep_absolute_deadlines():
    clock = VirtualClock()
    times = []
    clock.every(0.1, lambda: times.append(clock.now()))
    clock.sleep(100.0)
    assert len(times) == 1001
    assert times[-1] == pytest.approx(100.0, abs=1e-9)  # k × period, no accumulated drift


def test_a_callback_must_not_sleep():
    clock = VirtualClock()
    errors = []

    def naughty():
        try:
            clock.sleep(1.0)
        except ClockError as exc:
            errors.append(str(exc))

    clock.call_later(0.1, naughty)
    clock.sleep(1.0)
    assert errors and "callbacks must not wait" in errors[0]


def test_wait_until_returns_the_measured_time_and_times_out_with_it():
    clock = VirtualClock()
    flag = []
    clock.call_at(2.35, flag.append, True)
    assert clock.wait_until(lambda: bool(flag), 10.0, poll=0.05) == pytest.approx(2.35, abs=0.05 + 1e-9)
    with pytest.raises(WaitTimeout) as err:
        clock.wait_until(lambda: False, 1.5, poll=0.1, what="a thing that never happens")
    assert err.value.elapsed == pytest.approx(1.5)
    assert "a thing that never happens" in str(err.value)


def test_wait_settled_reports_the_value_and_the_settling_time():
    clock = VirtualClock()
    start = clock.now()

    def reading():  # a first-order step that settles at 10 around t = 2 s
        t = clock.now() - start
        return 10.0 if t >= 2.0 else 5.0 + 2.5 * t

    settled = clock.wait_settled(reading, band=0.1, hold=1.0, timeout=10.0, poll=0.1, target=10.0)
    assert settled.value == pytest.approx(10.0)
    assert settled.elapsed == pytest.approx(2.0, abs=0.1 + 1e-9)
    with pytest.raises(WaitTimeout):
        clock.wait_settled(lambda: clock.now(), band=0.01, hold=1.0, timeout=2.0, poll=0.1)


def test_pollers_drain_traffic_before_time_moves_on():
    clock = VirtualClock()
    drained = []
    clock.add_poller(lambda: drained.append(clock.now()))
    clock.call_at(1.0, clock.notify_traffic)
    clock.sleep(2.0)
    assert drained == [1.0]


def test_the_real_clock_fires_on_wall_time_deadlines():
    clock = RealClock()
    times = []
    clock.every(0.02, lambda: times.append(clock.now()))
    clock.sleep(0.21)
    assert 9 <= len(times) <= 12
    assert clock.now() >= 0.21
