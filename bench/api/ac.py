"""The AC pile bench as test cases use it: the vehicle side (EV simulator), the CP on the
scope, the pile's output on the power analyzer, and the platform channel.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from bench.analysis.pwm import PwmAnalysis, analyse_pwm, duty_for_current_pct, offered_current_a
from bench.analysis.timing import CP_NOMINAL_PERIOD_S, CP_STATE_2_3_BOUNDARY_V, cp_state_change_time, last_time_above
from bench.api.base import BenchView
from bench.api.scope import DIVISIONS, Record, ScopeCapture, Trigger, save_record
from bench.api.timings import (
    COMMAND_POLL_S,
    CONNECT_SETTLE_S,
    CONTACTOR_CLOSE_PRE_TRIGGER,
    CONTACTOR_CLOSE_WINDOW_S,
    CONTACTOR_OPEN_WINDOW_S,
    CP_CAPTURE_TIMEOUT_S,
    LEVEL_POLL_S,
    PWM_POLL_S,
    PWM_SETTLED_HOLD_S,
    RECORD_ACTION_MARGIN_S,
    RECORD_PRE_TRIGGER,
    S2_TRIGGER_WAIT_RECORDS,
)
from bench.core.errors import NoTrigger

# CP on the scope: ±12 V inside 8 divisions with room to spare; 10 periods of 1 kHz in the
# record (100 k points → 100 ns a sample, far below the ±5 µs duty tolerance), the first
# 10 % before the rising edge it triggers on.
CP_VOLTS_PER_DIV = 4.0
CP_SECONDS_PER_DIV = 1e-3
CP_PRE_TRIGGER = 0.1
CP_TRIGGER_V = 0.0
# The pile's output on the scope when timing its contactor: a 50 Hz sine of ~311 V peak.
AC_VOLTS_PER_DIV = 100.0
AC_TRIGGER_V = 100.0
# The vehicle's draw while a platform case only needs the output on (below 6 A: never an
# over-current whatever the pile offers), and the rms voltage that means "output on".
VEHICLE_IDLE_DRAW_A = 5.0
AC_OUTPUT_ON_V = 50.0
# The vehicle draws this fraction of the offered current when uploads are compared, so that
# the ±1 % of reading (not the floor) is the tolerance that counts.
LOADED_DRAW_FRACTION = 0.9
# How far past the over-current threshold the vehicle draws when the case injects one.
OVERLOAD_EXCESS_A = 1.0
# How the bench sees that the pile carried out a command: the EV simulator's PWM meter
# (polled every PWM_POLL_S) must stay within this band of duty for PWM_SETTLED_HOLD_S.
PWM_SETTLED_BAND_PCT = 0.2


@dataclass
class CpCapture:
    analysis: PwmAnalysis
    record: Record


@dataclass(frozen=True)
class ContactorTiming:
    """The pile's contactor timed against S2 in one scope record."""

    delay: float | None  # from the S2 change to the output's change; None: not seen in the record
    record: Record | None  # None when nothing triggered
    watched_s: float  # the longest delay the record can show (the observation window)


