"""The vehicle side of the DC bench: the connector, K5/K6, the battery simulator and the load,
and the vehicle's own behaviours a case asks for (late answers, abnormal battery, E-stop)."""

from __future__ import annotations

from bench.api.dc.parts import DcBenchParts
from bench.api.timings import (
    PHASE_POLL_S,
    UNPLUG_NOTICE_S,
    WAKE_MARGIN_S,
)

# The battery simulator sources next to nothing (it is a battery being charged) and may sink
# a margin above what the case asks for, so the charger, not the supply, sets the current.
BATTERY_SOURCE_LIMIT_A = 5.0
BATTERY_SINK_MARGIN = 1.2
# BMS phases without the auxiliary supply (bms.py).
BMS_UNPOWERED = ("idle", "off", "asleep")


class DcVehicle(DcBenchParts):
    """The bench playing the vehicle."""

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

    # -- 4.2.5 faults on the vehicle side: an output short, CAN lost ----------------------------
    def output_short_wired(self) -> bool:
        """The profile wires a shorting contactor across the inlet ([instruments.ev.wiring]
        output_short)."""
        return self.ev.has_line("output_short")

    def short_output(self) -> float:
        """The shorting contactor across the inlet closed; the bench time it was. Opened again
        by ``release_output_short`` (and when the test ends, whatever happened)."""
        self._at_end(self.release_output_short)
        self.ev.set_line("output_short", True)
        return self.now()

    def release_output_short(self) -> None:
        self.ev.set_line("output_short", False)

    def lose_can(self) -> float:
        """The vehicle's CAN goes silent (the bench's BMS sends nothing more, its state machine
        runs on); ``restore_can`` (and the end of the test) gives it back. The bench time of
        the vehicle's last frame: when the charger last heard it."""
        self._at_end(self.restore_can)
        self.bms.go_silent()
        last = self.frames.last_time_from(self.bms.config.address)
        return self.now() if last is None else last

    def restore_can(self) -> None:
        self.bms.resume()
