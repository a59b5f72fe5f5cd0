"""4.2.5 over-current protection of the AC pile, and the event it uploads.

GB/T 18487.1 Annex A (U, from memory of the annex; docs/limits.md §7): a vehicle drawing more
than the allowed current + 2 A (allowed ≤ 20 A) or 1.1 × the allowed current (above 20 A)
for more than 5 s → the pile cuts the supply. The protection event reaches the platform
within 5 s (bench default, U).

Both branches are tested: 16 A allowed (cut above 18 A) and 32 A allowed (cut above 35.2 A), the
vehicle drawing 1 A past the threshold.

Fails against a simulated pile with: ignores_overcurrent (and reports_events for the event);
overcurrent_margin_a past 3 A (the 16 A point), overcurrent_ratio past 1.13 (the 32 A point).
"""

import pytest

from bench.api.timings import AC_OUTPUT_POLL_S, EVENT_POLL_S, WINDOW_FACTOR

pytestmark = [pytest.mark.dut("ac"), pytest.mark.clause("changji:4.2.5")]


@pytest.mark.judges("changji:4.2.5:event_latency", "gbt18487.1:A:overcurrent_cut_time")
@pytest.mark.operating_points("ac_overcurrent_allowed_a")
def test_overcurrent_cuts_the_supply_and_is_reported(bench, operating_point):
    rule = bench.limit("gbt18487.1:A:overcurrent_cut_time")
    allowed = operating_point
    if reason := bench.within_rating(current_a=allowed):
        pytest.skip(reason)
    bench.deliver()
    bench.offer_current(allowed)
    overload = bench.overload_current(allowed)
    since = bench.now()
    bench.draw(overload)
    window = rule.high + bench.limit("changji:4.2.5:event_latency").high
    cut = bench.try_wait_until(
        lambda: not bench.output_active(), window, poll=AC_OUTPUT_POLL_S, what="the pile to cut its supply"
    )
    branch = "allowed + margin" if allowed <= rule.figure("small_allowed_a") else "ratio × allowed"
    at = {"allowed_a": allowed, "drawn_a": overload, "branch": branch}
    bench.check_duration(
        "gbt18487.1:A:overcurrent_cut_time",
        cut,
        window=window,
        missing="no cut",
        at=at,
        uncertainty=AC_OUTPUT_POLL_S,
        detail=f"drawing {overload:g} A against {allowed:g} A allowed",
    )
    if cut is None:
        return
    cut_at = since + cut
    window = WINDOW_FACTOR * bench.limit("changji:4.2.5:event_latency").high
    event = bench.wait_for_event("protection", since, window)
    bench.check_duration(
        "changji:4.2.5:event_latency",
        None if event is None else max(0.0, event.bench_time - cut_at),
        window=window,
        missing="no protection event",
        at=at,
        uncertainty=EVENT_POLL_S,
        detail="" if event is None else f"event: {event.detail}",
    )
