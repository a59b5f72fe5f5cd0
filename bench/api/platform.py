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
from dataclasses import dataclass
from typing import Callable

from bench.analysis.timing import first_time_at_or_below, last_time_above
from bench.api.ac import AC_TRIGGER_V, AC_VOLTS_PER_DIV, PWM_POLL_S, VEHICLE_IDLE_DRAW_A
from bench.api.base import BenchView
from bench.api.scope import DIVISIONS, Trigger, save_record
from bench.platform.channel import Event

# Polling periods of the platform cases (bench choices, fine against the seconds the rules allow).
COMMAND_POLL_S = 1.0    # output on/off (power analyzer) while waiting for a command to be carried out
LEVEL_POLL_S = 0.25     # the output level (AC: EV simulator's PWM meter, DC: analyzer, ~ its update interval)
EVENT_POLL_S = 0.25     # the platform's event list (a Modbus poll of the pile's FIFO each time)
CLOCK_POLL_S = 1.0      # reading the pile's clock back after a time sync
# A timed start is watched closely (AC: PWM meter every PWM_POLL_S) from this long before it is
# due: more than the time-sync tolerance, so an early start within it is timed as finely.
START_WATCH_LEAD_S = 5.0
# The power analyzer's update interval as the bench leaves it (the simulated WT's default). A
# reading is the mean over the last interval and stands until the next update, so a step at the
# output shows up fully up to two intervals later.
ANALYZER_UPDATE_S = 0.2

# No CHM for this long (four periods of 250 ms, GB/T 27930): the charger is not in a handshake.
CHM_QUIET_S = 1.0
# A CAN frame's bench time is its adapter time stamp: better than 1 ms on any adapter.
CAN_TIME_RESOLUTION_S = 1e-3
# The pile's clock is read with millisecond resolution (Modbus clock_ms register, OCPP dateTime).
PILE_CLOCK_RESOLUTION_S = 1e-3
# An awaited effect is watched for this multiple of its limit: one that never comes is then a
# value beyond the limit (a fail), not the limit itself (a pass at the boundary).
WINDOW_FACTOR = 2.0
# AC: the vehicle draws this fraction of the offered current when uploads are compared, so
# that the ±1 % of reading (not the floor) is the tolerance that counts.
LOADED_DRAW_FRACTION = 0.9
# How far outside the supply band (0.85–1.15 × nominal, limits table) the grid simulator goes
# for the 4.2.5 over/under-voltage test, as a fraction of nominal (bench choice), and the
# directions the quick grid tests.
SUPPLY_FAULT_MARGIN = 0.05
QUICK_SUPPLY_FAULTS = ("over",)
# 4.2.5 stop timing on the scope: the part of the record before the forced trigger, the supply
# change just after it, and the signal spread over 7 of the 8 vertical divisions.
SCOPE_PRE_TRIGGER = 0.1
SCOPE_ACTION_MARGIN_S = 0.1
SCREEN_DIVISIONS_USED = 7
# Measured output readings settle over this many analyzer update intervals (bench choice,
# the simulated WT updates every 0.2 s; a lab's analyzer at 0.5 s is still covered).
MEASUREMENT_SETTLE_S = 2.0
# The orderly-charging level counts as settled once it stays within its band this long.
SETTLE_HOLD_S = 1.0


@dataclass(frozen=True)
class StartOutcome:
    """How the pile answered a start command (bench times; None = did not happen in time)."""

    sent: float
    started: float | None      # the pile began its session (AC: PWM, DC: first CHM)
    output_on: float | None    # the output came on
    start_resolution_s: float  # time resolution of ``started``


# -- starting and stopping --------------------------------------------------------------------
def prepare_vehicle(bench: BenchView) -> None:
    """The vehicle side ready for the pile to start (see the module table)."""
    if bench.kind == "ac":
        bench.plug_in()
        return
    _quiet_charger(bench)
    bench.hold_battery(bench.vehicle.rated_voltage_v)
    bench.connect_vehicle()  # plugged afresh: the BMS starts from power-up
    bench.bms.request(bench.vehicle.max_charge_voltage_v, bench.dut.current_range_a[1], "cc")


def _quiet_charger(bench: BenchView) -> None:
    """A DC charger still in a handshake (an earlier wake-up restarts one) would hide the start a
    case times, and confuse the BMS about to power up: the platform stops it first."""
    since = bench.now()
    bench.wait(CHM_QUIET_S)
    if bench.frames.first("CHM", since) is None:
        return
    bench.platform.stop()
    bench.try_wait_until(lambda: bench.frames.first("CHM", bench.now() - CHM_QUIET_S) is None,
                         bench.command_wait_s(), poll=CHM_QUIET_S, what="the charger to end its handshake")


