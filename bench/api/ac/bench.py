"""The AC pile bench as test cases use it: the vehicle side (EV simulator), the CP on the
scope, the pile's output on the power analyzer, and the platform channel.

This module holds the over-current rule's draw and what an AC pile does for the cases that
every pile runs (the platform cases, declared on ``BenchView``); the parts are in
``vehicle``, ``pilot``, ``contactor`` and ``vehicle_faults``.
"""

from __future__ import annotations

import contextlib

from bench.analysis.offered_current import offered_current_band_a
from bench.analysis.pwm import offered_current_a
from bench.analysis.timing import last_time_above
from bench.api.ac.parts import AC_TRIGGER_V, AC_VOLTS_PER_DIV
from bench.api.ac.vehicle_faults import AcVehicleFaults
from bench.api.timings import (
    COMMAND_POLL_S,
    LEVEL_POLL_S,
    MEASUREMENT_SETTLE_S,
    PWM_FINE_POLL_S,
    PWM_POLL_S,
)

# The vehicle's draw while a platform case only needs the output on (below 6 A: never an
# over-current whatever the pile offers).
VEHICLE_IDLE_DRAW_A = 5.0
# The vehicle draws this fraction of the offered current when uploads are compared, so that
# the ±1 % of reading (not the floor) is the tolerance that counts.
LOADED_DRAW_FRACTION = 0.9
# How far past the over-current threshold the vehicle draws when the case injects one.
OVERLOAD_EXCESS_A = 1.0


class AcBench(AcVehicleFaults):
    """The AC pile bench."""

    def overload_current(self, allowed_a: float) -> float:
        """A draw just past the over-current rule for ``allowed_a`` (GB/T 18487.1 Annex A as
        the limits table gives it: allowed + margin up to the small-current bound, else a ratio)."""
        rule = self.limit("gbt18487.1:A:overcurrent_cut_time")
        if allowed_a <= rule.figure("small_allowed_a"):
            return allowed_a + rule.figure("margin_a") + OVERLOAD_EXCESS_A
        return allowed_a * rule.figure("ratio") + OVERLOAD_EXCESS_A

    output_level_unit = "A"

    def deliver(self) -> None:
        """The pile delivering energy: plugged in, session started, S2 closed, the vehicle
        drawing a little (below the table's 6 A minimum, so never an over-current)."""
        self.charge_drawing(VEHICLE_IDLE_DRAW_A)

    def output_level(self) -> float | None:
        """What the pile offers now: the current of its PWM duty (A), from the EV simulator's meter."""
        duty, frequency = self.pwm_meter()
        return offered_current_a(duty) if frequency > 0 else None

    def command_output_level(self, amps: float) -> float:
        """The platform's orderly-charging command for an AC pile: a current limit."""
        self.platform.set_current_limit(amps)
        return self.now()

    def output_level_band(self, target: float) -> float:
        """How close the offered current must come to call the command carried out: the duty
        tolerance of 4.2.9.1 in amps at that current (bench/analysis/offered_current.py)."""
        return offered_current_band_a(target, self.limit("changji:4.2.9.1:offered_duty_error").tolerance(target))

    def output_level_points(self) -> tuple[float, float]:
        """Two levels for command cases: the rated maximum and half of it."""
        top = self.dut.current_range_a[1]
        return top, max(self.dut.current_range_a[0], round(top / 2))

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

    # -- timed power change and metering (4.2.9.3, 4.4.3) ---------------------------------------
    def command_timed_output_level(self, unix_time: float, amps: float) -> float:
        """The timed power change carries watts: ``amps`` at the pile's nominal supply voltage
        on each of its phases (the pile offers the current that power makes there)."""
        self.platform.timed_power_change(unix_time, amps * self.dut.phases * self.dut.nominal_supply_v)
        return self.now()

    def time_level_change(self, before: float, target: float, until: float) -> tuple[float | None, float | None, float]:
        """The EV simulator's PWM meter, polled every PWM_FINE_POLL_S until the duty moves (the
        settling is left to the caller)."""

        waited = self.try_wait_until(
            lambda: self.moved_towards(self.output_level(), before, target),
            max(until - self.now(), 0.0),
            poll=PWM_FINE_POLL_S,
            what="the offered current to change",
        )
        return (None if waited is None else self.now()), None, PWM_FINE_POLL_S

    def metering_load(self, fraction: float) -> str:
        """The pile offering its maximum current, the vehicle drawing ``fraction`` of it."""
        top = self.dut.current_range_a[1]
        if not self.output_active():
            self.plug_in()
            self.start_session()
        self.offer_current(top)  # returns at once when the duty shows it already
        self.close_s2()
        amps = fraction * top
        self.draw(amps)
        self.try_wait_until(self.output_active, self.command_wait_s(), poll=PWM_POLL_S, what="the pile's output")
        self.wait(MEASUREMENT_SETTLE_S)
        return f"vehicle drawing {amps:g} A ({fraction:g} × the pile's {top:g} A)"
