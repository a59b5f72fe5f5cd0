"""Vehicle-side faults on the AC bench (issue 13, GB/T 18487.1-2015 Annex A, GB/T 34657.1-2017):
while the pile supplies, the EV simulator puts one fault on the vehicle interface during a scope
record of the CP and the pile's output, and the pile's reaction is timed from the bench's command
to the relay to the end of the output; and the cable's RC resistor, chosen by a relay of the RC
bank, caps the current the pile may offer.

The faults and the relay each needs (the profile's ``[instruments.ev.wiring]``):

| fault | line | what the relay does |
|---|---|---|
| ``cp_pe_short`` | ``cp_pe_short`` | shorts CP to PE at the vehicle inlet: detection point 1 at 0 V (state E) |
| ``cp_open`` | ``cp_open`` | opens the CP line: the pile sees +12 V (state 1) |
| ``pe_open`` | ``pe_break`` | opens the vehicle's PE: R3/R2 float, the pile sees +12 V as with CP open |
| ``diode_short`` | (the board's own diode-short relay) | shorts the vehicle's CP diode: the −12 V level is gone |
| a cable of ``I`` A | ``rc_<I>a`` | switches in the RC resistor of that rating (CC–PE) |

Each fault is undone once its record is taken (and again when the test ends), so that the safe
state meets a sound interface: a pile that ignores the fault then still opens on S2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.api.ac.contactor import AcContactor
from bench.api.ac.parts import AC_VOLTS_PER_DIV, CP_VOLTS_PER_DIV
from bench.api.ac.pilot import AcPilot
from bench.api.scope import DIVISIONS, Record, Trigger, save_record
from bench.api.timings import (
    FAULT_CHARGING_FRACTION,
    PWM_POLL_S,
    PWM_SETTLED_HOLD_S,
    RECORD_ACTION_MARGIN_S,
    RECORD_PRE_TRIGGER,
    WINDOW_FACTOR,
    capture_timeout_s,
    record_window_s,
)
from bench.core.errors import BenchError

# fault → (the wiring line its relay drives, what it is); the diode short is the board's own relay
FAULT_LINES = {
    "cp_pe_short": ("cp_pe_short", "CP shorted to PE at the vehicle inlet (state E)"),
    "cp_open": ("cp_open", "CP line opened (the pile sees +12 V, state 1)"),
    "pe_open": ("pe_break", "the vehicle's PE opened (the pile sees +12 V, state 1)"),
}
DIODE_SHORT = "diode_short"
# A fault record is forced at the bench's instant (so that it lies on the bench clock): its trigger
# is set where no signal of the record goes (above the output's peak, near the top of its screen:
# ±4 divisions), since the CP's edges would otherwise trigger it before the fault.
UNREACHED_TRIGGER = Trigger("ac_voltage", 3.8 * AC_VOLTS_PER_DIV, "rising")


def cable_line(amps: float) -> str:
    """The RC-bank line that makes a cable of ``amps`` (``rc_16a``)."""
    return f"rc_{amps:g}a"


@dataclass
class SupplyCut:
    """One fault applied while the pile supplies, in bench times."""

    fault: str
    what: str
    drawing_a: float
    supplying: bool  # the output was on when the relay was told
    applied_at: float  # the bench told the relay
    off_at: float | None  # the end of the output on the record; None: still on at its end
    resolution_s: float  # of off_at (half a mains cycle)
    watched_s: float  # from applied_at to the end of the record
    record: Record


class AcVehicleFaults(AcPilot, AcContactor):
    """Faults on the vehicle interface while charging, the cable's rating, and the pile's reaction."""

    def charge_drawing(self, amps: float) -> None:
        """The pile delivering energy: plugged in, session started, S2 closed, the vehicle
        drawing ``amps`` (rms) once the supply is on."""
        self.plug_in()
        self.start_session()
        self.close_s2()
        self.draw(amps)
        self.try_wait_until(
            self.output_active, self.command_wait_s(), poll=PWM_POLL_S, what="the pile's output to come on"
        )

    def charging_fault_current_a(self) -> float:
        """What the vehicle draws while a fault is applied: FAULT_CHARGING_FRACTION of the pile's
        maximum current (a real charge, far below any over-current)."""
        return round(self.dut.current_range_a[1] * FAULT_CHARGING_FRACTION, 1)

    def vehicle_fault_wired(self, fault: str) -> bool:
        """The profile wires the relay ``fault`` needs (the diode short is the board's own)."""
        return fault == DIODE_SHORT or self.ev.has_line(self._fault_line(fault)[0])

    def supply_cut_by_fault(self, fault: str, key: str) -> SupplyCut:
        """Charge (charging_fault_current_a), then apply ``fault`` during a forced record that
        reaches WINDOW_FACTOR × the rule ``key``'s time past it."""
        amps = self.charging_fault_current_a()
        self.charge_drawing(amps)
        what, set_fault = self._fault_switch(fault)
        self._at_end(lambda: set_fault(False))
        supplying = self.output_active()
        window = record_window_s(WINDOW_FACTOR * self.limit(key).upper + RECORD_ACTION_MARGIN_S)
        when: list[float] = []

        def apply() -> None:
            when.append(self.now())
            set_fault(True)

        with self.step(f"{what} during a record of the CP and the output"):
            record = self.scope.capture(
                {"cp": CP_VOLTS_PER_DIV, "ac_voltage": AC_VOLTS_PER_DIV},
                seconds_per_div=window / DIVISIONS,
                trigger=UNREACHED_TRIGGER,
                pre_trigger=RECORD_PRE_TRIGGER,
                timeout_s=capture_timeout_s(window),
                force_after_s=window * RECORD_PRE_TRIGGER,
                actions=[(window * RECORD_PRE_TRIGGER + RECORD_ACTION_MARGIN_S, apply)],
            )
            set_fault(False)
        save_record(self, f"{what} and the pile's output", record)
        applied_at = when[0] if when else float("nan")
        off_at, resolution = self.output_stopped_at(record, "ac_voltage", applied_at)
        end = float(record.bench_times("ac_voltage")[-1])
        return SupplyCut(fault, what, amps, supplying, applied_at, off_at, resolution, end - applied_at, record)

    # -- the cable's rating (RC) -------------------------------------------------------------------
    def cable_wired(self, amps: float) -> bool:
        return self.ev.has_line(cable_line(amps))

    def offered_duty_with_cable(self, amps: float) -> float | None:
        """With the RC of a cable of ``amps`` in the plug, the PWM duty (%) the pile offers once its
        session runs; None when it shows no PWM. The platform first asks for the pile's full
        rating, so that only the cable can hold the offer down (an earlier case's lower limit
        would otherwise pass any cable)."""
        self.platform.set_current_limit(self.dut.current_range_a[1])
        line = cable_line(amps)
        self.ev.set_line(line, True)
        self._at_end(lambda: self.ev.set_line(line, False))
        self.plug_in()
        self.start_session()
        self.wait(PWM_SETTLED_HOLD_S)  # the EV simulator's meter over the settled PWM
        duty, frequency = self.pwm_meter()
        return duty if frequency > 0 else None

    # -- the relays --------------------------------------------------------------------------------
    def _fault_switch(self, fault: str) -> tuple[str, Callable[[bool], None]]:
        if fault == DIODE_SHORT:
            return "CP diode shorted (the −12 V level gone)", self.ev.set_diode_fault
        line, what = self._fault_line(fault)
        return what, lambda on: self.ev.set_line(line, on)

    def _fault_line(self, fault: str) -> tuple[str, str]:
        try:
            return FAULT_LINES[fault]
        except KeyError:
            raise BenchError(f"vehicle-side fault {fault!r}: one of {', '.join([*FAULT_LINES, DIODE_SHORT])}") from None
