"""4.2.3: the pile detects a local anomaly and uploads it to the platform; 4.2.5: it protects
itself against supply over- and under-voltage, and records and uploads the event.

Bench defaults (docs/limits.md §7, U): an event reaches the platform within 5 s; with the
supply outside 0.85–1.15 × nominal the pile stops within 1 s. The local anomaly is a CP diode
short on an AC pile and an emergency stop on a DC charger (EV simulator); the supply fault is
the grid simulator 5 % of nominal outside the band (above it on the quick grid, above and
below on the full grid). The stop is timed on the scope from the supply change: the end of the
output voltage (AC), the output current down to 5 A (DC).

4.2.5 also asks the pile to record communication faults and upload them. The platform link
lost and restored: with the pile's clock synchronised, the bench (the platform) closes the link
and keeps it closed for LINK_OUTAGE_S (Modbus: no requests; OCPP: the connection closed and the
pile refused), then allows it again. The pile must have recorded a communication fault stamped
inside the outage (its own clock, within the ±2 s of the sync; changji:4.2.5:link_loss_recorded,
T) and upload it within 5 s of the link being back (changji:4.2.5:link_loss_upload_time, U;
over OCPP that includes the pile's own reconnection).

Fails against a simulated pile with: reports_events = false (every event upload);
ignores_supply_fault = true (the stop, and the protection event it never raises);
uploads_link_loss = false (the link loss neither recorded nor uploaded).
"""

import pytest

from bench.api.platform import (
    bench_time_of,
    deliver_at,
    drain_events,
    event_delay,
    supply_fault_ratio,
    supply_fault_skipped,
    supply_restored,
    synchronise_clock,
    time_supply_fault_stop,
)
from bench.api.timings import EVENT_POLL_S, LINK_OUTAGE_S, WINDOW_FACTOR

ANOMALY_LATENCY = "changji:4.2.3:event_latency"
STOP_TIME = "changji:4.2.5:supply_fault_stop_time"
PROTECTION_LATENCY = "changji:4.2.5:event_latency"
SYNC = "changji:4.2.9.3:time_sync_error"
LINK_RECORDED = "changji:4.2.5:link_loss_recorded"
LINK_UPLOAD = "changji:4.2.5:link_loss_upload_time"


@pytest.mark.judges("changji:4.2.3:event_latency")
@pytest.mark.clause("changji:4.2.3")
def test_local_anomaly_is_uploaded(bench):
    assert deliver_at(bench, bench.output_level_points()[0]), "the pile did not deliver (see 4.2.2)"
    drain_events(bench)
    with bench.local_anomaly() as what:
        since = bench.now()
        value, uncertainty, seen = event_delay(
            bench, "anomaly", since, since, WINDOW_FACTOR * bench.limit(ANOMALY_LATENCY).high, what
        )
        bench.check(ANOMALY_LATENCY, value, uncertainty=uncertainty, at={"anomaly": what}, detail=seen)


@pytest.mark.judges("changji:4.2.5:event_latency", "changji:4.2.5:supply_fault_stop_time")
@pytest.mark.clause("changji:4.2.5")
@pytest.mark.parametrize("direction", ["over", "under"])
def test_supply_fault_stops_the_output_and_is_uploaded(bench, direction):
    if reason := supply_fault_skipped(bench, direction):
        pytest.skip(reason)
    assert deliver_at(bench, bench.output_level_points()[0]), "the pile did not deliver (see 4.2.2)"
    drain_events(bench)
    ratio = supply_fault_ratio(bench, direction)
    at = {"supply_ratio": ratio}
    with supply_restored(bench):
        stop = time_supply_fault_stop(bench, ratio, WINDOW_FACTOR * bench.limit(STOP_TIME).high)
        what = f"supply at {stop.volts:g} V ({ratio:g} × nominal)"
        if stop.stop_s is None:
            bench.check(
                STOP_TIME,
                stop.watched_s,
                at=at,
                detail=f"{what}: the output still on at the end of the record (value = lower bound)",
            )
        else:
            bench.check(
                STOP_TIME,
                stop.stop_s,
                uncertainty=stop.resolution_s,
                at=at,
                detail=f"{what}: from the supply change to the output off (scope)",
            )
        value, uncertainty, seen = event_delay(
            bench, "protection", stop.applied, stop.applied, WINDOW_FACTOR * bench.limit(PROTECTION_LATENCY).high, what
        )
        bench.check(PROTECTION_LATENCY, value, uncertainty=uncertainty, at=at, detail=seen)


@pytest.mark.judges("changji:4.2.5:link_loss_recorded", "changji:4.2.5:link_loss_upload_time")
@pytest.mark.clause("changji:4.2.5")
def test_platform_link_loss_is_recorded_and_uploaded_after_reconnection(bench):
    tolerance = bench.limit(SYNC).tolerance()
    synchronise_clock(bench, tolerance)
    drain_events(bench)
    with bench.step(f"the platform link cut for {LINK_OUTAGE_S:g} s"):
        cut = bench.now()
        bench.platform.cut_link()
        try:
            bench.wait(LINK_OUTAGE_S)
        finally:
            bench.platform.restore_link()
        restored = bench.now()
    window = WINDOW_FACTOR * bench.limit(LINK_UPLOAD).high
    event = bench.wait_for_event("communication_fault", cut, window)
    at = {"outage_s": LINK_OUTAGE_S}
    bench.check_duration(
        LINK_UPLOAD,
        None if event is None else event.bench_time - restored,
        window=bench.now() - restored,
        missing="no communication-fault event at the platform after the link came back",
        uncertainty=EVENT_POLL_S,
        at=at,
        detail="" if event is None else f"communication_fault event '{event.detail}' after the link came back",
    )
    stamped = None if event is None or event.pile_time is None else bench_time_of(bench, event.pile_time)
    inside = stamped is not None and cut - tolerance <= stamped <= restored + tolerance
    bench.check(
        LINK_RECORDED,
        inside,
        reference=True,
        at=at,
        detail="no communication-fault event for the outage"
        if event is None
        else "the event has no time stamp"
        if stamped is None
        else f"stamped {stamped - cut:+.2f} s from the cut (pile clock; the outage lasted {restored - cut:g} s, "
        f"±{tolerance:g} s for the clock)",
    )