def start_output(bench: BenchView, command: Callable[[], object], *, window_s: float | None = None,
                 level: float | None = None, expected_at: float | None = None) -> StartOutcome:
    """Send a start ``command`` (immediate or timed) to a pile whose vehicle is ready, watch for
    the pile's session start for ``window_s`` (default: the command wait), then bring the output
    on as the vehicle would. ``level``: the orderly-charging level, sent before the start;
    ``expected_at``: bench time the start is due (a timed start), watched closely from
    ``START_WATCH_LEAD_S`` before it, coarsely until then."""
    prepare_vehicle(bench)
    if level is not None:
        bench.command_output_level(level)
    sent = bench.now()
    command()
    until = sent + (bench.command_wait_s() if window_s is None else window_s)
    close_from = until if expected_at is None else min(until, expected_at - START_WATCH_LEAD_S)
    started, resolution = None, COMMAND_POLL_S
    for end, poll in ((close_from, COMMAND_POLL_S), (until, _start_poll(bench))):
        if end > bench.now() and bench.try_wait_until(lambda: _session_start(bench, sent) is not None,
                                                      end - bench.now(), poll=poll,
                                                      what="the pile to start its session") is not None:
            started, resolution = _session_start(bench, sent), poll
            break
    if bench.kind == "dc":
        resolution = CAN_TIME_RESOLUTION_S  # the frame's own time, however often the bench looked
    if started is None:
        return StartOutcome(sent, None, None, resolution)
    _complete_start(bench)
    on = bench.try_wait_until(bench.output_active, bench.command_wait_s(), poll=COMMAND_POLL_S,
                              what="the output to come on")
    return StartOutcome(sent, started, None if on is None else bench.now(), resolution)


def _session_start(bench: BenchView, since: float) -> float | None:
    """Bench time the pile started its session after ``since``, as far as the bench sees it
    now (AC: PWM on — known from now; DC: the first CHM's own time); None before that."""
    if bench.kind == "ac":
        return bench.now() if bench.pwm_present() else None
    frame = bench.frames.first("CHM", since)
    return None if frame is None else frame.time


def _start_poll(bench: BenchView) -> float:
    return PWM_POLL_S if bench.kind == "ac" else COMMAND_POLL_S


def _complete_start(bench: BenchView) -> None:
    """After the pile started its session: what the vehicle does to get the output on."""
    if bench.kind == "ac":
        bench.close_s2()
        bench.draw(VEHICLE_IDLE_DRAW_A)
        return
    from bench.api.dc import PHASE_POLL_S, SESSION_START_TIMEOUT_S

    if bench.try_wait_until(lambda: bench.bms.phase in ("configuration", "charging"), SESSION_START_TIMEOUT_S,
                            poll=PHASE_POLL_S, what="the BMS to reach configuration") is not None:
        bench.ev.set_vehicle_contactors(True)


def deliver_at(bench: BenchView, level: float) -> bool:
    """The pile delivering after a platform start, its orderly-charging level at ``level`` (sent
    before the start, so both take effect together); True once the output is on."""
    return start_output(bench, bench.platform.start, level=level).output_on is not None


def wait_output_off(bench: BenchView, timeout_s: float, poll: float = COMMAND_POLL_S) -> float | None:
    """Bench time the output was seen off (polled every ``poll``), or None if it stayed on for
    ``timeout_s``."""
    if bench.try_wait_until(lambda: not bench.output_active(), timeout_s, poll=poll,
                            what="the output to stop") is None:
        return None
    return bench.now()


@contextlib.contextmanager
def loaded_output(bench: BenchView, level: float):
    """The output carrying a load near ``level`` while inside (AC: the vehicle draws most of the
    offered current, back to its idle draw on leaving, before any lower limit can make that an
    over-current; DC: the BMS already asks for more than the level allows), the readings
    settled."""
    if bench.kind == "ac":
        bench.draw(LOADED_DRAW_FRACTION * level)
    bench.wait(MEASUREMENT_SETTLE_S)
    try:
        yield
    finally:
        if bench.kind == "ac":
            bench.draw(VEHICLE_IDLE_DRAW_A)