class AcBench(BenchView):
    kind = "ac"

    def __init__(self, session, grid: str = "full"):
        super().__init__(session, grid)
        self.scope = ScopeCapture(session)
        self._saved = 0

    # -- instruments ----------------------------------------------------------------------
    @property
    def ev(self):
        return self.session.instrument("ev")

    # -- the vehicle side -----------------------------------------------------------------
    def plug_in(self) -> None:
        """Connector in, S2 open, the vehicle draws nothing (CP state 2)."""
        self.ev.set_load_current(0.0)
        self.ev.set_s2(False)
        self.ev.plug(True)
        self.wait(CONNECT_SETTLE_S)

    def unplug(self) -> None:
        self.ev.plug(False)

    def close_s2(self) -> float:
        self.ev.set_s2(True)
        return self.now()

    def open_s2(self) -> float:
        self.ev.set_s2(False)
        return self.now()

    def draw(self, amps: float) -> None:
        """The vehicle's charger draws ``amps`` (rms) whenever the pile's supply is on."""
        self.ev.set_load_current(amps)

    def pwm_meter(self) -> tuple[float, float]:
        """The EV simulator's own PWM meter: (duty %, frequency Hz); frequency 0 = no PWM."""
        return self.ev.cp_pwm()

    def pwm_present(self) -> bool:
        return self.pwm_meter()[1] > 0.0

    # -- the platform ---------------------------------------------------------------------
    def start_session(self) -> float | None:
        """Platform start; the time until the pile shows PWM, or None if it never does."""
        self.platform.start()
        return self.try_wait_until(
            self.pwm_present, self.command_wait_s(), poll=PWM_POLL_S, what="PWM after the platform's start command"
        )

    def offer_current(self, amps: float) -> float | None:
        """Platform current limit; wait until the pile's duty shows it. Returns the bench
        time from the command to the settled duty, or None when the duty never settled near
        the expected value within the command wait (the case then measures what the pile does)."""
        expected = duty_for_current_pct(min(amps, self.dut.current_range_a[1]))
        before = self.pwm_meter()[0]
        sent = self.now()
        self.platform.set_current_limit(amps)
        return self.wait_for_duty(expected, before, sent)

    def wait_for_duty(self, expected_pct: float, before_pct: float, since: float) -> float | None:
        """Wait until the PWM meter moves away from ``before_pct`` and holds steady (the pile
        took the command, rightly or not); the time since ``since`` to the first reading that
        held. None when nothing moved within the command wait — then the pile either kept a
        duty that was already right or ignored the command, and the case measures which."""
        if abs(expected_pct - before_pct) <= PWM_SETTLED_BAND_PCT:
            return None  # no visible change to wait for

        def duty() -> float | None:
            duty, frequency = self.pwm_meter()
            return None if frequency <= 0 else duty  # no PWM: no duty

        settled = self.try_wait_settled(
            duty,
            band=PWM_SETTLED_BAND_PCT,
            hold=PWM_SETTLED_HOLD_S,
            timeout=self.command_wait_s(),
            poll=PWM_POLL_S,
            from_first=True,
            accept=lambda d: d is not None and not abs(d - before_pct) <= PWM_SETTLED_BAND_PCT,
            what=f"PWM duty to move towards {expected_pct:.1f} %",
        )
        return None if settled is None else settled.began - since

    # -- measurements ---------------------------------------------------------------------
    def capture_cp(self, name: str = "CP", *, steady: bool = False) -> CpCapture:
        """One CP record of 10 ms; ``steady`` forces the trigger (a DC level has no edge)."""
        trigger = None if steady else Trigger("cp", CP_TRIGGER_V, "rising")
        record = self.scope.capture(
            {"cp": CP_VOLTS_PER_DIV},
            seconds_per_div=CP_SECONDS_PER_DIV,
            trigger=trigger,
            pre_trigger=CP_PRE_TRIGGER,
            timeout_s=CP_CAPTURE_TIMEOUT_S,
            force_after_s=None if not steady else 0.0,
        )
        analysis = analyse_pwm(record.times("cp"), record.volts("cp"))
        if self._saved < 2:  # the first records of a case as evidence; the rest as numbers
            save_record(self, f"{name}", record, plot_window=(-1e-3, 4e-3))
            self._saved += 1
        return CpCapture(analysis, record)

    def time_contactor_closing(self, window_s: float = CONTACTOR_CLOSE_WINDOW_S) -> ContactorTiming:
        """Close S2 during one acquisition that triggers on the pile's output appearing.

        The record holds CONTACTOR_CLOSE_PRE_TRIGGER (90 %) of ``window_s`` before the
        trigger; S2 is closed once that part is filled (a sine triggers on every cycle, so the
        output must still be off then). The delay is the time from S2 closing (the CP high
        level falling from state 2 to state 3 in the same record) to the output's first
        crossing of the trigger level; None when the output did not come on, or came on more
        than the pre-trigger span (``watched_s``) after S2.
        """
        watched = CONTACTOR_CLOSE_PRE_TRIGGER * window_s
        record = self._record_s2_change(
            window_s,
            pre_trigger=CONTACTOR_CLOSE_PRE_TRIGGER,
            close=True,
            trigger=Trigger("ac_voltage", AC_TRIGGER_V, "rising"),
        )
        if record is None:  # the output never came on
            return ContactorTiming(None, None, watched)
        save_record(self, "S2 closing and the pile's output", record)
        s2_time = cp_state_change_time(record.times("cp"), record.volts("cp"), falling=True)
        return ContactorTiming(None if s2_time is None else -s2_time, record, watched)

    def _record_s2_change(self, window_s: float, *, pre_trigger: float, close: bool, trigger: Trigger) -> Record | None:
        """One record of the CP and the pile's output with S2 switched once the pre-trigger
        part is filled (a trigger before that would be ignored); None when nothing triggered."""
        s2_at = pre_trigger * window_s + RECORD_ACTION_MARGIN_S
        try:
            return self.scope.capture(
                {"cp": CP_VOLTS_PER_DIV, "ac_voltage": AC_VOLTS_PER_DIV},
                seconds_per_div=window_s / DIVISIONS,
                trigger=trigger,
                pre_trigger=pre_trigger,
                timeout_s=s2_at + S2_TRIGGER_WAIT_RECORDS * window_s,
                actions=[(s2_at, lambda: self.ev.set_s2(close))],
            )
        except NoTrigger:
            return None

    def cp_window_s(self) -> float:
        """Time resolution of reading a CP state change off a record (one nominal PWM period)."""
        return CP_NOMINAL_PERIOD_S

    def time_contactor_opening(self, window_s: float = CONTACTOR_OPEN_WINDOW_S) -> ContactorTiming:
        """Open S2 during one acquisition that triggers on the CP rising into state 2.

        The delay is the time from that edge to the last cycle of the pile's output above
        the trigger level (the contactor opened within half a mains cycle after it); None when
        the output was still on at the end of the record (``watched_s`` after the edge).
        """
        watched = (1 - RECORD_PRE_TRIGGER) * window_s
        record = self._record_s2_change(
            window_s,
            pre_trigger=RECORD_PRE_TRIGGER,
            close=False,
            trigger=Trigger("cp", CP_STATE_2_3_BOUNDARY_V, "rising"),
        )
        if record is None:
            return ContactorTiming(None, None, watched)
        save_record(self, "S2 opening and the pile's output", record)
        end = last_time_above(record.times("ac_voltage"), record.volts("ac_voltage"), AC_TRIGGER_V)
        if end is None or end < 0:
            return ContactorTiming(0.0, record, watched)
        if end >= record.times("ac_voltage")[-1] - record.sample_interval:
            return ContactorTiming(None, record, watched)  # still on at the end of the record
        return ContactorTiming(end, record, watched)

    def overload_current(self, allowed_a: float) -> float:
        """A draw just past the over-current rule for ``allowed_a`` (GB/T 18487.1 Annex A as
        the limits table gives it: allowed + margin up to the small-current bound, else a ratio)."""
        rule = self.limit("gbt18487.1:A:overcurrent_cut_time")
        if allowed_a <= rule.figure("small_allowed_a"):
            return allowed_a + rule.figure("margin_a") + OVERLOAD_EXCESS_A
        return allowed_a * rule.figure("ratio") + OVERLOAD_EXCESS_A

    # -- the output, as the platform cases see any pile ------------------------------------
    output_level_unit = "A"

    def deliver(self) -> None:
        """The pile delivering energy: plugged in, session started, S2 closed, the vehicle
        drawing a little (below the table's 6 A minimum, so never an over-current)."""
        self.plug_in()
        self.start_session()
        self.close_s2()
        self.draw(VEHICLE_IDLE_DRAW_A)
        self.try_wait_until(
            self.output_active, self.command_wait_s(), poll=PWM_POLL_S, what="the pile's output to come on"
        )

    def output_active(self) -> bool:
        """The pile's AC output is on (its contactor is closed)."""
        voltage = self.ac_output().get("U")
        return voltage is not None and voltage > AC_OUTPUT_ON_V

    def output_level(self) -> float | None:
        """What the pile offers now: the current of its PWM duty (A), from the EV simulator's meter."""
        duty, frequency = self.pwm_meter()
        return offered_current_a(duty) if frequency > 0 else None

    def command_output_level(self, amps: float) -> float:
        """The platform's orderly-charging command for an AC pile: a current limit."""
        self.platform.set_current_limit(amps)
        return self.now()

    def output_level_band(self, target: float) -> float:
        """How close the offered current must come to call the command carried out."""
        return self.limit("changji:4.2.9.1:offered_current_error").tolerance(target)

    def output_level_points(self) -> tuple[float, float]:
        """Two levels for command cases: the rated maximum and half of it."""
        top = self.dut.current_range_a[1]
        return top, max(self.dut.current_range_a[0], round(top / 2))

    def ac_output(self) -> dict:
        """The pile's output (U, I, P rms) from the power analyzer."""
        analyzer = self.session.instrument("analyzer")
        readings = analyzer.read_element(self.session.analyzer_element("output"), ac=True)
        return {name: reading.value for name, reading in readings.items()}

    # -- the platform cases: what an AC pile does ------------------------------------------
    session_start_poll_s = PWM_POLL_S

    def prepare_vehicle(self) -> None:
        """Plugged in, S2 open."""
        self.plug_in()

    def session_started(self, since: float) -> float | None:
        """PWM on the CP: known from now, when the bench sees it."""
        return self.now() if self.pwm_present() else None

    def session_start_resolution_s(self, poll: float) -> float:
        return poll

    def complete_start(self) -> None:
        """S2 closed, the vehicle draws a little."""
        self.close_s2()
        self.draw(VEHICLE_IDLE_DRAW_A)

    def load_output(self, level: float) -> None:
        """The vehicle draws most of the offered current (the ±1 % of reading, not the floor,
        is then the upload tolerance that counts)."""
        self.draw(LOADED_DRAW_FRACTION * level)

    def unload_output(self) -> None:
        """Back to the idle draw, before any lower limit can make the load an over-current."""
        self.draw(VEHICLE_IDLE_DRAW_A)

    def level_change_resolution_s(self) -> float:
        """The EV simulator's PWM meter reads the CP as it is."""
        return LEVEL_POLL_S

    @contextlib.contextmanager
    def local_anomaly(self):
        """A CP diode short on the EV simulator."""
        self.ev.set_diode_fault(True)
        try:
            yield "CP diode short (EV simulator)"
        finally:
            self.ev.set_diode_fault(False)

    def supply_fault_signal(self) -> tuple[str, float, float]:
        """The pile's output voltage."""
        return "ac_voltage", AC_VOLTS_PER_DIV, 0.0

    def output_stopped_at(self, record, signal: str, since: float) -> tuple[float | None, float]:
        """The end of the output voltage: its last half cycle above AC_TRIGGER_V."""
        times, values = record.bench_times(signal), record.volts(signal)
        resolution = 1.0 / (2 * self.dut.supply_frequency_hz)
        end = last_time_above(times, values, AC_TRIGGER_V)
        off = None if end is not None and end >= times[-1] - resolution else max(end or since, since)
        return off, resolution

    def wake_up_acted(self) -> tuple[bool, str]:
        """A sleeping pile (no PWM) with the vehicle plugged in starts PWM."""
        self.plug_in()
        if self.pwm_present():
            return False, "PWM was already on before the wake-up command (the pile was not asleep)"
        sent = self.now()
        self.platform.wake_vehicle()
        waited = self.try_wait_until(
            self.pwm_present, self.command_wait_s(), poll=COMMAND_POLL_S, what="PWM after the wake-up command"
        )
        if waited is None:
            return False, f"no PWM within {self.command_wait_s():g} s of the wake-up command"
        return True, f"PWM started {self.now() - sent:.2f} s after the wake-up command"

    def measured_output(self) -> dict[str, float | None]:
        values = self.ac_output()
        return {q: values.get(q) for q in ("U", "I", "P")}
