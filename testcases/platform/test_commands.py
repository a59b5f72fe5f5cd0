"""4.2.2, 4.2.4 and 4.2.6: a charging session run from the operation platform.

The bench is the platform (Modbus TCP or OCPP 1.6J, as the profile says) and judges what the
pile does from its own instruments, never from the pile's acknowledgement:

* 4.2.2 (T): the pile carries out an immediate start, a power adjustment, a stop, and the
  wake-up command (AC: a sleeping pile starts PWM; DC: it runs its auxiliary-supply wake-up —
  how long the supply stays off is 4.2.10.4's business);
* 4.2.4 (bench defaults, docs/limits.md §7, U): the uploaded V, I, P agree with the power analyzer
  at the pile's output within max(±1 % of reading, ±0.5 V / ±0.2 A / ±50 W), with a real load
  on the output (AC: the vehicle draws 90 % of the offered current; DC: the charger at its
  power limit); the start and stop events reach the platform within 15 s of the change;
* 4.2.6 (T): the orderly-charging command — a current limit on an AC pile (the CP duty it
  offers, 4.2.9.1), a power limit on a DC charger — is answered within 60 s, timed from the
  command to the output settled at the new level. Whether that level is accurate is judged by
  4.2.9.1 and 4.2.10.5, not here.

Every wait for a command is the command wait (60 s plus a margin), so a slow pile fails 4.2.6
and nothing else.

Fails against a simulated pile with: command_response_delay_s past 60 s (4.2.6);
upload_error_pct beyond 1 % (4.2.4 V, I, P); reports_events = false (4.2.4 events);
wakes_vehicle = false (AC wake-up).
"""

import pytest

from bench.api.platform import (
    event_delay,
    loaded_output,
    needs_capability,
    start_output,
    wait_for_new_level,
    wait_output_off,
)
from bench.api.timings import COMMAND_POLL_S, LEVEL_POLL_S, WINDOW_FACTOR, output_change_resolution_s

EXECUTED = "changji:4.2.2:command_executed"
RESPONSE = "changji:4.2.6:command_response_time"
LATENCY = "changji:4.2.4:upload_latency"
UPLOADED = (  # analyzer function, Realtime field, accuracy quantity, limit key
    ("U", "voltage_v", "voltage", "changji:4.2.4:upload_voltage_error"),
    ("I", "current_a", "current", "changji:4.2.4:upload_current_error"),
    ("P", "power_w", "power", "changji:4.2.4:upload_power_error"),
)


@pytest.mark.judges(
    "changji:4.2.2:command_executed",
    "changji:4.2.4:upload_current_error",
    "changji:4.2.4:upload_latency",
    "changji:4.2.4:upload_power_error",
    "changji:4.2.4:upload_voltage_error",
    "changji:4.2.6:command_response_time",
)
@pytest.mark.clause("changji:4.2.2")
@pytest.mark.clause("changji:4.2.4")
@pytest.mark.clause("changji:4.2.6")
def test_a_charging_session_run_from_the_platform(bench):
    first, second = bench.output_level_points()
    unit = bench.output_level_unit
    window = WINDOW_FACTOR * bench.limit(LATENCY).high

    with bench.step("4.2.2 immediate start"):
        start = start_output(bench, bench.platform.start, level=first)
        on = start.output_on is not None
        bench.check(
            EXECUTED,
            on,
            reference=True,
            at={"command": "start"},
            detail=f"output on {start.output_on - start.sent:.2f} s after the start command"
            if on
            else "the pile started its session but the output never came on"
            if start.started is not None
            else f"no session start within {bench.command_wait_s():g} s",
        )
        if not on:
            return
        steady, before = wait_for_new_level(bench, 0.0, first, start.output_on, LEVEL_POLL_S)
        assert steady is not None, f"the output level never settled near {first:g} {unit}"

    with bench.step("4.2.4 real-time values and the start event"):
        with loaded_output(bench, first):
            measured, uploaded = bench.measured_output(), bench.platform.realtime()
        for function, field, quantity, key in UPLOADED:
            ours, theirs = measured[function], getattr(uploaded, field)
            bench.check_reading(
                key,
                theirs,
                reference=ours,
                uncertainty=None if ours is None else bench.accuracy("analyzer", quantity, ours),
                detail=f"uploaded {theirs}, measured {ours} (power analyzer)",
            )
        value, uncertainty, seen = event_delay(
            bench,
            "start",
            start.sent,
            start.output_on,
            window,
            "the bench saw the output come on",
            output_change_resolution_s(COMMAND_POLL_S),
        )
        bench.check(LATENCY, value, uncertainty=uncertainty, at={"event": "start"}, detail=seen)

    with bench.step("4.2.6 orderly-charging command, 4.2.2 power adjustment"):
        since = bench.command_output_level(second)
        elapsed, settled = wait_for_new_level(bench, before, second, since, LEVEL_POLL_S)
        at = {"from": first, "to": second, "unit": unit}
        if elapsed is None:
            bench.check(
                RESPONSE,
                bench.now() - since,
                at=at,
                detail=f"the output level stayed at {settled} {unit} (value = lower bound)",
            )
        else:
            bench.check(
                RESPONSE,
                elapsed,
                uncertainty=bench.level_change_resolution_s(),
                at=at,
                detail=f"from the command to the output level settled at {settled:g} {unit} "
                f"(was {before:g} {unit}), polled every {LEVEL_POLL_S:g} s",
            )
        bench.check(
            EXECUTED,
            elapsed is not None,
            reference=True,
            at={"command": "power adjustment", **at},
            detail=f"the output level went from {before:g} to {settled} {unit} ({second:g} {unit} asked)",
        )

    with bench.step("4.2.2 stop, 4.2.4 the stop event"):
        sent = bench.now()
        bench.platform.stop()
        off = wait_output_off(bench, bench.command_wait_s())
        bench.check(
            EXECUTED,
            off is not None,
            reference=True,
            at={"command": "stop"},
            detail=f"output off {off - sent:.2f} s after the stop command"
            if off is not None
            else f"output still on {bench.command_wait_s():g} s after the stop command",
        )
        if off is not None:
            value, uncertainty, seen = event_delay(
                bench,
                "stop",
                sent,
                off,
                window,
                "the bench saw the output stop",
                output_change_resolution_s(COMMAND_POLL_S),
            )
            bench.check(LATENCY, value, uncertainty=uncertainty, at={"event": "stop"}, detail=seen)


@pytest.mark.judges("changji:4.2.2:command_executed")
@pytest.mark.clause("changji:4.2.2")
def test_wake_up_command(bench):
    with needs_capability("the wake-up command"):  # OCPP: a vendor DataTransfer; Modbus: a command code
        acted, seen = bench.wake_up_acted()
    bench.check(EXECUTED, acted, reference=True, at={"command": "wake-up"}, detail=seen)
