"""What the platform cases (testcases/platform: 4.2.2–4.2.6, 4.2.9.3, 4.2.10.3) need beyond the
generic output interface of BenchView, for an AC pile and a DC charger alike.

| | AC pile | DC charger |
|---|---|---|
| the vehicle ready for a start | plugged in, S2 open | battery held at its rated voltage, connector in, BMS asking for the rated current |
| the pile starts its session | PWM on the CP (EV simulator's meter) | its first CHM on CAN (12 V auxiliary supply on, handshake) |
| then, to bring the output on | S2 closed, the vehicle draws | K5/K6 closed once configuration begins |
| a local anomaly (4.2.3) | CP diode short | emergency stop |
| the wake-up command acts (4.2.2) | PWM appears on a sleeping pile | the auxiliary supply goes off (or, if off, comes back on) |
| the output as the bench measures it | power analyzer, AC element | power analyzer, DC element |
| its stop on a supply fault (4.2.5) | scope: end of the output voltage | scope: output current down to 5 A |

Every wait is bounded by the command wait (BenchView.command_wait_s: the 60 s of 4.2.6 plus a
margin) or by the observation window of the rule at hand, so a slow pile fails the rule that
times it, not the case that needed the command.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bench.api.base import BenchView
from bench.api.scope import DIVISIONS, Trigger, save_record
from bench.api.timings import (
    CLOCK_POLL_S,
    COMMAND_POLL_S,
    EVENT_POLL_S,
    LEVEL_POLL_S,
    MEASUREMENT_SETTLE_S,
    PILE_CLOCK_RESOLUTION_S,
    RECORD_ACTION_MARGIN_S,
    RECORD_PRE_TRIGGER,
    SETTLE_HOLD_S,
    START_WATCH_LEAD_S,
    capture_timeout_s,
    record_window_s,
)
from bench.platform.errors import PlatformUnsupported

# How far outside the supply band (0.85–1.15 × nominal, limits table) the grid simulator goes
# for the 4.2.5 over/under-voltage test, as a fraction of nominal (bench choice), and the
# directions the quick grid tests.
SUPPLY_FAULT_MARGIN = 0.05
QUICK_SUPPLY_FAULTS = ("over",)


@dataclass(frozen=True)
class StartOutcome:
    """How the pile answered a start command (bench times; None = did not happen in time)."""

    sent: float
    started: float | None  # the pile began its session (AC: PWM, DC: first CHM)
    output_on: float | None  # the output came on
    start_resolution_s: float  # time resolution of ``started``


# -- what the pile may not offer ------------------------------------------------------------
@contextlib.contextmanager
def needs_capability(what: str):
    """Inside, a PlatformUnsupported — the pile does not offer what the case needs (a vendor
    DataTransfer of OCPP, a register of its Modbus map) — skips the case with a reason naming the
    missing capability; never an error. The safe state runs as after any case."""
    try:
        yield
    except PlatformUnsupported as exc:
        pytest.skip(f"{what} needs what the pile does not offer: {exc.detail}")


# -- starting and stopping --------------------------------------------------------------------
def start_output(
    bench: BenchView,
    command: Callable[[], object],
    *,
    window_s: float | None = None,
    level: float | None = None,
    expected_at: float | None = None,
) -> StartOutcome:
    """Send a start ``command`` (immediate or timed) to a pile whose vehicle is ready, watch for
    the pile's session start for ``window_s`` (default: the command wait), then bring the output
    on as the vehicle would. ``level``: the orderly-charging level, sent before the start;
    ``expected_at``: bench time the start is due (a timed start), watched closely from
    ``START_WATCH_LEAD_S`` before it, coarsely until then."""
    bench.prepare_vehicle()
    if level is not None:
        bench.command_output_level(level)
    sent = bench.now()
    command()
    until = sent + (bench.command_wait_s() if window_s is None else window_s)
    close_from = until if expected_at is None else min(until, expected_at - START_WATCH_LEAD_S)
    started, resolution = None, bench.session_start_resolution_s(COMMAND_POLL_S)
    for end, poll in ((close_from, COMMAND_POLL_S), (until, bench.session_start_poll_s)):
        if (
            end > bench.now()
            and bench.try_wait_until(
                lambda: bench.session_started(sent) is not None,
                end - bench.now(),
                poll=poll,
                what="the pile to start its session",
            )
            is not None
        ):
            started, resolution = bench.session_started(sent), bench.session_start_resolution_s(poll)
            break
    if started is None:
        return StartOutcome(sent, None, None, resolution)
    bench.complete_start()
    on = bench.try_wait_until(
        bench.output_active, bench.command_wait_s(), poll=COMMAND_POLL_S, what="the output to come on"
    )
    return StartOutcome(sent, started, None if on is None else bench.now(), resolution)


def deliver_at(bench: BenchView, level: float) -> bool:
    """The pile delivering after a platform start, its orderly-charging level at ``level`` (sent
    before the start, so both take effect together); True once the output is on."""
    return start_output(bench, bench.platform.start, level=level).output_on is not None


def wait_output_off(bench: BenchView, timeout_s: float, poll: float = COMMAND_POLL_S) -> float | None:
    """Bench time the output was seen off (polled every ``poll``), or None if it stayed on for
    ``timeout_s``."""
    if bench.try_wait_until(lambda: not bench.output_active(), timeout_s, poll=poll, what="the output to stop") is None:
        return None
    return bench.now()


@contextlib.contextmanager
def loaded_output(bench: BenchView, level: float):
    """The output carrying a load near ``level`` while inside (BenchView.load_output), the
    readings settled; the load back to what it was on leaving."""
    bench.load_output(level)
    bench.wait(MEASUREMENT_SETTLE_S)
    try:
        yield
    finally:
        bench.unload_output()


# -- the orderly-charging level --------------------------------------------------------------
def wait_for_new_level(
    bench: BenchView, before: float, target: float, since: float, poll: float
) -> tuple[float | None, float | None]:
    """(time from ``since`` until the output level is nearer ``target`` than ``before`` and holds
    steady within the level band (of its first reading) for SETTLE_HOLD_S, the last level of
    that window); (None, last level) when that does not happen within the command wait.

    Whether the settled level is *right* is judged by the clauses on accuracy (4.2.9.1 duty,
    4.2.10.5 power error), not here: a pile that answers the command late fails 4.2.6, one that
    answers it inaccurately fails those."""
    last: list[float | None] = [None]

    def level() -> float | None:
        last[0] = bench.output_level()
        return last[0]

    settled = bench.try_wait_settled(
        level,
        band=bench.output_level_band(target),
        hold=SETTLE_HOLD_S,
        timeout=bench.command_wait_s(),
        poll=poll,
        from_first=True,
        accept=lambda v: v is not None and not abs(v - target) >= abs(v - before),
        what=f"the output level to move to {target:g} {bench.output_level_unit}",
    )
    if settled is None:
        return None, last[0]
    return settled.began - since, settled.last


# -- the pile's clock ------------------------------------------------------------------------
@dataclass(frozen=True)
class ClockReading:
    offset_s: float  # pile clock − bench clock (unix seconds)
    uncertainty_s: float
    waited_s: float  # from the sync command to this reading


def synchronise_clock(bench: BenchView, tolerance_s: float) -> ClockReading:
    """Set the pile's clock to the bench clock's wall time and read it back until it is within
    ``tolerance_s`` or the command wait is over (the pile may take its response time to apply
    the sync); the last reading."""
    sent = bench.now()
    bench.platform.set_clock(bench.clock.wall_time())
    readings: list[ClockReading] = []

    def read() -> bool:
        before = bench.now()
        pile = bench.platform.read_clock()
        after = bench.now()
        offset = pile - (bench.clock.epoch + (before + after) / 2)
        readings.append(ClockReading(offset, PILE_CLOCK_RESOLUTION_S + (after - before) / 2, after - sent))
        return abs(offset) <= tolerance_s

    bench.try_wait_until(read, bench.command_wait_s(), poll=CLOCK_POLL_S, what="the pile's clock after the sync")
    return readings[-1]


def whole_second_ahead(bench: BenchView, seconds: float) -> float:
    """A unix time at least ``seconds`` after the bench clock's wall time, on a whole second
    (timed commands carry whole seconds, so nothing is rounded on the way)."""
    return float(math.ceil(bench.clock.wall_time() + seconds))


def timed_start_lead_s(bench: BenchView) -> float:
    """How far ahead a timed start is set: the 4.2.6 response time plus START_WATCH_LEAD_S, so a
    pile that takes nearly its whole response time to learn of the command still starts on time."""
    return bench.limit("changji:4.2.6:command_response_time").high + START_WATCH_LEAD_S


def wall_time_of(bench: BenchView, bench_time: float) -> float:
    return bench.clock.epoch + bench_time


def bench_time_of(bench: BenchView, unix_time: float) -> float:
    return unix_time - bench.clock.epoch


# -- events ----------------------------------------------------------------------------------
def event_delay(
    bench: BenchView,
    kind: str,
    since: float,
    changed: float,
    window_s: float,
    change: str,
    changed_resolution_s: float = 0.0,
) -> tuple[float, float | None, str]:
    """(value, uncertainty, detail) of a check on the pile's ``kind`` event: its arrival after
    the bench saw ``change`` at ``changed`` (known to ``changed_resolution_s``; events from
    ``since`` on count). An event that does not come within ``window_s`` gives the time
    watched as a lower bound."""
    event = bench.wait_for_event(kind, since, window_s)
    if event is None:
        return bench.now() - changed, None, f"no {kind} event at the platform after {change} (value = lower bound)"
    delay = event.bench_time - changed
    seen = f"{kind} event '{event.detail}' (pile time {event.pile_time}) {delay:+.2f} s after {change}"
    return delay, EVENT_POLL_S + changed_resolution_s, seen


def drain_events(bench: BenchView) -> None:
    """Fetch every event the pile has queued so far, so that what arrives later belongs to what
    the case does next."""
    bench.platform.events()


# -- injected faults -------------------------------------------------------------------------
def supply_fault_ratio(bench: BenchView, direction: str) -> float:
    """The supply voltage (× nominal) the bench applies for an "over" or "under" voltage: the
    limits table's band, widened by SUPPLY_FAULT_MARGIN."""
    rule = bench.limit("changji:4.2.5:supply_fault_stop_time")
    if direction == "over":
        return rule.figure("high_ratio") + SUPPLY_FAULT_MARGIN
    return rule.figure("low_ratio") - SUPPLY_FAULT_MARGIN


