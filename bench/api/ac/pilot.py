"""The control pilot as the AC bench reads it: the session's PWM after the platform's start,
the duty that follows a current limit, and CP records on the scope."""

from __future__ import annotations

from dataclasses import dataclass

from bench.analysis.pwm import CycleTable, PwmAnalysis, ScopeAccuracy, analyse_pwm, duty_for_current_pct
from bench.analysis.pwm.cp_states import LOW_KEY, STATE_KEYS, caption, nearest_state
from bench.analysis.timing import CP_NOMINAL_PERIOD_S
from bench.api.ac.parts import CP_VOLTS_PER_DIV
from bench.api.ac.vehicle import AcVehicle
from bench.api.scope import Band, Record, Trigger, save_record
from bench.api.timings import (
    CP_CAPTURE_TIMEOUT_S,
    PWM_POLL_S,
    PWM_SETTLED_HOLD_S,
)

# 10 periods of 1 kHz in a CP record (100 k points → 100 ns a sample, far below the ±5 µs
# duty tolerance), the first 10 % before the rising edge it triggers on.
CP_SECONDS_PER_DIV = 1e-3
CP_PRE_TRIGGER = 0.1
CP_TRIGGER_V = 0.0
CP_PLOT_WINDOW_S = (-1e-3, 4e-3)  # a plot shows five periods; the .npz keeps the whole record
# How the bench sees that the pile carried out a command: the EV simulator's PWM meter
# (polled every PWM_POLL_S) must stay within this band of duty for PWM_SETTLED_HOLD_S.
PWM_SETTLED_BAND_PCT = 0.2


@dataclass
class CpCapture:
    analysis: PwmAnalysis
    record: Record


class AcPilot(AcVehicle):
    """The CP: PWM, duty, records."""

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
        analysis = analyse_pwm(record.times("cp"), record.volts("cp"), accuracy=self.scope_accuracy())
        save_record(
            self,
            name,
            record,
            plot_window=CP_PLOT_WINDOW_S,
            bands={"cp": self.cp_bands(analysis)},
            caption=caption(analysis),
        )
        if analysis.cycles is not None:
            self.save_csv(f"{name} per cycle", list(CycleTable.COLUMNS), analysis.cycles.rows())
        return CpCapture(analysis, record)

    def cp_bands(self, analysis: PwmAnalysis) -> list[Band]:
        """The limits a CP record is judged against, to draw: its state's high level, and the
        PWM's low level."""
        bands = {state: self.limit(key).bounds() for state, key in STATE_KEYS.items()}
        state = nearest_state({s: (lo or 0.0, hi or 0.0) for s, (lo, hi) in bands.items()}, analysis.high_v)
        drawn = [Band(f"state {state} high level", *bands[state])]
        if not analysis.steady:
            drawn.append(Band("PWM low level", *self.limit(LOW_KEY).bounds()))
        return drawn

    def scope_accuracy(self) -> ScopeAccuracy:
        """The scope's specification from the profile ([instruments.scope.accuracy]: ``time``
        pct_reading is the time base, ``voltage`` the vertical accuracy), for the PWM budget."""
        config = self.profile.instruments.get("scope")
        spec = config.accuracy if config else {}
        time, voltage = spec.get("time"), spec.get("voltage")
        return ScopeAccuracy(
            timebase_ppm=time.pct_reading * 1e4 if time else 0.0,
            vertical_pct=voltage.pct_reading if voltage else 0.0,
            vertical_offset_v=voltage.offset if voltage else 0.0,
        )

    def cp_window_s(self) -> float:
        """Time resolution of reading a CP state change off a record (one nominal PWM period)."""
        return CP_NOMINAL_PERIOD_S
