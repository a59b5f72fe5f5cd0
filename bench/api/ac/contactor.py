"""The AC pile's contactor timed against S2 on the scope: closing and opening."""

from __future__ import annotations

from dataclasses import dataclass

from bench.analysis.timing import CP_NOMINAL_PERIOD_S, CP_STATE_2_3_BOUNDARY_V, cp_state_change_time, last_time_above
from bench.api.ac.parts import AC_TRIGGER_V, AC_VOLTS_PER_DIV, CP_VOLTS_PER_DIV
from bench.api.ac.vehicle import AcVehicle
from bench.api.scope import DIVISIONS, Record, Trigger, save_record
from bench.api.timings import (
    CONTACTOR_CLOSE_PRE_TRIGGER,
    CONTACTOR_CLOSE_WINDOW_S,
    CONTACTOR_OPEN_WINDOW_S,
    RECORD_ACTION_MARGIN_S,
    RECORD_PRE_TRIGGER,
    S2_TRIGGER_WAIT_RECORDS,
)
from bench.core.errors import NoTrigger


@dataclass(frozen=True)
class ContactorTiming:
    """The pile's contactor timed against S2 in one scope record."""

    delay: float | None  # from the S2 change to the output's change; None: not seen in the record
    record: Record | None  # None when nothing triggered
    watched_s: float  # the longest delay the record can show (the observation window)


class AcContactor(AcVehicle):
    """The contactor against S2."""

    def check_supply_follows_s2(self, key: str, *, at: dict | None = None, after: str = "S2 closed") -> None:
        """Close S2 and judge ``key`` (a 3 s rule) on the time to the pile's output coming on,
        read off one scope record (time_contactor_closing)."""
        closing = self.time_contactor_closing()
        self.check_duration(
            key,
            closing.delay,
            window=closing.watched_s,
            missing="the output did not come on after S2 closed",
            at=at,
            uncertainty=CP_NOMINAL_PERIOD_S + 1.0 / self.dut.supply_frequency_hz,  # a CP period, a mains cycle
            detail=f"from {after} (the CP's fall to state 3) to the output's first rise past 100 V "
            "(which comes up to one mains cycle after the contacts close)",
        )

    def check_supply_opens_after_s2(self, key: str, *, at: dict | None = None) -> None:
        """Open S2 while the pile supplies and judge ``key`` (a 100 ms rule) on the time to the
        end of the pile's output, read off one scope record (time_contactor_opening)."""
        opening = self.time_contactor_opening()
        self.check_duration(
            key,
            opening.delay,
            window=opening.watched_s,
            missing="the output was still on",
            uncertainty=0.5 / self.dut.supply_frequency_hz,
            at=at,
            detail="from the CP's rise to state 2 (S2 open) to the last half cycle of the output",
        )

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
