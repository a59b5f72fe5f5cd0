"""The vehicle side of the connector as the EV simulator / relay board sets it (EvSimulatorPort).

One class for both kinds; the AC relays (plug, S2, diode short, load) and the DC relays
(CC2, K5/K6) each act only on the plant they belong to. The board's watchdog lives in its
front end (it opens S2 and K5/K6 through this port); ``heartbeat`` only keeps the count.

Load current: until the board sets one, the vehicle draws ``ev_draw_fraction`` of what the
duty allows (an automatic vehicle); ``set_load_current(amps)`` with amps ≥ 0 fixes it (0 =
vehicle load off), a negative value returns to the automatic vehicle.
"""

from __future__ import annotations

from collections.abc import Callable

from instruments.sim.plant.history import RecordedSettings, StateHistory


class EvSimulatorModel(RecordedSettings):
    _actor = "ev"

    def __init__(self, history: StateHistory, on_change: Callable[[str], None]):
        super().__init__(history, on_change)
        self.plugged = False
        self.s2 = False
        self.diode_shorted = False
        self.load_current: float | None = None  # None: automatic vehicle
        self.cc2_connected = False
        self.contactors = False  # K5/K6
        self.estop = False
        self.heartbeat_count: int | None = None

    # -- AC ------------------------------------------------------------------------------
    def set_plugged(self, plugged: bool) -> None:
        self._set("plugged", "plugged", bool(plugged))

    def set_s2(self, closed: bool) -> None:
        self._set("s2", "s2", bool(closed))

    def set_diode_fault(self, shorted: bool) -> None:
        self._set("diode_shorted", "diode_shorted", bool(shorted))

    def set_load_current(self, amps: float) -> None:
        self._set("load_current", "load_current_a", None if amps is None or amps < 0 else float(amps))

    # -- DC ------------------------------------------------------------------------------
    def set_cc2_connected(self, connected: bool) -> None:
        self._set("cc2_connected", "cc2", bool(connected))

    def set_vehicle_contactors(self, closed: bool) -> None:
        self._set("contactors", "k5k6", bool(closed))

    def set_estop(self, pressed: bool) -> None:
        self._set("estop", "estop", bool(pressed))

    def heartbeat(self, counter: int) -> None:
        self.heartbeat_count = int(counter)

    def state(self) -> dict:
        return {
            "plugged": self.plugged,
            "s2": self.s2,
            "diode_shorted": self.diode_shorted,
            "load_current_a": self.load_current,
            "cc2_connected": self.cc2_connected,
            "k5k6": self.contactors,
            "estop": self.estop,
            "heartbeat": self.heartbeat_count,
        }

    # -- what the vehicle side presents --------------------------------------------------
    @property
    def s2_closed(self) -> bool:
        """S2 counts only with the connector in."""
        return self.s2 and self.plugged
