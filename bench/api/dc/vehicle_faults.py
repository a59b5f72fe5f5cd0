"""Vehicle-side faults on the DC bench (issue 13, GB/T 18487.1-2015 Annex B, GB/T 34657.1-2017):
while the charger charges, a relay of the EV simulator puts one fault on the vehicle interface
during a scope record of CC1 (detection point 1, as the vehicle inlet sees it) and the output
current, and the charger's stop is timed from the fault to the output current of a stopped
charger.

The faults and the relay output each needs (the profile's ``[instruments.ev.wiring]``):

| fault | line | what the relay does |
|---|---|---|
| ``cc1_band`` | ``cc1_fault`` | the bench's resistor across CC1–PE (vehicle side): detection point 1 below 3.2 V |
| ``cc1_open`` | ``cc1`` | opens the CC1 line: detection point 1 at 12 V |
| ``pe_loss`` | ``pe_break`` | opens the vehicle's PE conductor at the inlet: R4 floats, detection point 1 at 6 V |
| ``estop`` | (the board's own E-stop relay) | opens the pile's emergency-stop loop |

The CC1 faults are timed from the record's CC1 leaving the connected band (the limit's figures);
the E-stop, which shows on no wire the bench records, from the bench time the relay was told.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.analysis.timing import first_time_outside
from bench.api.dc.charging import DcCharging
from bench.api.scope import Record
from bench.api.timings import FAULT_CHARGING_FRACTION, WINDOW_FACTOR, record_window_s
from bench.core.errors import BenchError

# fault → (the wiring line its relay drives, closed to apply it?, what it is)
FAULT_LINES = {
    "cc1_band": ("cc1_fault", True, "CC1 below its band (resistor across CC1–PE)"),
    "cc1_open": ("cc1", False, "CC1 line opened"),
    "pe_loss": ("pe_break", True, "PE lost at the vehicle inlet"),
}
ESTOP = "estop"


@dataclass
class VehicleFaultRun:
    """One fault applied while charging, in bench times."""

    fault: str
    what: str
    charging_a: float
    applied_at: float  # the bench told the relay
    record: Record
    fault_at: float | None  # the fault itself: CC1 out of its band on the record (E-stop: applied_at)
    cc1_after_v: float | None  # CC1 on the record at its end (None without CC1 on the scope)
    timed_from: str  # what fault_at is


class DcVehicleFaults(DcCharging):
    """Faults on the vehicle interface while charging, and the charger's stop."""

    def vehicle_fault_wired(self, fault: str) -> bool:
        """The profile wires the relay ``fault`` needs (the E-stop relay is the board's own)."""
        if fault == ESTOP:
            return True
        return self.ev.has_line(self._fault_line(fault)[0])

    def cc1_recorded(self) -> bool:
        """The scope sees CC1 (``[instruments.scope] channels`` has ``cc1``)."""
        return "cc1" in self.session.instrument("scope").config.channels

    def vehicle_fault_while_charging(self, fault: str, key: str) -> VehicleFaultRun:
        """Charge steadily at a third of the maximum current, then apply ``fault`` during a
        record reaching WINDOW_FACTOR × the rule ``key``'s time past it. The fault is undone when
        the test ends (after the safe state)."""
        rule = self.limit(key)
        amps = self.charge_steadily(round(self.dut.current_range_a[1] * FAULT_CHARGING_FRACTION))
        signals = ("cc1", "output_current") if self.cc1_recorded() and fault != ESTOP else ("output_current",)
        if fault == ESTOP:
            what, apply = "emergency stop (the pile's E-stop loop opened)", self.press_emergency_stop
        else:
            line, closed, what = self._fault_line(fault)
            self._at_end(lambda: self.ev.set_line(line, not closed))
            apply = lambda: self.ev.set_line(line, closed)  # noqa: E731

        with self.step(f"{what} during a record of the output current"):
            record, applied_at = self.record_during(
                f"output current at a vehicle-side fault ({fault})",
                signals,
                record_window_s(WINDOW_FACTOR * rule.upper),
                apply,
            )
        fault_at: float | None = applied_at
        cc1_after: float | None = None
        timed_from = "the bench's command to the relay"
        if "cc1" in signals:
            low, high = rule.figure("band_low_v"), rule.figure("band_high_v")
            volts = record.volts("cc1")
            cc1_after = float(volts[-1]) if len(volts) else None
            fault_at = first_time_outside(record.bench_times("cc1"), volts, low, high, after=applied_at)
            timed_from = f"CC1 leaving {low:g}–{high:g} V (scope)"
        return VehicleFaultRun(fault, what, amps, applied_at, record, fault_at, cc1_after, timed_from)

    def judge_fault_stop(self, key: str, run: VehicleFaultRun) -> None:
        """The check of ``key``: from ``run.fault_at`` to the output current at the rule's
        ``end_current_a`` (a lower bound when it never gets there); invalid without a fault to
        time from."""
        at = {"charging_a": round(run.charging_a, 1), "fault": run.what}
        if run.fault_at is None:
            seen = "" if run.cc1_after_v is None else f" (CC1 {run.cc1_after_v:.2f} V at the end of the record)"
            self.check(key, None, at=at, detail=f"CC1 never left its band after the relay{seen}: no fault to time")
            return
        self.check_current_off(key, run.record, run.fault_at, at=at, timed_from=run.timed_from, fault=run.what)

    def _fault_line(self, fault: str) -> tuple[str, bool, str]:
        try:
            return FAULT_LINES[fault]
        except KeyError:
            raise BenchError(f"vehicle-side fault {fault!r}: one of {', '.join([*FAULT_LINES, ESTOP])}") from None
