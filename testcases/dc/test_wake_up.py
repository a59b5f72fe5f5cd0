"""4.2.10.4: DC wake-up (GB/T 20234.3 connector).

Attachment 3 4.2.10.4: on the platform's wake-up command the charger cuts the 12 V
auxiliary supply for more than 10 s (changji:4.2.10.4:aux_off_duration, T), restores it and
starts communication: CHM again within 5 s of the supply coming back
(changji:4.2.10.4:communication_restart_time, U: the GB/T 27930 default timeout).

The set-up is a sleeping vehicle: connector in, the pile started (auxiliary supply on, CHM
unanswered), the vehicle's BMS asleep until its 12 V supply has been off for long enough.
The bench follows the supply at the inlet with the EV simulator's auxiliary-supply input,
polled every 0.1 s (far below the 10 s and 5 s of the rule), and times CHM from its frames.

Fails against a simulated charger with: aux_off_duration_s ≤ 10 s (off interval),
wake_restarts_communication = false (communication restart).
"""

import pytest

from bench.api.timings import AUX_POLL_S, AUX_WATCH_FACTOR, WINDOW_FACTOR

pytestmark = pytest.mark.dut("dc")


@pytest.mark.judges("changji:4.2.10.4:aux_off_duration", "changji:4.2.10.4:communication_restart_time")
@pytest.mark.clause("changji:4.2.10.4")
def test_wake_up_cycles_the_auxiliary_supply_and_restarts_communication(bench):
    off_rule = bench.limit("changji:4.2.10.4:aux_off_duration")
    restart_rule = bench.limit("changji:4.2.10.4:communication_restart_time")
    with bench.step("a sleeping vehicle on a started pile"):
        bench.connect_vehicle()
        bench.vehicle_sleeps()
        bench.platform.start()
        bench.wait_until(
            bench.aux_present,
            bench.command_wait_s(),
            poll=AUX_POLL_S,
            what="the auxiliary supply after the platform's start",
        )
    with bench.step("the platform's wake-up command"):
        bench.platform.wake_vehicle()
        bench.wait_until(
            lambda: not bench.aux_present(),
            bench.command_wait_s(),
            poll=AUX_POLL_S,
            what="the auxiliary supply to go off after the wake-up command",
        )
        off_at = bench.now()
        watch = off_rule.low * AUX_WATCH_FACTOR
        back = bench.try_wait_until(bench.aux_present, watch, poll=AUX_POLL_S, what="the auxiliary supply to come back")
        on_at = bench.now()
    bench.check(
        "changji:4.2.10.4:aux_off_duration",
        on_at - off_at,
        uncertainty=AUX_POLL_S,
        detail="polled at the EV simulator's auxiliary-supply input"
        + ("" if back is not None else f"; still off after {watch:g} s: the time is a lower bound"),
    )
    if back is None:
        bench.check(
            "changji:4.2.10.4:communication_restart_time",
            None,
            detail="the auxiliary supply never came back: no restart to time",
        )
        return
    # The supply came back at most one poll period before the bench saw it.
    chm = bench.wait_for_frame("CHM", on_at - AUX_POLL_S, restart_rule.high * WINDOW_FACTOR)
    took = restart_rule.high * WINDOW_FACTOR if chm is None else max(0.0, chm.time - on_at)
    bench.check(
        "changji:4.2.10.4:communication_restart_time",
        took,
        uncertainty=AUX_POLL_S,
        detail="first CHM after the supply came back"
        + ("" if chm is not None else f"; none within {took:g} s: the time is a lower bound"),
    )
    with bench.step("the platform stops the woken session"):
        bench.stop_by_platform()