def supply_fault_skipped(bench: BenchView, direction: str) -> str | None:
    """Why a supply-fault direction is left out of this run (the quick grid tests "over" only:
    both directions go through the same protection), or None."""
    if bench.grid == "quick" and direction not in QUICK_SUPPLY_FAULTS:
        return f"quick grid: supply faults {', '.join(QUICK_SUPPLY_FAULTS)} only (the full grid tests both)"
    return None


@contextlib.contextmanager
def supply_restored(bench: BenchView):
    """Whatever the case does to the grid simulator inside, it is back at the DUT's nominal
    supply on leaving."""
    try:
        yield
    finally:
        bench.session.instrument("grid").set_supply(bench.dut.nominal_supply_v, bench.dut.supply_frequency_hz)


@dataclass(frozen=True)
class SupplyFaultStop:
    applied: float  # bench time the grid simulator left the band
    volts: float  # the supply voltage it went to
    stop_s: float | None  # from then to the output off; None: still on at the end of the record
    watched_s: float  # how long after the change the record reaches
    resolution_s: float


def time_supply_fault_stop(bench: BenchView, ratio: float, watch_s: float) -> SupplyFaultStop:
    """Take the supply to ``ratio`` × nominal during one scope record and time the output's stop
    from the change: AC the end of the output voltage (its last half cycle above AC_TRIGGER_V),
    DC the output current down to the 5 A of a stopped charger (GB/T 27930). The record reaches
    ``watch_s`` past the change. The caller restores the supply (``supply_restored``)."""
    grid = bench.session.instrument("grid")
    volts = ratio * bench.dut.nominal_supply_v
    signal, volts_per_div, offset = bench.supply_fault_signal()
    window = record_window_s(watch_s + RECORD_ACTION_MARGIN_S)
    applied: list[float] = []

    def fault():
        applied.append(bench.now())
        grid.set_supply(volts, bench.dut.supply_frequency_hz)

    # An edge above the screen never comes: the acquisition is forced, and so on the bench clock.
    never = Trigger(signal, offset + volts_per_div * DIVISIONS, "rising")
    record = bench.scope.capture(
        {signal: volts_per_div},
        seconds_per_div=window / DIVISIONS,
        trigger=never,
        pre_trigger=RECORD_PRE_TRIGGER,
        timeout_s=capture_timeout_s(window),
        force_after_s=window * RECORD_PRE_TRIGGER,
        offsets_v={signal: offset},
        actions=[(window * RECORD_PRE_TRIGGER + RECORD_ACTION_MARGIN_S, fault)],
    )
    save_record(bench, f"supply at {volts:g} V", record)
    times = record.bench_times(signal)
    start = applied[0]
    off, resolution = bench.output_stopped_at(record, signal, start)
    return SupplyFaultStop(start, volts, None if off is None else off - start, times[-1] - start, resolution)


