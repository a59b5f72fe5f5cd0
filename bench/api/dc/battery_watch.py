"""4.5.3 e on the DC bench: the BMS emulator drives one battery condition, the platform's
battery monitor (bench/platform/battery_monitor.py) finds it in the pile's uploads and commands
the stop, and the bench times each part.

The conditions are driven through what the BMS reports, never through the battery itself: a
conforming charger ends a real over-voltage on its own within 1 s (GB/T 34657.1 D0.4504, judged
by testcases/dc/test_battery_alarms.py), which would leave the platform nothing to stop. No BSM
status flag is set, so that the charger's own GB/T 27930 stop does not act either: what stops
the charging here is the platform.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.analysis import battery_conditions as bc
from bench.analysis.battery_conditions import conditions_met
from bench.api.dc.charging import DcCharging
from bench.api.timings import BATTERY_MONITOR_POLL_S, COMMAND_POLL_S, WINDOW_FACTOR
from bench.core.errors import BenchError
from bench.platform.battery_monitor import BatteryMonitor, Detection
from bench.protocols.platform.vocabulary import BATTERY_STATUS_FIELDS

LIMITS = {  # condition → the limit key of its threshold
    bc.VOLTAGE_ABOVE_MAXIMUM: "changji:4.5.3e:voltage_above_maximum",
    bc.TEMPERATURE_ABOVE_MAXIMUM: "changji:4.5.3e:temperature_above_maximum",
    bc.FAST_TEMPERATURE_RISE: "changji:4.5.3e:temperature_rise_rate",
    bc.TEMPERATURE_SPREAD: "changji:4.5.3e:temperature_spread",
    bc.CELL_VOLTAGE_ABOVE_MAXIMUM: "changji:4.5.3e:cell_voltage_above_maximum",
    bc.CELL_VOLTAGE_SPREAD: "changji:4.5.3e:cell_voltage_spread",
}
# The upload that shows each driven condition first, and the vehicle's message and field that
# carry it: the upload latency runs from the first frame with the new value to the upload with it.
CHANGED_FIELD = {
    bc.VOLTAGE_ABOVE_MAXIMUM: ("battery_voltage", "BCS", "voltage"),
    bc.TEMPERATURE_ABOVE_MAXIMUM: ("highest_temperature", "BSM", "highest_temperature"),
    bc.FAST_TEMPERATURE_RISE: ("highest_temperature", "BSM", "highest_temperature"),
    bc.TEMPERATURE_SPREAD: ("lowest_temperature", "BSM", "lowest_temperature"),
    bc.CELL_VOLTAGE_ABOVE_MAXIMUM: ("highest_cell_voltage", "BCS", "highest_cell_voltage"),
    bc.CELL_VOLTAGE_SPREAD: ("highest_cell_voltage", "BCS", "highest_cell_voltage"),
}
# How far past each threshold the BMS goes (bench choices: clearly past the threshold and the
# frame's resolution, inside what the frames can carry).
VOLTAGE_PAST_FACTOR = 1.02
TEMPERATURE_PAST_C = 3.0
RISE_PAST_FACTOR = 1.5
CELL_VOLTAGE_PAST_V = 0.05
RAMP_STEP_S = 1.0  # the temperature ramp's step (BSM goes out every 250 ms, in whole °C)
CHARGING_FRACTION = 1 / 3  # the charging current of these cases: a third of the DUT's maximum
STOP_KEY = "changji:4.2.6:command_response_time"
LATENCY_KEY = "changji:4.2.4:upload_latency"
STOPPED_KEY = "changji:4.5.3e:stopped"


@dataclass
class BatteryConditionRun:
    """What happened to one driven condition, in bench times."""

    condition: str
    field: str  # the upload that shows it first
    changed_at: float  # the BMS began to report it
    before: float | None  # the field's upload before
    sent_at: float | None = None  # the first frame of the vehicle with the new value
    sent_value: float | None = None  # and that value
    stale: str = ""  # what the uploads showed before anything was driven ("" when none)
    upload_seen_at: float | None = None  # the upload first showed the change
    detection: Detection | None = None
    output_off_at: float | None = None  # output current ≤ the stopped current, after the stop
    watched_until: float = 0.0


class DcBatteryWatch(DcCharging):
    """The platform's battery monitor, and the BMS driving the conditions it must find."""

    def battery_thresholds(self) -> bc.BatteryThresholds:
        """The monitor's thresholds: the vehicle's BCP maxima and the limits table."""
        v = self.vehicle
        rise = self.limit(LIMITS[bc.FAST_TEMPERATURE_RISE])
        return bc.BatteryThresholds(
            max_voltage_v=v.max_charge_voltage_v + self.limit(LIMITS[bc.VOLTAGE_ABOVE_MAXIMUM]).upper,
            max_temperature_c=v.max_temperature_c + self.limit(LIMITS[bc.TEMPERATURE_ABOVE_MAXIMUM]).upper,
            max_cell_voltage_v=v.max_cell_voltage_v + self.limit(LIMITS[bc.CELL_VOLTAGE_ABOVE_MAXIMUM]).upper,
            temperature_rise_c_per_min=rise.upper,
            rise_window_s=rise.figure("window_s"),
            temperature_spread_c=self.limit(LIMITS[bc.TEMPERATURE_SPREAD]).upper,
            cell_voltage_spread_v=self.limit(LIMITS[bc.CELL_VOLTAGE_SPREAD]).upper,
        )

    def charge_for_the_battery_monitor(self) -> float:
        """Charging steadily at a third of the DUT's maximum current; the current."""
        return self.charge_steadily(round(self.dut.current_range_a[1] * CHARGING_FRACTION))

    def watch_battery_condition(self, condition: str) -> BatteryConditionRun:
        """While charging: the BMS reports ``condition``; the monitor polls the uploads until it
        finds a condition (and stops the charging) or the window passes; then the output is
        watched until it is off. Every upload goes into the test's evidence as a CSV."""
        thresholds = self.battery_thresholds()
        monitor = BatteryMonitor(self.platform, thresholds)
        window = WINDOW_FACTOR * self.limit(LATENCY_KEY).upper
        # Uploads a pile still holds from before (a late upload, the last session) must not be
        # taken for the condition: first the uploads of the vehicle as it is now.
        self.try_wait_until(lambda: not monitor.read(), window, poll=BATTERY_MONITOR_POLL_S, what="calm uploads")
        stale = conditions_met(monitor.samples, thresholds)
        field, message, frame_field = CHANGED_FIELD[condition]
        last = self.frames.last(message)
        sent_before = None if last is None else last.values.get(frame_field)
        before = monitor.latest().get(field)
        run = BatteryConditionRun(condition, field, self._drive(condition, thresholds), before)
        run.stale = "; ".join(met.describe() for met in stale)

        def first_changed_frame() -> None:
            frame = next(
                (f for f in self.frames.frames(message, run.changed_at) if f.values.get(frame_field) != sent_before),
                None,
            )
            if frame is not None:
                run.sent_at, run.sent_value = frame.time, frame.values[frame_field]

        def found() -> bool:
            detection = monitor.poll()
            if run.sent_at is None:
                first_changed_frame()
            value = monitor.latest().get(field)
            if run.upload_seen_at is None and _nearer(value, run.sent_value, sent_before):
                run.upload_seen_at = monitor.samples[-1][0]
            return detection is not None

        if condition == bc.FAST_TEMPERATURE_RISE:
            window += thresholds.rise_window_s
        self.try_wait_until(found, window, poll=BATTERY_MONITOR_POLL_S, what=f"the platform to find {condition}")
        run.detection = monitor.detection
        if run.detection is not None:
            off_window = WINDOW_FACTOR * self.limit(STOP_KEY).upper
            if self.try_wait_until(
                lambda: not self.output_active(), off_window, poll=COMMAND_POLL_S, what="the output to stop"
            ):
                run.output_off_at = self.now()
        run.watched_until = self.now()
        if run.sent_at is None:
            first_changed_frame()
        self._save_uploads(condition, monitor)
        return run

    # -- the BMS drives the condition -------------------------------------------------------
    def _drive(self, condition: str, t: bc.BatteryThresholds) -> float:
        """The BMS begins to report ``condition`` (undone when the test ends); the bench time."""
        battery = self.bms.battery
        cells, temperatures = list(battery.cell_voltages), list(battery.temperatures)
        self._at_end(lambda: (self.bms.set_cell_voltages(cells), self.bms.set_temperatures(temperatures)))
        self._at_end(lambda: self.bms.set_voltage_reading(None))
        started = self.now()
        if condition == bc.VOLTAGE_ABOVE_MAXIMUM:
            self.bms.set_voltage_reading(self.vehicle.max_charge_voltage_v * VOLTAGE_PAST_FACTOR)
        elif condition == bc.TEMPERATURE_ABOVE_MAXIMUM:
            self.bms.set_temperatures([t.max_temperature_c + TEMPERATURE_PAST_C] * len(temperatures))
        elif condition == bc.FAST_TEMPERATURE_RISE:
            self._ramp_temperatures(temperatures, t.temperature_rise_c_per_min * RISE_PAST_FACTOR, started)
        elif condition == bc.TEMPERATURE_SPREAD:
            self._two_at_least("temperature probes", temperatures)
            colder = max(temperatures) - t.temperature_spread_c - TEMPERATURE_PAST_C
            self.bms.set_temperatures([*temperatures[:-1], colder])
        elif condition == bc.CELL_VOLTAGE_ABOVE_MAXIMUM:
            self._raise_one_cell(cells, t.max_cell_voltage_v + CELL_VOLTAGE_PAST_V)
        elif condition == bc.CELL_VOLTAGE_SPREAD:
            self._raise_one_cell(cells, min(cells) + t.cell_voltage_spread_v + CELL_VOLTAGE_PAST_V)
        else:
            raise BenchError(f"4.5.3 e condition {condition!r}: one of {', '.join(bc.CONDITIONS)}")
        return started

    def _ramp_temperatures(self, start: list[float], rate_c_per_min: float, since: float) -> None:
        def step() -> None:
            rise = rate_c_per_min * (self.now() - since) / 60.0
            self.bms.set_temperatures([value + rise for value in start])

        ramp = self.clock.every(RAMP_STEP_S, step)
        self._at_end(ramp.cancel)

    def _raise_one_cell(self, cells: list[float], volts: float) -> None:
        """One cell that is not the lowest (so the lowest cell's upload stays) at ``volts``."""
        self._two_at_least("cells", cells)
        lowest = cells.index(min(cells))
        raised = 1 if lowest == 0 and len(cells) > 1 else 0
        self.bms.set_cell_voltages([volts if i == raised else v for i, v in enumerate(cells)])

    @staticmethod
    def _two_at_least(what: str, values: list[float]) -> None:
        if len(values) < 2:
            raise BenchError(f"4.5.3 e spread: the vehicle needs at least two {what} ([vehicle] in the profile)")

    def _save_uploads(self, condition: str, monitor: BatteryMonitor) -> None:
        fields = [*BATTERY_STATUS_FIELDS, "output_voltage"]
        rows = [[f"{t:.3f}", *(values.get(name, "") for name in fields)] for t, values in monitor.samples]
        self.save_csv(f"battery status uploads ({condition})", ["bench_time_s", *fields], rows)


def _nearer(value: float | None, new: float | None, old: float | None) -> bool:
    """``value`` is the new value rather than the old one (the upload's resolution may differ
    from the frame's)."""
    if value is None or new is None:
        return False
    return old is None or abs(value - new) < abs(value - old)
