"""The AC vehicle interface's wires that the EV simulator's relay outputs change (issue 13,
GB/T 18487.1-2015 Annex A, GB/T 34657.1-2017): faults on the CP and PE lines and the cable's
RC resistor, as the pile under test sees them at its detection points.

Lines (the profile's ``[instruments.ev.wiring]``; ``wires()`` maps each to its setter):

| line | the relay | closed |
|---|---|---|
| ``cp_pe_short`` | across CP–PE at the vehicle inlet | CP at 0 V (state E) |
| ``cp_open`` | coil of a normally-closed contact in the CP line | CP open: the pile sees +12 V |
| ``pe_break`` | coil of a normally-closed contact in the vehicle's PE | R3/R2 float: +12 V as CP open |
| ``rc_10a`` … ``rc_63a`` | switches its RC resistor in as the cable's RC (CC–PE) | that RC (none: 100 Ω) |

Open relays are the healthy vehicle and a 63 A cable, so the board's watchdog (which opens them)
leaves a sound interface. The resistors and the pile's reading of them are design figures of the
simulation, written apart from the limits table (a simulator and an analyser share no table).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from instruments.sim.plant.history import RecordedSettings, StateHistory

# The bench's RC bank (docs/limits.md §8c: the resistors of GB/T 18487.1-2015 Annex A, I).
RC_LINES_OHM = {"rc_10a": 1500.0, "rc_16a": 680.0, "rc_32a": 220.0, "rc_63a": 100.0}
REST_RC_OHM = 100.0
# How the simulated pile reads RC: the nominal resistor nearest on a log scale gives the cable's
# current; above NO_CABLE_OHM there is no cable (a design figure of the simulation).
CABLE_CURRENT_BY_RC = ((1500.0, 10.0), (680.0, 16.0), (220.0, 32.0), (100.0, 63.0))
NO_CABLE_OHM = 2700.0


def cable_capacity_a(rc_ohm: float) -> float:
    """The cable's rated current the pile reads from its RC (0: no cable seen)."""
    if rc_ohm > NO_CABLE_OHM:
        return 0.0
    return min(CABLE_CURRENT_BY_RC, key=lambda pair: abs(math.log(rc_ohm / pair[0])))[1]


class AcInterfaceWires(RecordedSettings):
    """The fault relays on the CP and PE lines and the RC bank."""

    _actor = "ev"

    def __init__(self, history: StateHistory, on_change: Callable[[str], None]):
        super().__init__(history, on_change)
        self.cp_shorted = False
        self.cp_opened = False
        self.pe_lost = False
        self.rc_selected: tuple[str, ...] = ()  # the RC relays closed (sorted: recorded in the history)

    def wires(self) -> dict[str, Callable[[bool], None]]:
        lines: dict[str, Callable[[bool], None]] = {
            "cp_pe_short": lambda closed: self._set("cp_shorted", "cp_pe_short", bool(closed)),
            "cp_open": lambda closed: self._set("cp_opened", "cp_open", bool(closed)),
            "pe_break": lambda closed: self._set("pe_lost", "pe_break", bool(closed)),
        }
        for line in RC_LINES_OHM:
            lines[line] = self._rc_setter(line)
        return lines

    def _rc_setter(self, line: str) -> Callable[[bool], None]:
        return lambda closed: self._select_rc(line, bool(closed))

    def _select_rc(self, line: str, closed: bool) -> None:
        selected = set(self.rc_selected) | {line} if closed else set(self.rc_selected) - {line}
        self._set("rc_selected", "rc_lines", tuple(sorted(selected)))

    @property
    def vehicle_unseen(self) -> bool:
        """The pile's generator drives no vehicle load: CP open or the vehicle's PE lost."""
        return self.cp_opened or self.pe_lost

    def rc_ohm(self) -> float:
        """The cable's RC as the pile measures it: the selected resistors in parallel."""
        if not self.rc_selected:
            return REST_RC_OHM
        return 1.0 / sum(1.0 / RC_LINES_OHM[line] for line in self.rc_selected)

    def cable_capacity_a(self) -> float:
        return cable_capacity_a(self.rc_ohm())
