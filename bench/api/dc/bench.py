"""The DC charger bench as test cases use it: the bench plays the vehicle (BMS emulator on
CAN, EV simulator with K5/K6, a bidirectional supply as the battery, a DC load), measures
the output with the power analyzer and the scope, and plays the platform.

Every case starts from a freshly plugged connector (``connect_vehicle``): the vehicle side
loses the auxiliary supply when the plug is out, so its BMS starts from power-up, as a car
does at each new connection. This module holds what a DC charger does for the cases that
every pile runs (the platform cases, declared on ``BenchView``); the parts are in
``vehicle``, ``measurement``, ``messages``, ``charging``, ``power``, ``battery_watch``,
``vehicle_faults``, ``insulation``, ``precharge`` and ``bms_anomalies``.
"""

from __future__ import annotations

import contextlib

from bench.analysis.dc import settling_to_final
from bench.analysis.timing import first_crossing, first_time_at_or_below
from bench.api.dc.battery_watch import DcBatteryWatch
from bench.api.dc.bms_anomalies import DcBmsAnomalies
from bench.api.dc.insulation import DcInsulation
from bench.api.dc.measurement import SCREEN_HEADROOM
from bench.api.dc.power import DcPowerControl
from bench.api.dc.precharge import DcPrecharge
from bench.api.scope import SCREEN_DIVISIONS_USED
from bench.api.timings import (
    CAN_TIME_RESOLUTION_S,
    COMMAND_POLL_S,
    LEVEL_POLL_S,
    PHASE_POLL_S,
    QUIET_S,
    SESSION_START_TIMEOUT_S,
    output_change_resolution_s,
)


class DcBench(DcPowerControl, DcBatteryWatch, DcBmsAnomalies, DcInsulation, DcPrecharge):
    """The DC charger bench."""

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

    # -- timed power change and metering (4.2.10.3, 4.4.3) --------------------------------------
    def command_timed_output_level(self, unix_time: float, watts: float) -> float:
        """A timed power limit."""
        self.platform.timed_power_change(unix_time, watts)
        return self.now()

    def time_level_change(self, before: float, target: float, until: float) -> tuple[float | None, float | None, float]:
        """A scope record of the output current from now to ``until``: the edge of the power band
        around ``before`` (``moved_towards``) as a current at the present output voltage (the
        battery's, which hardly moves with the current), crossed towards ``target``; then the
        current settled within the power band of ``target`` (as a current), if in the record."""
        volts = self.output()["U"]
        window = until - self.now()
        if volts is None or volts <= 0 or window <= 0:
            return None, None, 0.0
        record, started = self.record_during(
            "output current around a timed power change", ("output_current",), window, lambda: None
        )
        times = record.bench_times("output_current")
        rising = target > before
        edge_w = before + (1 if rising else -1) * self.output_level_band(before)
        amps = record.volts("output_current")
        crossed = first_crossing(times, amps, edge_w / volts, rising=rising, after=times[0])
        uncertainty = (self.accuracy("scope", "time", window) or 0.0) + record.sample_interval
        if crossed is None:
            return None, None, uncertainty
        took, _ = settling_to_final(times, amps, self.output_level_band(target) / volts, start=crossed)
        return crossed, None if took is None else crossed + took, uncertainty

    def metering_load(self, fraction: float) -> str:
        """Charging at the battery's rated voltage (``deliver``), the platform's power limit at
        ``fraction`` of the rated power, the output moved there and settled (its readings within
        a tenth of the 4.2.10.5 tolerance of each other)."""
        watts = fraction * self.dut.rated_power_kw * 1000.0
        if not self.output_active():
            self.deliver()
        before = self.output_level()
        self.platform.set_power_limit(watts)
        if before is not None and abs(before - watts) > self.output_level_band(watts):
            self.try_wait_until(  # the pile takes its response time; how well it lands is 4.2.10.5's
                lambda: self.moved_towards(self.output_level(), before, watts),
                self.command_wait_s(),
                poll=LEVEL_POLL_S,
                what=f"the output to move to {watts:g} W",
            )
        self.settled_within("P", self.limit("changji:4.2.10.5:power_error"), watts)
        return f"power limit {watts / 1000:g} kW ({fraction:g} × the rated {self.dut.rated_power_kw:g} kW)"
