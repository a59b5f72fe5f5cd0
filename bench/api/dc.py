"""The DC charger bench as test cases use it: the bench plays the vehicle (BMS emulator on
CAN, EV simulator with K5/K6, a bidirectional supply as the battery, a DC load), measures
the output with the power analyzer and the scope, and plays the platform.

Every case starts from a freshly plugged connector (``connect_vehicle``): the vehicle side
loses the auxiliary supply when the plug is out, so its BMS starts from power-up, as a car
does at each new connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from bench.analysis.dc import flags_set, settling_to_final
from bench.analysis.operating_points import PowerPoint, battery_voltage_for, power_point
from bench.analysis.timing import first_time_at_or_below
from bench.api.base import BenchView
from bench.api.frames import Frame, FrameLog
from bench.api.scope import DIVISIONS, SCREEN_DIVISIONS_USED, Record, ScopeCapture, save_record
from bench.api.timings import (
    BST_POLL_S,
    BST_WAIT_S,
    CAN_TIME_RESOLUTION_S,
    COMMAND_POLL_S,
    CURRENT_POLL_S,
    LEVEL_POLL_S,
    OUTPUT_POLL_S,
    PHASE_POLL_S,
    QUIET_POLL_S,
    QUIET_S,
    RAMP_POLL_S,
    RECORD_ACTION_MARGIN_S,
    RECORD_PRE_TRIGGER,
    SESSION_START_TIMEOUT_S,
    SETTLE_HOLD_S,
    UNPLUG_NOTICE_S,
    WAKE_MARGIN_S,
    WINDOW_FACTOR,
    capture_timeout_s,
    output_change_resolution_s,
    record_window_s,
)
from bench.core.errors import BenchError
from bench.core.limits import Limit
from bench.protocols.gbt27930 import extension as extension_dbc
from bench.protocols.gbt27930.catalogue import BY_NAME, CHARGER
from bench.protocols.gbt27930.ids import CHARGER_ADDRESS
from bench.protocols.gbt27930.monitor import MIN_INTERVALS

# The battery simulator sources next to nothing (it is a battery being charged) and may sink
# a margin above what the case asks for, so the charger, not the supply, sets the current.
BATTERY_SOURCE_LIMIT_A = 5.0
BATTERY_SINK_MARGIN = 1.2
# A reading judged against a tolerance counts as settled once it holds within that tolerance
# divided by this (a tenth of it, bench choice) for SETTLE_HOLD_S (DcBench.settled_within).
SETTLE_TOLERANCE_DIVISOR = 10.0
# Operating points stay this far inside the DUT's rated power and the rules' current bounds,
# so that a point is where the clause puts it whatever the cable drop (bench choice).
OPERATING_MARGIN = 0.05
# 4.2.10.5: the BMS asks for this much more current than the set power gives, so that the
# platform's power limit — not the BMS demand — governs the output (bench choice).
POWER_TEST_CURRENT_HEADROOM = 0.10
# Scope screens: 8 vertical divisions around a centre; signals are shown from a little
# below 0 to this factor above their largest expected value (the DUT's or the supply's).
SCREEN_HEADROOM = 1.2
AUX_SUPPLY_MAX_V = 15.0  # above the 12 ± 0.6 V auxiliary supply (docs/limits.md §4)
# BMS phases without the auxiliary supply (bms.py).
BMS_UNPOWERED = ("idle", "off", "asleep")
# GB/T 27930 names of the 4.2.7 items → the names the platform channel uses.
BRM_UPLOADS = {"vin": "vin", "rated_capacity": "battery_capacity"}


@dataclass(frozen=True)
class StepTiming:
    """How long the output current took to settle after a step of the BMS demand."""

    seconds: float  # from the step to the first sample of the settled band (a lower bound if never)
    settled: bool
    uncertainty: float | None  # of ``seconds``: scope timebase plus one sample interval
    detail: str


class DcBench(BenchView):
    kind = "dc"

    def __init__(self, session, grid: str = "full"):
        super().__init__(session, grid)
        self.scope = ScopeCapture(session)
        vehicle = session.profile.vehicle
        dbc = vehicle.extension.dbc if vehicle is not None and vehicle.extension.dbc else None
        self.frames = FrameLog(session.can, extension_dbc.load(dbc))
        session.evidence.on_end(self.frames.close)

    def _at_end(self, undo: Callable[[], object]) -> None:
        """Undo a test's set-up when the test ends (after the safe state); a failure is noted,
        not raised, so the test's evidence is still written."""

        def run() -> None:
            try:
                undo()
            except BenchError as exc:
                self.note("undo at the end of the test failed", str(exc))

        self.session.evidence.on_end(run)

    # -- instruments and the vehicle --------------------------------------------------------
    @property
    def bms(self):
        return self.session.bms

    @property
    def ev(self):
        return self.session.instrument("ev")

    @property
    def battery(self):
        return self.session.instrument("battery")

    @property
    def load(self):
        return self.session.instrument("load")

    @property
    def vehicle(self):
        return self.profile.vehicle

    def connect_vehicle(self) -> None:
        """Connector freshly in (CC1 4 V), K5/K6 open.

        A plug left in from the previous case is pulled first, so that the vehicle loses the
        auxiliary supply and its BMS starts from power-up; a vehicle left asleep stays
        unplugged long enough to wake (its 12 V supply off for its wake-up time)."""
        self.ev.set_vehicle_contactors(False)
        self.ev.set_cc2(False)
        self.try_wait_until(
            lambda: self.bms.phase in BMS_UNPOWERED,
            UNPLUG_NOTICE_S,
            poll=PHASE_POLL_S,
            what="the BMS to lose the auxiliary supply",
        )
        if self.bms.asleep:
            self.wait(self.bms.config.wake_min_off_s + WAKE_MARGIN_S)
        self.ev.set_cc2(True)

    def vehicle_sleeps(self) -> None:
        """The vehicle falls asleep: its BMS answers nothing until the 12 V supply was off
        for its wake-up time."""
        self.bms.sleep()

    def hold_battery(self, volts: float, sink_a: float | None = None) -> None:
        """The battery simulator holds ``volts`` and sinks what the charger pushes."""
        sink = sink_a if sink_a is not None else self.dut.current_range_a[1] * BATTERY_SINK_MARGIN
        self.battery.hold_voltage(volts, BATTERY_SOURCE_LIMIT_A, sink)
        self.battery.set_output(True)

    def battery_out_of_the_way(self) -> None:
        """Battery simulator output off: the charger's output goes only into the load."""
        self.battery.set_output(False)

    def sink_with_load(self, amps: float) -> None:
        """The DC load across the inlet sinks ``amps`` (constant current)."""
        self.load.sink_current(amps)
        self.load.set_input(True)

    def open_vehicle_contactors(self) -> float:
        """K5/K6 open; the bench time it was done."""
        self.ev.set_vehicle_contactors(False)
        return self.now()

    def aux_present(self) -> bool:
        """The 12 V auxiliary supply at the inlet, from the EV simulator's digital input."""
        return self.ev.aux_present()

    def vehicle_answers_late(self, delay_s: float) -> None:
        """For this test the vehicle holds back BRM for ``delay_s`` after the charger's first
        CRM, then BRO for ``delay_s`` after configuration begins (a car that takes its
        time, within the 5 s the charger waits): CRM, CML and CTS repeat long enough to
        measure their periods."""
        stage = ["brm"]

        def release_brm() -> None:
            self.bms.resume()
            self.bms.go_silent(["BRO"])
            stage[0] = "bro"

        def release_bro() -> None:
            self.bms.resume()
            stage[0] = "done"

        def watch() -> None:
            if stage[0] == "brm" and self.bms.phase == "recognition":
                stage[0] = "holding"
                self.clock.call_later(delay_s, release_brm)
            elif stage[0] == "bro" and self.bms.phase == "configuration":
                stage[0] = "holding"
                self.clock.call_later(delay_s, release_bro)

        self.bms.go_silent(["BRM"])
        watcher = self.clock.every(PHASE_POLL_S, watch)
        self._at_end(lambda: (watcher.cancel(), self.bms.resume()))

    def report_battery_abnormal(self, condition: str) -> float:
        """The BMS reports an abnormal status in BSM (no BST); cleared when the test ends.
        Returns the bench time it was set."""
        self._at_end(self.bms.clear_abnormal)
        self.bms.report_abnormal(condition)
        return self.now()

    def press_emergency_stop(self) -> float:
        """The E-stop input of the EV simulator pressed; released when the test ends (after the
        safe state). Returns the bench time it was pressed."""
        self._at_end(lambda: self.ev.set_estop(False))
        self.ev.set_estop(True)
        return self.now()

    # -- operating points -------------------------------------------------------------------
    def battery_voltage_for(self, current_a: float) -> float:
        """A battery voltage at which the charger delivers ``current_a`` without reaching its
        rated power (bench/analysis/operating_points.py)."""
        return battery_voltage_for(
            current_a,
            rated_power_w=self.dut.rated_power_kw * 1000.0,
            rated_voltage_v=self.vehicle.rated_voltage_v,
            min_output_v=self.dut.voltage_range_v[0],
            margin=OPERATING_MARGIN,
        )

    def current_error_limit(self, demand_a: float):
        """The NB/T 33001 current-error limit for a demand: ±0.3 A below 30 A
        (nbt33001:output:current_error_small), ±1 % from 30 A (nbt33001:output:current_error)."""
        small = self.limit("nbt33001:output:current_error_small")
        return small if demand_a < small.figure("below_a") else self.limit("nbt33001:output:current_error")

    def current_tolerance_a(self, demand_a: float) -> float:
        return self.current_error_limit(demand_a).tolerance(demand_a)

    def power_point(self, fraction: float) -> PowerPoint:
        """4.2.10.5 at ``fraction`` of the rated power (bench/analysis/operating_points.py), from
        the DUT's ratings, the vehicle's rated voltage and the clause's minimum current."""
        return power_point(
            fraction,
            rated_power_w=self.dut.rated_power_kw * 1000.0,
            max_current_a=self.dut.current_range_a[1],
            min_output_v=self.dut.voltage_range_v[0],
            rated_voltage_v=self.vehicle.rated_voltage_v,
            min_current_a=self.limit("changji:4.2.10.5:power_error").figure("min_current_a"),
            headroom=POWER_TEST_CURRENT_HEADROOM,
            margin=OPERATING_MARGIN,
        )

    # -- a charging session -----------------------------------------------------------------
    def start_charging(
        self,
        *,
        battery_v: float,
        current_a: float,
        voltage_v: float | None = None,
        mode: str = "cc",
        power_limit_w: float | None = None,
    ) -> float:
        """Bring the charger to charging the battery simulator; the bench time it took.

        The BMS asks for ``current_a`` (mode "cc", BCL mode 2) or ``voltage_v`` (mode "cv",
        mode 1) from the start; the vehicle closes K5/K6 once configuration begins (before
        BRO 0xAA, GB/T 18487.1 Annex B), as a car does. The platform's power limit
        (``power_limit_w``, else the rated power, whatever an earlier case left) is sent
        before the start command, so the pile has it before it charges; a lower one is set
        back to the rated power when the test ends.
        """
        start = self.now()
        rated_w = self.dut.rated_power_kw * 1000.0
        self.hold_battery(battery_v)
        self.connect_vehicle()
        self.bms.request(voltage_v if voltage_v is not None else self.vehicle.max_charge_voltage_v, current_a, mode)
        self.platform.set_power_limit(power_limit_w if power_limit_w is not None else rated_w)
        if power_limit_w is not None and power_limit_w != rated_w:
            self._at_end(lambda: self.platform.set_power_limit(rated_w))
        self.platform.start()
        self.wait_until(
            lambda: self.bms.phase in ("configuration", "charging"),
            SESSION_START_TIMEOUT_S,
            poll=PHASE_POLL_S,
            what="the BMS to reach configuration (BCP/CML)",
        )
        self.ev.set_vehicle_contactors(True)
        self.wait_until(
            lambda: self.bms.phase == "charging",
            SESSION_START_TIMEOUT_S,
            poll=PHASE_POLL_S,
            what="the charging phase (BCL/CCS)",
        )
        return self.now() - start

    def charge_steadily(self, current_a: float) -> float:
        """Charging at ``current_a`` (BCL mode 2) into the battery simulator at a voltage where
        the rated power does not limit it, until the current has settled (within a tenth of
        its NB/T tolerance); the settled current (the last reading if it never settles)."""
        self.start_charging(battery_v=self.battery_voltage_for(current_a), current_a=current_a)
        settled = self.settled_within("I", self.current_error_limit(current_a), current_a)
        return settled if settled is not None else self.output_current()

    def request(self, voltage_v: float, current_a: float, mode: str = "cc") -> float:
        """A new BCL demand; the bench time it was made."""
        self.bms.request(voltage_v, current_a, mode)
        return self.now()

    def stop_by_bms(self, reason: str = "soc_reached") -> float:
        """BST from the vehicle; the bench time of the first BST frame."""
        since = self.now()
        if not self.bms.stop(reason):
            raise BenchError(f"BMS could not stop in phase {self.bms.phase}")
        self.wait_until(
            lambda: self.frames.first("BST", since) is not None, BST_WAIT_S, poll=BST_POLL_S, what="the BST frame"
        )
        return self.frames.first("BST", since).time

    def wait_for_frame(
        self,
        name: str,
        since: float,
        window_s: float,
        *,
        poll: float = PHASE_POLL_S,
        where: Callable[[Frame], bool] = lambda frame: True,
    ) -> Frame | None:
        """The first ``name`` frame at or after ``since`` (that ``where`` accepts), waiting
        until ``since + window_s`` at most; None when none came."""

        def found() -> Frame | None:
            return next((f for f in self.frames.frames(name, since) if where(f)), None)

        remaining = since + window_s - self.now()
        if found() is None and remaining > 0:
            self.try_wait_until(lambda: found() is not None, remaining, poll=poll, what=f"a {name} frame")
        return found()

    def time_until_frame(self, name: str, since: float, window_s: float, **kw) -> tuple[float, Frame | None]:
        """(time from ``since`` to the first ``name`` frame, the frame); when none came within
        ``window_s`` the window is the time (a lower bound) and the frame None."""
        frame = self.wait_for_frame(name, since, window_s, **kw)
        return (window_s, None) if frame is None else (frame.time - since, frame)

    @staticmethod
    def describe_stop(frame: Frame | None, name: str, window_s: float) -> str:
        """A stop message found or not, for a check's detail."""
        if frame is None:
            return f"no {name} within {window_s:g} s: the time is a lower bound"
        return f"{name} with {', '.join(flags_set(frame.values)) or 'no flag set'}"

    def stop_by_platform(self) -> bool:
        """The platform's stop, then wait until the pile has gone quiet on the bus (no frame
        for ``QUIET_S``), so the next case starts from an idle pile; False when it did not
        within the command wait."""
        self.platform.stop()

        def quiet() -> bool:
            last = self.frames.last_time_from(CHARGER_ADDRESS)
            return last is None or self.now() - last >= QUIET_S

        return (
            self.try_wait_until(
                quiet, self.command_wait_s(), poll=QUIET_POLL_S, what="the pile to go quiet after the platform's stop"
            )
            is not None
        )

    def wait_for_session_end(self, timeout: float = SESSION_START_TIMEOUT_S) -> bool:
        """Until the BMS has ended the session (BSD/CSD done); False when it did not in time."""
        return (
            self.try_wait_until(
                lambda: self.bms.phase in ("ended", "idle", "aborted"),
                timeout,
                poll=PHASE_POLL_S,
                what="the end of the session (CSD)",
            )
            is not None
        )

    # -- measurements -----------------------------------------------------------------------
    def output(self) -> dict:
        """Voltage, current, power at the vehicle inlet from the power analyzer (None = invalid)."""
        readings = self.session.instrument("analyzer").read_element(self.session.analyzer_element("output"))
        return {name: reading.value for name, reading in readings.items()}

    def output_current(self) -> float:
        return self.session.output_current()

    def wait_current_off(self, end_a: float, *, until: float) -> tuple[float | None, float]:
        """Poll the output current until |I| ≤ ``end_a`` or bench time ``until``; (the bench
        time it was first seen at or below, or None; the resolution of that time)."""
        waited = self.try_wait_until(
            lambda: abs(self.output_current()) <= end_a,
            until - self.now(),
            poll=CURRENT_POLL_S,
            what=f"the output current ≤ {end_a:g} A",
        )
        return (None if waited is None else self.now()), CURRENT_POLL_S

    def settled(self, quantity: str, band: float, timeout: float | None = None) -> float | None:
        """The analyzer's ``quantity`` ("U", "I", "P"), the mean of its readings once they hold
        within ±band of each other for SETTLE_HOLD_S; None when they never do within
        ``timeout`` (default: the command wait of 4.2.6).

        A reading still on its way (moving by more than the band between two readings
        ``RAMP_POLL_S`` apart) is followed at that coarser pace first."""
        settled = self.try_wait_settled(
            lambda: self._reading(quantity),
            band=band,
            hold=SETTLE_HOLD_S,
            timeout=timeout if timeout is not None else self.command_wait_s(),
            poll=OUTPUT_POLL_S,
            ramp_poll=RAMP_POLL_S,
            what=f"output {quantity} to settle",
        )
        return None if settled is None else settled.value

    def settled_within(
        self, quantity: str, rule: Limit, reference: float, timeout: float | None = None
    ) -> float | None:
        """``settled`` with the band a tenth of ``rule``'s tolerance around ``reference`` (the
        reading the case then judges against that rule)."""
        return self.settled(quantity, rule.tolerance(reference) / SETTLE_TOLERANCE_DIVISOR, timeout)

    def _reading(self, quantity: str) -> float:
        value = self.output()[quantity]
        return float("nan") if value is None else value

    def capture(
        self,
        name: str,
        volts_per_div: dict[str, float],
        *,
        seconds_per_div: float,
        pre_trigger: float = RECORD_PRE_TRIGGER,
        actions=(),
        save: bool = True,
        offsets_v: dict[str, float] | None = None,
    ) -> Record:
        """A forced-trigger record on the bench clock (its time 0 is the forced trigger)."""
        window = seconds_per_div * DIVISIONS
        record = self.scope.capture(
            volts_per_div,
            seconds_per_div=seconds_per_div,
            trigger=None,
            pre_trigger=pre_trigger,
            timeout_s=capture_timeout_s(window),
            force_after_s=window * pre_trigger,
            actions=list(actions),
            offsets_v=offsets_v,
        )
        if save:
            save_record(self, name, record) if self.plots else self._save_samples(name, record)
        return record

    def _save_samples(self, name: str, record: Record) -> None:
        """Quick runs keep the raw samples only (no plot)."""
        import numpy as np

        test_dir = self.session.evidence.test_dir or self.session.run_dir
        arrays = {f"{signal}_volts": w.volts.astype(np.float32) for signal, w in record.waveforms.items()}
        path = test_dir / f"{name}.npz"
        np.savez_compressed(path, **arrays)
        self.session.evidence.attach_file(f"{name} (raw samples, .npz)", path)

    def record_during(
        self,
        name: str,
        signals: tuple[str, ...],
        window_s: float,
        action: Callable[[], object],
        *,
        pre: float = RECORD_PRE_TRIGGER,
    ) -> tuple[Record, float]:
        """One forced-trigger record of ``window_s`` on the bench clock, with ``action`` done
        RECORD_ACTION_MARGIN_S after the pre-trigger part is filled; (record, the action's
        bench time). ``timings.record_window_s`` gives the window that reaches a time past the
        trigger."""
        when: list[float] = []

        def act():
            when.append(self.now())
            action()

        scales = {signal: self._screen(signal) for signal in signals}
        record = self.capture(
            name,
            {s: v for s, (v, _) in scales.items()},
            seconds_per_div=window_s / DIVISIONS,
            pre_trigger=pre,
            offsets_v={s: o for s, (_, o) in scales.items()},
            actions=[(window_s * pre + RECORD_ACTION_MARGIN_S, act)],
        )
        return record, (when[0] if when else float("nan"))

    def time_current_step(self, start_a: float, end_a: float, allowed_s: float) -> StepTiming:
        """Charge at ``start_a``, settle, step the BMS demand to ``end_a`` and time the output
        current into the current tolerance of the level it settles at (NB/T 33001 adjustment).

        The record reaches WINDOW_FACTOR × the allowed time past its trigger (its first
        RECORD_PRE_TRIGGER is before the step), so a pile too slow shows as such."""
        self.start_charging(battery_v=self.battery_voltage_for(max(start_a, end_a)), current_a=start_a)
        self.settled_within("I", self.current_error_limit(start_a), start_a)
        band = self.current_tolerance_a(end_a)
        record, stepped_at = self.record_during(
            f"current step {start_a:g} A to {end_a:g} A",
            ("output_current",),
            record_window_s(WINDOW_FACTOR * allowed_s),
            lambda: self.request(self.vehicle.max_charge_voltage_v, end_a, "cc"),
        )
        times = record.bench_times("output_current")
        took, final = settling_to_final(times, record.volts("output_current"), band, start=stepped_at)
        detail = f"settled within ±{band:.3g} A of {final} A"
        settled = took is not None
        if took is None:
            took = times[-1] - stepped_at
            detail = f"not settled within ±{band:.3g} A by the end of the record: the time is a lower bound"
        uncertainty = self.accuracy("scope", "time", took)
        return StepTiming(took, settled, None if uncertainty is None else uncertainty + record.sample_interval, detail)

    def _screen(self, signal: str) -> tuple[float, float]:
        """(V/div, centre) showing ``signal`` from a little below 0 to its largest value."""
        top = {
            "output_current": self.dut.current_range_a[1],
            "inlet_voltage": self.dut.voltage_range_v[1],
            "aux_voltage": AUX_SUPPLY_MAX_V,
        }[signal] * SCREEN_HEADROOM
        return top / SCREEN_DIVISIONS_USED, top / 2

    # -- what the vehicle sent, what the pile uploads (4.2.7) ------------------------------
    def sent_bms_info(self, since: float = 0.0) -> dict[str, tuple[object, float | None]]:
        """The 4.2.7 items as the vehicle last sent them on the bus (BRM and the extension
        messages): upload name → (value, the frame's resolution; None for text and labels)."""
        sent: dict[str, tuple[object, float | None]] = {}
        brm = self.frames.last("BRM", since)
        if brm is not None:
            fields = {f.name: f for f in BY_NAME["BRM"].fields}
            for name, upload in BRM_UPLOADS.items():
                if brm.values.get(name) is not None:
                    field = fields[name]
                    sent[upload] = (brm.values[name], field.scale if field.kind == "uint" else None)
        for ext in self.frames.extension.messages:
            frame = self.frames.last(ext.name, since)
            if frame is None:
                continue
            signals = {s.name: s for s in ext.message.signals}
            for name, value in frame.values.items():
                if value is None:
                    continue
                signal = signals.get(name)
                labelled = isinstance(value, str) or signal is None or signal.choices
                sent[name] = (value, None if labelled else signal.scale)
        return sent

    def wait_for_extension_messages(self) -> bool:
        """Until every 4.2.7 extension message has been sent at least once in this test (at
        most its longest period and a poll more); False when one never came."""
        messages = self.frames.extension.messages
        window = max(m.period_s for m in messages) + QUIET_POLL_S
        return (
            self.try_wait_until(
                lambda: all(self.frames.last(m.name) for m in messages),
                window,
                poll=QUIET_POLL_S,
                what="the 4.2.7 extension messages",
            )
            is not None
        )

    def uploaded_bms_info(self) -> dict:
        """The 4.2.7 items as the pile gives them to the platform."""
        return self.platform.bms_info()

    # -- GB/T 27930 message periods -----------------------------------------------------------
    def message_periods(self, sender: str = CHARGER, min_intervals: int = MIN_INTERVALS) -> dict[str, dict]:
        """Per message of ``sender`` in this test so far (from the test's conformance monitor):
        mean period, nominal period and number of intervals; only messages with at least
        ``min_intervals`` intervals between pauses."""
        monitor = self.session.evidence.monitor
        if monitor is None:
            raise BenchError("no CAN monitor runs in this test")
        periods = {}
        for name, stats in monitor.stats().items():
            spec = BY_NAME.get(name)
            if spec is None or spec.sender != sender or not stats["nominal_period_s"]:
                continue
            if stats["intervals"] >= min_intervals:
                periods[name] = stats
        return periods

    # -- the output, as the platform cases see any pile ------------------------------------
    output_level_unit = "W"

    def deliver(self) -> None:
        """Charging at the battery's rated voltage with a current demand above what the
        rated power allows, so that the platform's power limit governs the output."""
        self.start_charging(battery_v=self.vehicle.rated_voltage_v, current_a=self.dut.current_range_a[1])

    def output_active(self) -> bool:
        return abs(self.output_current()) > self.limit("gbt27930:stop:bms_current_off_time").figure("end_current_a")

    def output_level(self) -> float | None:
        """Output power at the vehicle inlet (W), from the power analyzer."""
        return self.output()["P"]

    def command_output_level(self, watts: float) -> float:
        """The platform's orderly-charging command for a DC charger: a power limit."""
        self.platform.set_power_limit(watts)
        return self.now()

    def output_level_band(self, target: float) -> float:
        """The 4.2.10.5 power tolerance around ``target``."""
        return self.limit("changji:4.2.10.5:power_error").tolerance(target)

    def output_level_points(self) -> tuple[float, float]:
        rated = self.dut.rated_power_kw * 1000.0
        return rated, rated / 2

    # -- the platform cases: what a DC charger does ------------------------------------------
    session_start_poll_s = COMMAND_POLL_S

    def prepare_vehicle(self) -> None:
        """The battery held at its rated voltage, the connector in (the BMS from power-up),
        the BMS asking for the rated current."""
        self._quiet_charger()
        self.hold_battery(self.vehicle.rated_voltage_v)
        self.connect_vehicle()
        self.bms.request(self.vehicle.max_charge_voltage_v, self.dut.current_range_a[1], "cc")

    def _quiet_charger(self) -> None:
        """A charger still in a handshake (an earlier wake-up restarts one) would hide the start a
        case times, and confuse the BMS about to power up: the platform stops it first."""
        since = self.now()
        self.wait(QUIET_S)
        if self.frames.first("CHM", since) is None:
            return
        self.platform.stop()
        self.try_wait_until(
            lambda: self.frames.first("CHM", self.now() - QUIET_S) is None,
            self.command_wait_s(),
            poll=QUIET_S,
            what="the charger to end its handshake",
        )

    def session_started(self, since: float) -> float | None:
        """The first CHM's own time stamp."""
        frame = self.frames.first("CHM", since)
        return None if frame is None else frame.time

    def session_start_resolution_s(self, poll: float) -> float:
        return CAN_TIME_RESOLUTION_S  # the frame's own time, however often the bench looked

    def complete_start(self) -> None:
        """K5/K6 closed once configuration begins."""
        if (
            self.try_wait_until(
                lambda: self.bms.phase in ("configuration", "charging"),
                SESSION_START_TIMEOUT_S,
                poll=PHASE_POLL_S,
                what="the BMS to reach configuration",
            )
            is not None
        ):
            self.ev.set_vehicle_contactors(True)

    def load_output(self, level: float) -> None:
        """Nothing to do: the BMS already asks for more than the level allows."""

    def unload_output(self) -> None:
        """Nothing to undo."""

    def level_change_resolution_s(self) -> float:
        """The analyzer's power lags by up to two updates."""
        return output_change_resolution_s(LEVEL_POLL_S)

    @contextlib.contextmanager
    def local_anomaly(self):
        """The emergency stop of the EV simulator."""
        self.ev.set_estop(True)
        try:
            yield "emergency stop (EV simulator)"
        finally:
            self.ev.set_estop(False)

    def supply_fault_signal(self) -> tuple[str, float, float]:
        """The output current, the DUT's maximum on the screen."""
        top = self.dut.current_range_a[1] * SCREEN_HEADROOM
        return "output_current", top / SCREEN_DIVISIONS_USED, top / 2

    def output_stopped_at(self, record, signal: str, since: float) -> tuple[float | None, float]:
        """The output current down to the 5 A of a stopped charger (GB/T 27930)."""
        times, values = record.bench_times(signal), record.volts(signal)
        end_a = self.limit("gbt27930:stop:bms_current_off_time").figure("end_current_a")
        return first_time_at_or_below(times, values, end_a, after=since), record.sample_interval

    def wake_up_acted(self) -> tuple[bool, str]:
        """The wake-up cuts the auxiliary supply for a while and restores it (4.2.10.4 judges how
        long): the charger has acted once the supply changes state — off if it was on, on again
        after the off interval if it was off already."""
        self.connect_vehicle()
        present = self.ev.aux_present
        was_on = present()
        window = self.command_wait_s() * (1 if was_on else 2)
        sent = self.now()
        self.platform.wake_vehicle()
        if (
            self.try_wait_until(
                lambda: present() != was_on, window, poll=COMMAND_POLL_S, what="the auxiliary supply to change"
            )
            is None
        ):
            return False, (
                f"the auxiliary supply stayed {'on' if was_on else 'off'} for {window:g} s after the wake-up command"
            )
        seen = (
            f"auxiliary supply {'off' if was_on else 'on'} {self.now() - sent:.2f} s after the wake-up "
            f"command (it was {'on' if was_on else 'off'})"
        )
        if was_on:  # let the wake-up finish here rather than in the next case (not judged here)
            self.try_wait_until(
                present, self.command_wait_s(), poll=COMMAND_POLL_S, what="the auxiliary supply to come back"
            )
        return True, seen

    def measured_output(self) -> dict[str, float | None]:
        values = self.output()
        return {q: values.get(q) for q in ("U", "I", "P")}