def output_change_resolution_s(poll: float) -> float:
    """How late the bench may see a change of the output it polls on the analyzer every
    ``poll``: one poll and two updates (never early)."""
    return poll + 2 * ANALYZER_UPDATE_S


# -- the orderly-charging level --------------------------------------------------------------
def wait_for_new_level(bench: BenchView, before: float, target: float, since: float,
                       poll: float) -> tuple[float | None, float | None]:
    """(time from ``since`` until the output level is nearer ``target`` than ``before`` and holds
    steady within the level band for the hold time, the level it settled at); (None, last
    level) when that does not happen within the command wait.

    Whether the settled level is *right* is judged by the clauses on accuracy (4.2.9.1 duty,
    4.2.10.5 power error), not here: a pile that answers the command late fails 4.2.6, one that
    answers it inaccurately fails those."""
    hold: list[tuple[float, float]] = []
    band = bench.output_level_band(target)
    last: list[float | None] = [None]

    def settled() -> bool:
        level = bench.output_level()
        last[0] = level
        if level is None or abs(level - target) >= abs(level - before):
            hold.clear()
            return False
        if hold and abs(level - hold[0][1]) > band:
            hold.clear()
        hold.append((bench.now(), level))
        return hold[-1][0] - hold[0][0] >= SETTLE_HOLD_S

    if bench.try_wait_until(settled, bench.command_wait_s(), poll=poll,
                            what=f"the output level to move to {target:g} {bench.output_level_unit}") is None:
        return None, last[0]
    return hold[0][0] - since, hold[-1][1]


def level_resolution_s(bench: BenchView) -> float:
    """Time resolution of a level change polled every LEVEL_POLL_S: AC the EV simulator's PWM
    meter reads the CP as it is; DC the analyzer's power lags by up to two updates."""
    return LEVEL_POLL_S if bench.kind == "ac" else output_change_resolution_s(LEVEL_POLL_S)


# -- the pile's clock ------------------------------------------------------------------------
@dataclass(frozen=True)
class ClockReading:
    offset_s: float    # pile clock − bench clock (unix seconds)
    uncertainty_s: float
    waited_s: float    # from the sync command to this reading


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
def wait_for_event(bench: BenchView, kind: str, since: float, window_s: float) -> Event | None:
    """The first event of ``kind`` that reached the platform at or after bench time ``since``,
    watched for ``window_s``; None when none came."""
    found: list[Event] = []

    def arrived() -> bool:
        found[:] = [e for e in bench.platform.events() if e.kind == kind and e.bench_time >= since]
        return bool(found)

    if bench.try_wait_until(arrived, window_s, poll=EVENT_POLL_S, what=f"a {kind} event at the platform") is None:
        return None
    return found[0]


def event_delay(bench: BenchView, kind: str, since: float, changed: float, window_s: float, change: str,
                changed_resolution_s: float = 0.0) -> tuple[float, float | None, str]:
    """(value, uncertainty, detail) of a check on the pile's ``kind`` event: its arrival after
    the bench saw ``change`` at ``changed`` (known to ``changed_resolution_s``; events from
    ``since`` on count). An event that does not come within ``window_s`` gives the time
    watched as a lower bound."""
    event = wait_for_event(bench, kind, since, window_s)
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
@contextlib.contextmanager
def local_anomaly(bench: BenchView):
    """A local anomaly the pile must detect (AC: CP diode short, DC: emergency stop), removed
    on leaving; yields a description."""
    ev = bench.ev
    if bench.kind == "ac":
        ev.set_diode_fault(True)
        what = "CP diode short (EV simulator)"
    else:
        ev.set_estop(True)
        what = "emergency stop (EV simulator)"
    try:
        yield what
    finally:
        if bench.kind == "ac":
            ev.set_diode_fault(False)
        else:
            ev.set_estop(False)


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
    applied: float            # bench time the grid simulator left the band
    volts: float              # the supply voltage it went to
    stop_s: float | None      # from then to the output off; None: still on at the end of the record
    watched_s: float          # how long after the change the record reaches
    resolution_s: float


