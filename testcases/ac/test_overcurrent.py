"""4.2.5 over-current protection of the AC pile, and the event it uploads.

GB/T 18487.1 Annex A (U, from memory of the annex; docs/limits.md §7): a vehicle drawing more
than the allowed current + 2 A (allowed ≤ 20 A) or 1.1 × the allowed current (above 20 A)
for more than 5 s → the pile cuts the supply. The protection event reaches the platform
within 5 s (bench default, U).

Fails against a simulated pile with: ignores_overcurrent (and reports_events for the event).
"""

import pytest

from bench.api.timings import AC_OUTPUT_POLL_S, EVENT_POLL_S, WINDOW_FACTOR

pytestmark = [pytest.mark.dut("ac"), pytest.mark.clause("changji:4.2.5")]


@pytest.mark.judges("changji:4.2.5:event_latency", "gbt18487.1:A:overcurrent_cut_time")
def test_overcurrent_cuts_the_supply_and_is_reported(bench):
    rule = bench.limit("gbt18487.1:A:overcurrent_cut_time")
    allowed = rule.figure("small_allowed_a")
    bench.deliver()
    bench.offer_current(allowed)
    overload = bench.overload_current(allowed)
    since = bench.now()
    bench.draw(overload)
    window = rule.high + bench.limit("changji:4.2.5:event_latency").high
    cut = bench.try_wait_until(
        lambda: not bench.output_active(), window, poll=AC_OUTPUT_POLL_S, what="the pile to cut its supply"
    )
    at = {"allowed_a": allowed, "drawn_a": overload}
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
