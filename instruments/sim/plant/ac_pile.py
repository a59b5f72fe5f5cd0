"""The simulated AC pile (GB/T 18487.1 Annex A; docs/limits.md §2) with its vehicle side and grid.

Behaviour, all on the bench clock and event-driven (recomputed on every change of an input):

* CP generator ±``cp_high_v`` through R1 against the vehicle's diode and resistors
  (cp.py); state 1 (unplugged) is +E DC; unpowered is 0 V.
* A charging *session* is opened by a platform start, a timed start, the platform's wake
  command (only if ``wakes_vehicle``), or — on a sleeping pile (connected, no PWM) — by S2
  closing (only if ``wakes_on_s2``). With a session and the connector in, the pile sends
  PWM at ``pwm_frequency_hz`` with the duty of its current limit (exact inverse of the
  table, + ``pwm_duty_offset_pct``, rounded to ``pwm_duty_resolution_pct``), edges of
  ``cp_edge_s`` (10–90 %). A platform stop or unplugging ends the session (PWM off).
* Contactor: closes ``contactor_close_delay_s`` after PWM and S2 are both there (counted
  from S2 closing when S2 woke the pile), opens ``contactor_open_delay_s`` after S2 opens
  or the session ends; at once on a protection trip or loss of supply.
* Vehicle load: drawn only with the contactor closed and S2 closed (ev.py).
* Over-current (cp.overcurrent) for longer than ``overcurrent_trip_s`` → contactor opens,
  protection event, latched until the session ends or restarts; ``ignores_overcurrent``
  never trips.
* Supply outside 0.85–1.15 × nominal for ``supply_fault_stop_s`` → PWM off, contactor open,
  protection event, until the supply is back in band; ``ignores_supply_fault`` keeps going.
* A shorted CP diode or a pressed E-stop while connected is an anomaly: contactor open and
  an event (the E-stop also stops PWM) until it is cleared.
* Vehicle-interface faults (issue 13; the EV simulator's relays, ``ac_interface.py``): CP shorted
  to PE (state E, 0 V) is an anomaly like the diode short; CP opened or the vehicle's PE lost
  (the pile sees +12 V, state 1) ends the session as unplugging does. Both CP faults and the
  diode short open the contactor ``contactor_open_delay_s`` after the fault, as S2 opening
  does. ``ignores_cp_fault``: while its contactor is closed the pile keeps supplying through
  all of them (it still reports the anomalies). The cable's RC caps the current offered
  (min of the pile's rating, the platform's limit and the cable's rating) unless
  ``ignores_cable_rating``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from bench.core.profile import Dut
from instruments.sim.plant import cp
from instruments.sim.plant.ac_interface import AcInterfaceWires
from instruments.sim.plant.base import PlantBase
from instruments.sim.plant.ev import EvSimulatorModel
from instruments.sim.plant.grid import Grid, SupplyMonitor
from instruments.sim.plant.history import changed
from instruments.sim.plant.platform import ANOMALY, PROTECTION, START, STOP, PilePlatformPort
from instruments.sim.plant.signals import Const, Pwm, Shape

# Time a sleeping pile takes to notice S2 closing (CP 9 V → 6 V) and start PWM: a design
# figure of this simulation; the contactor delay still counts from S2 closing.
WAKE_DETECT_S = 0.05
# A linear edge's 10–90 % time is 0.8 of its full duration.
EDGE_10_90_FRACTION = 0.8
# The faults the pile sees on the CP (issue 13): they open the contactor after the same delay as
# S2 opening (``contactor_open_delay_s``), and ``ignores_cp_fault`` keeps supplying through them.
CP_FAULTS = {"diode": "CP diode short (negative level missing)", "cp_short": "CP shorted to PE (state E)"}


class AcPilePlant(PlantBase):
    kind = "ac"
    actor = "pile"

    def __init__(self, clock, dut: Dut, sim: Mapping | None = None, rng: np.random.Generator | None = None):
        super().__init__(clock, dut, sim, rng)
        s = self.sim
        self._source_v = float(s["cp_high_v"])
        self._source_r_ohm = float(s["cp_source_resistance_ohm"])
        self._pwm_hz = float(s["pwm_frequency_hz"])
        self._edge_ramp_s = float(s["cp_edge_s"]) / EDGE_10_90_FRACTION
        phase = float(self.rng.uniform(0.0, 1.0 / dut.supply_frequency_hz))
        self.grid = Grid(clock, self.history, dut.nominal_supply_v, dut.supply_frequency_hz, phase, self._update)
        self.ev = EvSimulatorModel(self.history, self._vehicle_changed)
        self.interface = AcInterfaceWires(self.history, self._vehicle_changed)
        self.platform = PilePlatformPort(clock, s, self.history, self)
        self._supply = SupplyMonitor(clock, s, self.grid, self.history, self.actor, self._supply_tripped)
        # state
        self._session = False
        self._pwm = False
        self._pwm_since: float | None = None
        self._pwm_reference: float | None = None  # set when S2 woke the pile
        self._pwm_t_ref = 0.0
        self._duty: float | None = None
        self._s2_since: float | None = None
        self._contactor = False
        self._contactor_timer = None  # (kind "close"/"open", Timer)
        self._fault: str | None = None  # "overcurrent" | "estop" | a CP_FAULTS key
        self._platform_limit_a: float | None = None
        self._overcurrent_timer = None
        self._draw_a = 0.0
        self._state = ""
        self._cp = self._new_signal("cp", "V", Const(0.0))
        self._ac_voltage = self._new_signal("ac_voltage", "V", Const(0.0))
        self._ac_current = self._new_signal("ac_current", "A", Const(0.0))
        self._supply_voltage = self._new_signal("supply_voltage", "V", Const(0.0))
        self._supply_current = self._new_signal("supply_current", "A", Const(0.0))
        self._update()

    # -- PlatformTarget ----------------------------------------------------------------------
    def platform_start(self) -> None:
        self._open_session("platform")

    def platform_stop(self) -> None:
        if changed(self.history, self.actor, "session", self._session, False):
            self._session = False
        self._clear_fault("overcurrent")
        self._update()

    def platform_wake(self) -> None:
        if not self.sim["wakes_vehicle"]:
            self.history.record(self.actor, "wake_ignored", "platform")
            return
        self._open_session("wake")

    def apply_power_limit(self, watts: float) -> None:
        self.apply_current_limit(watts / (self.dut.phases * self.dut.nominal_supply_v))

    def apply_current_limit(self, amps: float) -> None:
        if changed(self.history, self.actor, "platform_limit_a", self._platform_limit_a, float(amps)):
            self._platform_limit_a = float(amps)
            self._update()

    def measurement(self) -> dict:
        volts = self.grid.rms() if self._contactor else 0.0
        amps = self._draw_a
        return {
            "voltage_v": volts,
            "current_a": amps,
            "power_w": self.dut.phases * volts * amps,
            "state": self._state,
            "energy_kwh": self.energy_kwh(),
        }

    def state_name(self) -> str:
        return self._state

    def learnt_bms_info(self) -> dict:
        return {}

    def battery_status_at(self, bench_time: float) -> dict[str, float]:
        return {}  # an AC pile has no BMS to hear from

    # -- what the pile offers ----------------------------------------------------------------
    def current_limit_a(self) -> float:
        """The current the pile offers now: min(its rating, the platform's limit, the cable's
        rating from its RC), kept inside the duty table (6–63 A)."""
        limit = self.dut.current_range_a[1]
        if self._platform_limit_a is not None:
            limit = min(limit, self._platform_limit_a)
        if not self.sim["ignores_cable_rating"]:
            limit = min(limit, self.interface.cable_capacity_a())
        return min(max(limit, self.dut.current_range_a[0], cp.MIN_CURRENT_A), cp.MAX_CURRENT_A)

    def duty_pct(self) -> float:
        """The duty the generator produces for the present limit (also while PWM is off)."""
        duty = cp.duty_for_current(self.current_limit_a()) + float(self.sim["pwm_duty_offset_pct"])
        return min(max(cp.quantise(duty, float(self.sim["pwm_duty_resolution_pct"])), 0.0), 100.0)

    @property
    def contactor_closed(self) -> bool:
        return self._contactor

    @property
    def pwm_on(self) -> bool:
        return self._pwm

    @property
    def state(self) -> str:
        return self._state

    def wires(self) -> dict:
        """The lines the EV simulator's relay outputs drive (``[instruments.ev.wiring]``)."""
        return self.interface.wires()

    # -- inputs ------------------------------------------------------------------------------
    def _open_session(self, why: str) -> None:
        self._clear_fault("overcurrent")
        if changed(self.history, self.actor, "session", self._session, True):
            self._session = True
            self.history.record(self.actor, "session_opened_by", why)
        self._update()

    def _vehicle_changed(self, what: str) -> None:
        now = self.clock.now()
        if what in ("plugged", "cp_open", "pe_break") and not self._vehicle_seen():  # unplugged, or looks so
            if changed(self.history, self.actor, "session", self._session, False):
                self._session = False
            self._clear_fault("overcurrent")
        if what in ("s2", "plugged"):
            closed = self.ev.s2_closed
            if closed and self._s2_since is None:
                self._s2_since = now
                self._s2_closed_while_asleep()
            elif not closed:
                self._s2_since = None
        self._update()

    def _s2_closed_while_asleep(self) -> None:
        if self._session or not self.grid.powered() or self._supply.tripped:
            return
        if not self.sim["wakes_on_s2"]:
            self.history.record(self.actor, "wake_ignored", "s2")
            return
        closed_at = self._s2_since

        def wake():
            if self.ev.s2_closed and not self._session and self._s2_since == closed_at:
                self._pwm_reference = closed_at  # the contactor delay counts from S2 closing
                self._open_session("s2")

        self.clock.call_later(WAKE_DETECT_S, wake)

    def _supply_tripped(self) -> None:
        self.platform.report(
            PROTECTION, f"supply voltage {self.grid.voltage:g} V outside 0.85–1.15 × {self.grid.nominal_v:g} V"
        )
        self._update()

    def _clear_fault(self, kind: str) -> None:
        if self._fault == kind:
            self._fault = None
            self.history.record(self.actor, "fault", None)

    def _set_fault(self, kind: str, event: str, detail: str) -> None:
        self._fault = kind
        self.history.record(self.actor, "fault", kind)
        self.platform.report(event, detail)

    def _vehicle_seen(self) -> bool:
        """The pile's detection point 1 shows a vehicle: plugged in, and neither the CP line
        nor the vehicle's PE open (a pile that ignores CP faults holds on while it supplies)."""
        if not self.ev.plugged:
            return False
        return not self.interface.vehicle_unseen or self._holds_through_cp_fault()

    def _holds_through_cp_fault(self) -> bool:
        return bool(self.sim["ignores_cp_fault"]) and self._contactor

    def _cp_fault_now(self) -> str | None:
        """The CP fault the pile sees now (a CP_FAULTS key), if any."""
        if not self._vehicle_seen():
            return None
        if self.interface.cp_shorted:
            return "cp_short"
        if self._pwm and self.ev.diode_shorted:
            return "diode"
        return None

    def _update_cp_fault(self) -> None:
        seen = self._cp_fault_now()
        if self._fault in CP_FAULTS and self._fault != seen:
            self._clear_fault(self._fault)
        if self._fault is None and seen is not None:
            self._set_fault(seen, ANOMALY, CP_FAULTS[seen])

    # -- the pile's logic --------------------------------------------------------------------
    def _update(self) -> None:
        self._supply.update()
        powered = self.grid.powered()
        if not powered and self._session:
            self._session = False
            self.history.record(self.actor, "session", False)
        connected = self._vehicle_seen() and powered
        if self.ev.estop and connected and self._fault != "estop":
            self._set_fault("estop", ANOMALY, "emergency stop")
        elif self._fault == "estop" and not self.ev.estop:
            self._clear_fault("estop")
        pwm = connected and self._session and not self._supply.tripped and self._fault != "estop"
        self._set_pwm(pwm)
        self._update_cp_fault()
        self._drive_contactor(powered)
        self._update_draw()
        self._refresh_signals()

    def _set_pwm(self, on: bool) -> None:
        now = self.clock.now()
        if changed(self.history, self.actor, "pwm", self._pwm, on):
            self._pwm = on
            if on:
                self._pwm_since = now if self._pwm_reference is None else self._pwm_reference
                # Start on the high plateau so that 9 V DC → PWM has no step.
                self._pwm_t_ref = now - self._edge_ramp_s / 2
            else:
                self._pwm_since = None
        self._pwm_reference = None
        duty = self.duty_pct() if on else None
        if on:
            changed(self.history, self.actor, "duty_pct", self._duty, duty)
        self._duty = duty

    def _drive_contactor(self, powered: bool) -> None:
        cp_fault = self._fault in CP_FAULTS
        fault_stops = self._fault is not None and not (cp_fault and self._holds_through_cp_fault())
        allowed = self._pwm and self.ev.s2_closed and not fault_stops and not self._supply.tripped
        pending = self._contactor_timer[0] if self._contactor_timer else None
        if allowed and not self._contactor and pending != "close":
            self._cancel_contactor_timer()
            ref = max(self._s2_since, self._pwm_since)
            when = max(ref + float(self.sim["contactor_close_delay_s"]), self.clock.now())
            self._contactor_timer = ("close", self.clock.call_at(when, self._contactor_timeout, True))
        elif not allowed and self._contactor:
            if not powered or (fault_stops and not cp_fault) or self._supply.tripped:
                self._cancel_contactor_timer()
                self._move_contactor(False)
            elif pending != "open":
                self._cancel_contactor_timer()
                delay = float(self.sim["contactor_open_delay_s"])
                self._contactor_timer = ("open", self.clock.call_later(delay, self._contactor_timeout, False))
        elif (allowed and self._contactor) or (not allowed and not self._contactor):
            self._cancel_contactor_timer()

    def _cancel_contactor_timer(self) -> None:
        if self._contactor_timer is not None:
            self._contactor_timer[1].cancel()
            self._contactor_timer = None

    def _contactor_timeout(self, close: bool) -> None:
        self._contactor_timer = None
        self._move_contactor(close)
        self._update()

    def _move_contactor(self, close: bool) -> None:
        if changed(self.history, self.actor, "contactor", self._contactor, close):
            self._contactor = close
            if close:
                self.platform.report(START, "AC supply on")
            else:
                self.platform.report(STOP, self._fault or ("supply fault" if self._supply.tripped else "normal"))

    def _update_draw(self) -> None:
        draw = 0.0
        if self._contactor and self.ev.s2_closed and self.grid.powered():
            if self.ev.load_current is not None:
                draw = self.ev.load_current
            else:
                draw = float(self.sim["ev_draw_fraction"]) * cp.current_read_by_vehicle(self._duty or 0.0)
        self._draw_a = draw
        over = self._contactor and cp.overcurrent(
            draw, self.current_limit_a(), self.sim["overcurrent_margin_a"], self.sim["overcurrent_ratio"]
        )
        if over and self.sim["ignores_overcurrent"]:
            if self.history.last_value(self.actor, "overcurrent_ignored") != draw:
                self.history.record(self.actor, "overcurrent_ignored", draw)
        elif over and self._overcurrent_timer is None:
            self._overcurrent_timer = self.clock.call_later(
                float(self.sim["overcurrent_trip_s"]), self._overcurrent_trip
            )
        elif not over and self._overcurrent_timer is not None:
            self._overcurrent_timer.cancel()
            self._overcurrent_timer = None

    def _overcurrent_trip(self) -> None:
        self._overcurrent_timer = None
        self._set_fault(
            "overcurrent",
            PROTECTION,
            f"over-current: {self._draw_a:.1f} A drawn, {self.current_limit_a():.1f} A allowed",
        )
        self._update()

    # -- signals -------------------------------------------------------------------------------
    def _cp_shape(self) -> Shape:
        if not self.grid.powered():
            return Const(0.0)
        if self.ev.plugged and self.interface.cp_shorted:
            return Const(0.0)  # state E: CP shorted to PE at the vehicle inlet
        duty = (self._duty or 0.0) / 100.0  # set whenever the PWM is on
        if not self.ev.plugged or self.interface.vehicle_unseen:  # state 1: open circuit
            if not self._pwm:
                return Const(self._source_v)
            return Pwm(self._source_v, -self._source_v, self._pwm_hz, duty, self._edge_ramp_s, self._pwm_t_ref)
        s2, shorted = self.ev.s2_closed, self.ev.diode_shorted
        high = cp.positive_level(self._source_v, s2, shorted, self._source_r_ohm)
        if not self._pwm:
            return Const(high)
        low = cp.negative_level(self._source_v, s2, shorted, self._source_r_ohm)
        return Pwm(high, low, self._pwm_hz, duty, self._edge_ramp_s, self._pwm_t_ref)

    def _refresh_signals(self) -> None:
        grid = self.grid
        supply = grid.rms()
        self._cp.set(self._cp_shape())
        self._supply_voltage.set(grid.sine(supply))
        self._ac_voltage.set(grid.sine(supply) if self._contactor else Const(0.0))
        self._ac_current.set(grid.sine(self._draw_a))
        self._supply_current.set(grid.sine(self._draw_a))
        volts = supply if self._contactor else 0.0
        self._set_power(self.dut.phases * volts * self._draw_a)
        self._set_state()

    def _set_state(self) -> None:
        if not self.grid.powered():
            state = "unpowered"
        elif self._fault is not None or self._supply.tripped:
            state = "fault"
        elif not self.ev.plugged:
            state = "idle"
        elif self._contactor:
            state = "charging"
        elif self._pwm:
            state = "ready"
        else:
            state = "connected"
        if changed(self.history, self.actor, "state", self._state, state):
            self._state = state
