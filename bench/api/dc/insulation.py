"""DC insulation on the bench (issue 13; GB/T 18487.1-2015 Annex B, GB/T 34657.1-2017 D0.2501):
resistors from DC+ to PE at the inlet, each switched in by a relay of the EV simulator, bring
the insulation resistance the charger's IMD measures to a level, in Ω per volt of the charger's
rated output voltage (the top of ``[dut] voltage_range_v``):

| level | lines closed | on the shipped DC profiles (750 V) |
|---|---|---|
| ``warning`` | ``insulation_warning`` | 337.5 kΩ, 450 Ω/V: a warning just below 500 Ω/V |
| ``low_warning`` | ``insulation_low`` | 82.5 kΩ, 110 Ω/V: a warning just above 100 Ω/V |
| ``fault`` | both | 66.3 kΩ, 88 Ω/V: a fault just below 100 Ω/V |

The resistors' values are the profile's (``[instruments.ev.options] insulation_ohm``: line →
ohms); a level whose lines are not all wired and given is not run (the case skips it). Where a
level's Ω/V falls is worked out from the rule's figures, so a case sees resistors sized for
another charger and does not judge with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.api.dc.vehicle_faults import DcVehicleFaults, VehicleFaultRun
from bench.api.timings import (
    FAULT_CHARGING_FRACTION,
    PHASE_POLL_S,
    QUIET_S,
    SESSION_START_TIMEOUT_S,
    WINDOW_FACTOR,
    record_window_s,
)
from bench.protocols.gbt27930.ids import CHARGER_ADDRESS

# level → the insulation lines closed for it (their resistors in parallel, DC+–PE)
LEVELS = {
    "warning": ("insulation_warning",),
    "low_warning": ("insulation_low",),
    "fault": ("insulation_warning", "insulation_low"),
}


@dataclass(frozen=True)
class InsulationLevel:
    name: str
    lines: tuple[str, ...]
    ohm: float
    ohm_per_v: float
    band: str  # where ohm_per_v falls by the rule's figures: "fault", "warning" or "safe"

    @property
    def what(self) -> str:
        return f"{self.ohm / 1000:.1f} kΩ DC+–PE ({self.ohm_per_v:.0f} Ω/V, an insulation {self.band} level)"


@dataclass(frozen=True)
class SessionStart:
    """How a session with the insulation resistors in went: charging began or not."""

    charged: bool  # CRO 0xAA seen, the BMS in its charging phase
    detail: str


class DcInsulation(DcVehicleFaults):
    """The insulation resistance at the inlet lowered by the bench, at the check and while charging."""

    def insulation_level(self, name: str, key: str) -> InsulationLevel | None:
        """The level ``name`` of LEVELS as the profile fits it, placed by the figures of the rule
        ``key`` (``fault_ohm_per_v``, ``warning_ohm_per_v``); None when it is not wired."""
        lines = LEVELS[name]
        ohms = self.ev.config.options.get("insulation_ohm", {})
        if not all(self.ev.has_line(line) and line in ohms for line in lines):
            return None
        ohm = 1.0 / sum(1.0 / float(ohms[line]) for line in lines)
        per_volt = ohm / self.dut.voltage_range_v[1]
        rule = self.limit(key)
        band = (
            "fault"
            if per_volt <= rule.figure("fault_ohm_per_v")
            else "warning"
            if per_volt <= rule.figure("warning_ohm_per_v")
            else "safe"
        )
        return InsulationLevel(name, lines, ohm, per_volt, band)

    def apply_insulation(self, level: InsulationLevel) -> float:
        """Switch the level's resistors in (out again when the test ends); the bench time."""
        for line in level.lines:
            self._at_end(self._opener(line))
        for line in level.lines:
            self.ev.set_line(line, True)
        return self.now()

    def _opener(self, line: str) -> Callable[[], None]:
        return lambda: self.ev.set_line(line, False)

    def session_start(self) -> SessionStart:
        """A session started as a car would (battery at its rated voltage, K5/K6 closed once
        configuration begins): until the BMS charges, or the charger goes quiet (no frame for
        QUIET_S: it gave up), or SESSION_START_TIMEOUT_S."""
        self.plug_in_asking(self.dut.current_range_a[1] * FAULT_CHARGING_FRACTION)
        self.close_k5_k6_at_configuration()
        since = self.now()
        self.platform.start()

        def settled() -> bool:
            last = self.frames.last_time_from(CHARGER_ADDRESS)
            quiet = last is not None and last >= since and self.now() - last >= QUIET_S
            return self.bms.phase == "charging" or quiet

        self.try_wait_until(settled, SESSION_START_TIMEOUT_S, poll=PHASE_POLL_S, what="charging, or a quiet charger")
        ready = self.ready_cro(since)
        charged = ready is not None and self.bms.phase == "charging"
        detail = (
            f"CRO 0xAA at {ready.time - since:.2f} s, the BMS in its charging phase"
            if charged and ready is not None
            else f"no charging (BMS phase {self.bms.phase}; CRO 0xAA {'seen' if ready else 'never sent'})"
        )
        return SessionStart(charged, detail)

    def still_charging(self, seconds: float, end_a: float) -> tuple[bool, str]:
        """After ``seconds`` more: the BMS still in its charging phase and the output above
        ``end_a``."""
        self.wait(seconds)
        amps = self.output_current()
        going = self.bms.phase == "charging" and abs(amps) > end_a
        return going, f"{seconds:g} s later: {amps:.1f} A, BMS phase {self.bms.phase}"

    def insulation_fault_while_charging(self, level: InsulationLevel, key: str) -> VehicleFaultRun:
        """While charging (already), the rest of ``level``'s resistors switched in during a record
        of the output current reaching WINDOW_FACTOR × the rule ``key``'s time past the relays."""
        rule = self.limit(key)
        amps = self.output_current()
        with self.step(f"{level.what} during a record of the output current"):
            record, applied_at = self.record_during(
                "output current at an insulation fault while charging",
                ("output_current",),
                record_window_s(WINDOW_FACTOR * rule.upper),
                lambda: self.apply_insulation(level),
            )
        timed_from = "the bench's command to the insulation relays"
        return VehicleFaultRun("insulation", level.what, amps, applied_at, record, applied_at, None, timed_from)