# -- the timed power change (4.2.9.3 / 4.2.10.3) -----------------------------------------------
@dataclass(frozen=True)
class LevelChange:
    """A change of the output level as the bench saw it (bench times; None = not seen)."""

    began: float | None  # the level left the old one (BenchView.moved_towards)
    began_resolution_s: float  # how late the bench may have seen that
    settled: float | None  # the level settled (at the new level or wherever it went)
    settled_resolution_s: float
    watched_until: float  # the watch for the onset ended here (when it never came)


def watch_level_change(bench: BenchView, before: float, target: float, due_at: float, until: float) -> LevelChange:
    """Watch the output level from now until bench time ``until`` for its move from ``before``
    towards ``target`` and where it settles: as finely as the bench can
    (BenchView.time_level_change) from START_WATCH_LEAD_S before ``due_at`` to
    START_WATCH_LEAD_S after it, every COMMAND_POLL_S outside that, so that an early or a late
    change is seen as well as one on time. The settling is awaited for the command wait."""
    coarse = bench.level_change_resolution_s() + COMMAND_POLL_S - LEVEL_POLL_S  # the same reading, polled less often

    def moved() -> bool:
        return bench.moved_towards(bench.output_level(), before, target)

    def polled(end: float) -> float | None:
        if end > bench.now() and (
            bench.try_wait_until(moved, end - bench.now(), poll=COMMAND_POLL_S, what="the output level to change")
            is not None
        ):
            return bench.now()
        return None

    began, resolution, settled = polled(due_at - START_WATCH_LEAD_S), coarse, None
    if began is None and moved():  # between the coarse watch and the fine one
        began = bench.now()
    if began is None:
        began, settled, resolution = bench.time_level_change(before, target, min(until, due_at + START_WATCH_LEAD_S))
    if began is None:
        began, resolution = polled(until), coarse
    if began is None:
        return LevelChange(None, coarse, None, coarse, bench.now())
    if settled is not None:
        return LevelChange(began, resolution, settled, resolution, bench.now())
    took, _ = wait_for_new_level(bench, before, target, began, LEVEL_POLL_S)
    return LevelChange(
        began, resolution, None if took is None else began + took, bench.level_change_resolution_s(), bench.now()
    )
