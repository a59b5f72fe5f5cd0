"""4.5.3 e: the platform watches the traction battery through the pile's uploads and stops the
charging on any of six conditions; the bench is the platform.

Attachment 3 4.5.3 e (T) puts the monitoring on the operation platform: output voltage above the
battery's maximum total voltage, highest temperature above the maximum, a fast temperature rise,
a large temperature spread, a cell voltage above its maximum, a large cell spread. The maxima are
the vehicle's BCP; the rise and spread thresholds are the bench's (U, docs/limits.md §7). The
bench's battery monitor (bench/platform/battery_monitor.py) finds each condition in the pile's
battery-status upload and commands the stop, so what is judged is the pile's part:

* the upload shows the change within the 4.2.4 upload latency (changji:4.2.4:upload_latency, U),
  timed from the vehicle's first frame with the new value (BCS, BSM) to the first upload with it;
* the pile obeys the platform's stop within the 60 s of 4.2.6 (changji:4.2.6:command_response_time,
  T), to the output current ≤ 5 A;
* the charging stopped on the condition (changji:4.5.3e:stopped, T): a pile that never uploads the
  battery status leaves the platform blind, and fails.

The bench's own detection time (from the BMS reporting the condition to the monitor finding it) is
reported in the detail and the test's notes. The BMS drives each condition through what it reports
(bench/api/dc/battery_watch.py says why).

Fails against a simulated charger with: bms_upload_lag_s past 15 s (4.2.4 latency);
uploads_battery_status = false (latency and 4.5.3 e; no stop is sent, so 4.2.6 is not timed);
command_response_delay_s past 60 s (4.2.6).
"""

import pytest

from bench.analysis.battery_conditions import CONDITIONS
from bench.api.dc.battery_watch import LATENCY_KEY, STOP_KEY, STOPPED_KEY
from bench.api.timings import BATTERY_MONITOR_POLL_S, CAN_TIME_RESOLUTION_S, COMMAND_POLL_S

pytestmark = pytest.mark.dut("dc")


@pytest.mark.judges("changji:4.2.4:upload_latency", "changji:4.2.6:command_response_time", "changji:4.5.3e:stopped")
@pytest.mark.clause("changji:4.5.3e")
@pytest.mark.parametrize("condition", CONDITIONS)
def test_the_platform_stops_the_charging_on_a_battery_condition(bench, condition):
    amps = bench.charge_for_the_battery_monitor()
    run = bench.watch_battery_condition(condition)
    at = {"condition": condition, "charging_a": round(amps, 1)}
    if run.stale:
        reason = f"the uploads showed a condition before the BMS reported one ({run.stale})"
        for key in (LATENCY_KEY, STOP_KEY, STOPPED_KEY):
            bench.check(key, None, at=at, invalid_reason=reason)
        return

    sent = run.changed_at if run.sent_at is None else run.sent_at
    if run.upload_seen_at is None:
        latency, uncertainty = run.watched_until - sent, None
        seen = f"the pile's {run.field} upload never changed (value = lower bound)"
    else:
        latency, uncertainty = run.upload_seen_at - sent, BATTERY_MONITOR_POLL_S + CAN_TIME_RESOLUTION_S
        seen = f"from the vehicle's first frame with the new value to the pile's {run.field} upload with it"
        seen += f" (was {run.before})"
    bench.check(LATENCY_KEY, latency, uncertainty=uncertainty, at={**at, "upload": run.field}, detail=seen)

    detection = run.detection
    if detection is None:  # no stop was sent, so 4.2.6 has nothing to time
        bench.check(
            STOPPED_KEY,
            False,
            reference=True,
            at=at,
            detail=f"no condition found in the pile's uploads within {run.watched_until - run.changed_at:.1f} s: "
            "the platform sent no stop",
        )
        return

    detected = f"the platform found it {detection.detected_at - run.changed_at:.2f} s after the BMS reported it"
    bench.note(f"4.5.3 e {condition}", f"{detected}: {detection.describe()}")
    if run.output_off_at is None:
        took, off = run.watched_until - detection.stop_commanded_at, "the output still on (value = lower bound)"
    else:
        took, off = run.output_off_at - detection.stop_commanded_at, "from the platform's stop to the output off"
    bench.check(
        STOP_KEY,
        took,
        uncertainty=None if run.output_off_at is None else COMMAND_POLL_S,
        at={**at, "command": "stop (4.5.3 e)"},
        detail=off,
    )
    stopped = condition in detection.conditions and run.output_off_at is not None
    bench.check(
        STOPPED_KEY,
        stopped,
        reference=True,
        at=at,
        detail=f"{detected} ({detection.describe()}); "
        + ("the output went off" if run.output_off_at is not None else "the output stayed on"),
    )
