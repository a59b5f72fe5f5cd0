"""4.2.5 on a DC charger: short-circuit protection, and a communication fault with the vehicle.

Bench defaults (docs/limits.md §7, §9, U), from a steady charge at a third of the maximum
current:

* Output short: the bench closes a shorting contactor across the inlet (the EV simulator's
  relay output the profile wires as ``output_short``; skipped where none is wired). The
  charger's output current is down to the 5 A of a stopped charger within 1 s of the short
  (changji:4.2.5:short_circuit_stop_time), off a scope record of the output current, and the
  protection event reaches the platform within 5 s (changji:4.2.5:event_latency).
* CAN lost while charging: the bench's BMS goes silent. GB/T 27930 gives the charger 1 s
  without BCL (T); it must then stop, the output current ≤ 5 A within 2 s of the vehicle's
  last frame (changji:4.2.5:communication_loss_stop_time), and report a communication fault
  to the platform within 5 s of it (changji:4.2.5:event_latency).

Fails against a simulated charger with: ignores_output_short (stop and event);
short_circuit_stop_s above 1 s (stop); ignores_can_loss (stop and event); reports_events =
false (both events).
"""

import pytest

from bench.api.platform import drain_events, event_delay
from bench.api.timings import FAULT_CHARGING_FRACTION, WINDOW_FACTOR, record_window_s

pytestmark = pytest.mark.dut("dc")

EVENT = "changji:4.2.5:event_latency"


def judge_event(bench, kind: str, since: float, at: dict, what: str) -> None:
    value, uncertainty, seen = event_delay(bench, kind, since, since, WINDOW_FACTOR * bench.limit(EVENT).high, what)
    bench.check(EVENT, value, uncertainty=uncertainty, at=at, detail=seen)


@pytest.mark.judges("changji:4.2.5:short_circuit_stop_time", "changji:4.2.5:event_latency")
@pytest.mark.clause("changji:4.2.5")
def test_output_short_circuit_stops_the_charger_and_is_uploaded(bench):
    if not bench.output_short_wired():
        pytest.skip("no shorting contactor wired: [instruments.ev.wiring] has no output_short line")
    key = "changji:4.2.5:short_circuit_stop_time"
    amps = bench.charge_steadily(round(bench.dut.current_range_a[1] * FAULT_CHARGING_FRACTION))
    at = {"charging_a": round(amps, 1), "fault": "output short"}
    drain_events(bench)
    try:
        with bench.step("the inlet shorted during a record of the output current"):
            record, shorted_at = bench.record_during(
                "output current at an output short",
                ("output_current",),
                record_window_s(WINDOW_FACTOR * bench.limit(key).high),
                bench.short_output,
            )
        bench.check_current_off(key, record, shorted_at, at=at, timed_from="the short")
        judge_event(bench, "protection", shorted_at, at, "the output short")
    finally:
        bench.release_output_short()


@pytest.mark.judges("changji:4.2.5:communication_loss_stop_time", "changji:4.2.5:event_latency")
@pytest.mark.clause("changji:4.2.5")
def test_can_loss_stops_the_charger_and_is_reported(bench):
    key = "changji:4.2.5:communication_loss_stop_time"
    amps = bench.charge_steadily(round(bench.dut.current_range_a[1] * FAULT_CHARGING_FRACTION))
    at = {"charging_a": round(amps, 1), "fault": "CAN lost (the vehicle silent)"}
    drain_events(bench)
    lost: list[float] = []
    try:
        with bench.step("the vehicle goes silent on CAN during a record of the output current"):
            record, _ = bench.record_during(
                "output current at a CAN loss",
                ("output_current",),
                record_window_s(WINDOW_FACTOR * bench.limit(key).high),
                lambda: lost.append(bench.lose_can()),
            )
        bench.check_current_off(key, record, lost[0], at=at, timed_from="the vehicle's last frame")
        judge_event(bench, "communication_fault", lost[0], at, "the vehicle's last frame")
    finally:
        bench.restore_can()