def time_supply_fault_stop(bench: BenchView, ratio: float, watch_s: float) -> SupplyFaultStop:
    """Take the supply to ``ratio`` × nominal during one scope record and time the output's stop
    from the change: AC the end of the output voltage (its last half cycle above AC_TRIGGER_V),
    DC the output current down to the 5 A of a stopped charger (GB/T 27930). The record reaches
    ``watch_s`` past the change. The caller restores the supply (``supply_restored``)."""
    grid = bench.session.instrument("grid")
    volts = ratio * bench.dut.nominal_supply_v
    if bench.kind == "ac":
        signal, volts_per_div, offset = "ac_voltage", AC_VOLTS_PER_DIV, 0.0
    else:
        from bench.api.dc import SCREEN_HEADROOM

        top = bench.dut.current_range_a[1] * SCREEN_HEADROOM
        signal, volts_per_div, offset = "output_current", top / SCREEN_DIVISIONS_USED, top / 2
    window = (watch_s + SCOPE_ACTION_MARGIN_S) / (1 - SCOPE_PRE_TRIGGER)
    applied: list[float] = []

    def fault():
        applied.append(bench.now())
        grid.set_supply(volts, bench.dut.supply_frequency_hz)

    # An edge above the screen never comes: the acquisition is forced, and so on the bench clock.
    never = Trigger(signal, offset + volts_per_div * DIVISIONS, "rising")
    record = bench.scope.capture({signal: volts_per_div}, seconds_per_div=window / DIVISIONS, trigger=never,
                                 pre_trigger=SCOPE_PRE_TRIGGER, timeout_s=3 * window + 2,
                                 force_after_s=window * SCOPE_PRE_TRIGGER, offsets_v={signal: offset},
                                 actions=[(window * SCOPE_PRE_TRIGGER + SCOPE_ACTION_MARGIN_S, fault)])
    save_record(bench, f"supply at {volts:g} V", record)
    times, values = record.bench_times(signal), record.volts(signal)
    start = applied[0]
    if bench.kind == "ac":
        resolution = 1.0 / (2 * bench.dut.supply_frequency_hz)  # the output's last half cycle
        end = last_time_above(times, values, AC_TRIGGER_V)
        off = None if end is not None and end >= times[-1] - resolution else max(end or start, start)
    else:
        resolution = record.sample_interval
        off = first_time_at_or_below(times, values, bench.limit("gbt27930:stop:bms_current_off_time")
                                     .figure("end_current_a"), after=start)
    return SupplyFaultStop(start, volts, None if off is None else off - start, times[-1] - start, resolution)


# -- the wake-up command ---------------------------------------------------------------------
def wake_up_acted(bench: BenchView) -> tuple[bool, str]:
    """Send the wake-up command to a sleeping pile with the vehicle connected; whether the pile
    acted on it within the command wait, and what the bench saw."""
    if bench.kind == "ac":
        bench.plug_in()
        if bench.pwm_present():
            return False, "PWM was already on before the wake-up command (the pile was not asleep)"
        sent = bench.now()
        bench.platform.wake_vehicle()
        waited = bench.try_wait_until(bench.pwm_present, bench.command_wait_s(), poll=COMMAND_POLL_S,
                                      what="PWM after the wake-up command")
        if waited is None:
            return False, f"no PWM within {bench.command_wait_s():g} s of the wake-up command"
        return True, f"PWM started {bench.now() - sent:.2f} s after the wake-up command"
    # DC: the wake-up cuts the auxiliary supply for a while and restores it (4.2.10.4 judges
    # how long); the charger has acted once the supply changes state — off if it was on, on
    # again after the off interval if it was off already.
    bench.connect_vehicle()
    present = bench.ev.aux_present
    was_on = present()
    window = bench.command_wait_s() * (1 if was_on else 2)
    sent = bench.now()
    bench.platform.wake_vehicle()
    if bench.try_wait_until(lambda: present() != was_on, window, poll=COMMAND_POLL_S,
                            what="the auxiliary supply to change") is None:
        return False, (f"the auxiliary supply stayed {'on' if was_on else 'off'} for {window:g} s after the "
                       "wake-up command")
    seen = (f"auxiliary supply {'off' if was_on else 'on'} {bench.now() - sent:.2f} s after the wake-up "
            f"command (it was {'on' if was_on else 'off'})")
    if was_on:  # let the wake-up finish here rather than in the next case (not judged here)
        bench.try_wait_until(present, bench.command_wait_s(), poll=COMMAND_POLL_S,
                             what="the auxiliary supply to come back")
    return True, seen


# -- what the bench measures at the output -----------------------------------------------------
def measured_output(bench: BenchView) -> dict[str, float | None]:
    """U (V), I (A), P (W) at the pile's output from the power analyzer (None = invalid)."""
    values = bench.ac_output() if bench.kind == "ac" else bench.output()
    return {q: values.get(q) for q in ("U", "I", "P")}
