"""The simulated DC charger (docs/limits.md §3–§5, GB/T 18487.1 Annex B as needed), with
its vehicle side (EV simulator, battery simulator behind K5/K6, electronic load across the
inlet) and grid.

The GB/T 27930 state machine (bench/protocols/gbt27930/charger.py) drives it through the
ChargerHooks it implements; the platform channel and the bench's instruments drive it
through the ports. Everything is event-driven on the bench clock: every change of an
input re-solves the operating point (dc_operating_point.py) and writes new analytic
segments for the inlet voltage and the output current from their present values:

* current-regulated ("cc") or power-limited ("cp"): the current moves toward its target as
  a first-order lag (``power_stage_tau_s``) with a slew limit (``current_slew_a_per_s``),
  the voltage follows the vehicle side's characteristic (battery: V = Vb + I·R);
* voltage-regulated ("cv"): the voltage moves with the first-order lag, the current is what
  the vehicle side takes at that voltage (load in CC: its set current);
* normal stop: the current ramps to 0 at the slew limit; fault stop: it keeps going for
  ``cst_current_delay_s``, then is cut (time constant ``FAULT_CUT_TAU_S``);
* K1/K2 open: no output current; the inlet is what the vehicle side holds, or — when
  nothing holds it — it is discharged: by a sink, by the bleed-off circuit (below 60 V
  exactly ``bleed_off_s`` after the discharge starts), or slowly by leakage.

Errors: ``voltage_error_pct`` / ``current_error_pct`` shift the regulated quantity; when the
power limit binds the power is ``P_limit × (1 + power_gain_error_pct)``.

Listeners (``add_listener``) get: "start" / "stop" (platform commands, after the response
delay), "supply_fault", "estop", "disconnected" (CC1 left 3.2–4.8 V during a session),
"short_circuit" (the output short's protection tripped), "power_lost", "power_restored", and
"communication_restart" (the plant's own wake-up sequence is done, if
``wake_restarts_communication``). The plant stops its own output on a platform stop, supply
fault, E-stop, disconnection and output short; the protocol state machine sends the frames.
A GB/T 27930 timeout the state machine sees is recorded and uploaded as a communication fault
(``communication_fault``); with ``ignores_can_loss`` the state machine ignores its timeouts.
``set_wake_handler`` hands the platform's wake command to the protocol state machine (its
``wake_vehicle(aux_off_s)``) instead of the plant's own sequence.

Wires the EV simulator's relay outputs can drive (``wires()``, see the profile's
``[instruments.ev.wiring]``): ``battery_inhibit`` and ``load_inhibit`` (the instruments'
hardware inhibit inputs: open = output off), ``cc1`` (a relay in the CC1 line: open = the
charger's detection point 1 sees the connector pulled, 12 V), ``output_short`` (a shorting
contactor across the inlet, ``SHORT_RESISTANCE_OHM``: closed = DC+ shorted to DC−),
``cc1_fault`` (closed = ``CC1_FAULT_R_OHM`` across CC1–PE at the vehicle side: 3.0 V) and
``pe_break`` (closed = the vehicle's PE conductor at the inlet interrupted: R4 floats, 6 V).
While charging, ``ignores_cc1_fault`` takes any CC1 level for connected and ``ignores_pe_loss``
the 6 V of a lost PE (both: no fault stop). ``insulation_warning`` and ``insulation_low``
(issue 13: the bench's resistors from DC+ to PE at the inlet, their values the profile's
``[instruments.ev.options] insulation_ohm``, ``fit_insulation_resistors``) lower the insulation
resistance the charger's IMD measures (``insulation_resistance_ohm``). Unwired,
the inhibit inputs are never active, the CC1 line is made and the inlet is never shorted.

Output short (4.2.5): a short while the charger delivers collapses its output voltage; the
charger's protection trips ``short_circuit_stop_s`` later (a protection event, a fault stop,
"short_circuit" to the protocol side), unless ``ignores_output_short``. A charger that loses the connection under load
stops by its own rules (fault stop, K1/K2 open once the current is down, discharge) and
switches its auxiliary supply off once K1/K2 are open.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Mapping

import numpy as np

from bench.core.profile import Dut, Vehicle
from bench.protocols.gbt27930.hooks import ChargerRatings
from instruments.sim.plant.base import PlantBase
from instruments.sim.plant.dc_operating_point import ChargerSource, OperatingPoint, solve
from instruments.sim.plant.dc_vehicle import BatterySimulatorModel, ElectronicLoadModel
from instruments.sim.plant.ev import EvSimulatorModel
from instruments.sim.plant.grid import Grid, SupplyMonitor
from instruments.sim.plant.history import changed
from instruments.sim.plant.platform import ANOMALY, COMMUNICATION_FAULT, PROTECTION, START, STOP, PilePlatformPort
from instruments.sim.plant.signals import Affine, Approach, Const, DerivedSignal, Shape, toward

# docs/limits.md §4 (I): auxiliary supply 12 ± 0.6 V; detection point 1 reads 12 V (not
# inserted), 6 V (inserting), 4 ± 0.8 V (fully connected).
AUX_SUPPLY_V = 12.0
CC1_SUPPLY_V = 12.0
CC1_R1_OHM = 1000.0  # charger pull-up (GB/T 18487.1-2015 Annex B, R1)
CC1_R2_OHM = 1000.0  # plug resistor switched in when fully connected (R2)
CC1_R4_OHM = 1000.0  # vehicle-side resistor (R4)
CONNECTED_BAND_V = (3.2, 4.8)
# -- issue 13: DC vehicle-side faults. The bench's resistor switched across CC1–PE at the
# vehicle side (``cc1_fault`` line): with R2 ∥ R4 it puts detection point 1 at 3.0 V, just below
# the band. A design figure of the bench wiring (the profile's comment names it), not a standard's.
CC1_FAULT_R_OHM = 1000.0
# The level a charger that ignores a PE loss takes for connected (``ignores_pe_loss``): R1 with R2
# alone, 6 V, the "inserting" level of docs/limits.md §4 ± 0.8 V (a design figure of the simulation).
PE_LOST_BAND_V = (5.2, 6.8)
# GB/T 18487.1-2015 B.3.5 as transcribed (I): the output is brought to within 1–10 V of the
# battery voltage before K1/K2 close.
PRECHARGE_WINDOW_V = 10.0
# -- issue 13: DC insulation and pre-charge. The simulated charger's own figures, written apart
# from the limits table (docs/limits.md §8b, I): it pre-charges to the inlet voltage minus
# PRECHARGE_OFFSET_V (the middle of 1–10 V, plus ``precharge_mismatch_v``) and closes K1/K2 once
# its output has stood within PRECHARGE_SETTLED_V of that for PRECHARGE_HOLD_S (design figures).
PRECHARGE_OFFSET_V = 5.0
PRECHARGE_SETTLED_V = 0.5
PRECHARGE_HOLD_S = 0.5
# Its IMD: at or below ``imd_fault_ohm_per_v`` (100 Ω/V when it conforms) of its rated (maximum)
# output voltage an insulation fault (no charging; a stop while charging), at or below
# IMD_WARNING_OHM_PER_V a warning only.
IMD_WARNING_OHM_PER_V = 500.0
INSULATION_LINES = ("insulation_warning", "insulation_low")
# docs/limits.md §5: below 60 V at the inlet after stop.
SAFE_INLET_V = 60.0
# Design figures of this simulation (no standard behind them):
HOLD_CURRENT_A = 0.5  # current limit while holding a voltage with no demand (insulation test, K1/K2 just closed)
FAULT_CUT_TAU_S = 0.001  # power stage collapsing on a fault cut
DRAIN_TAU_S = 0.005  # a sink pulling an isolated inlet down
CABLE_LEAK_TAU_S = 300.0  # isolated inlet with no bleed-off (output capacitors, insulation)
INTERNAL_DISCHARGE_TAU_S = 0.5  # charger side of K1/K2 after they open
CONTINUITY_V = 0.5  # the vehicle characteristic may carry the voltage only if it starts where the inlet is
MIN_SLOPE_A_PER_V = 1e-3  # below this the vehicle side sets no voltage of its own
INTERRUPT_RECORD_A = 1.0  # contactors opened above this current are recorded as interrupting it
CHARGER_EFFICIENCY = 0.95  # grid power = output power / efficiency + standby
SHORT_RESISTANCE_OHM = 0.01  # the bench's shorting contactor and its cables across the inlet
CHARGER_STANDBY_W = 50.0
BATTERY_LOG_LENGTH = 4096  # battery-status changes kept for a late upload (bms_upload_lag_s)


class DcChargerPlant(PlantBase):
    kind = "dc"
    actor = "charger"

    def __init__(
        self,
        clock,
        dut: Dut,
        vehicle: Vehicle | None,
        sim: Mapping | None = None,
        rng: np.random.Generator | None = None,
    ):
        super().__init__(clock, dut, sim, rng)
        self.vehicle = vehicle  # the vehicle side's description; the charger itself never reads it
        s = self.sim
        phase = float(self.rng.uniform(0.0, 1.0 / dut.supply_frequency_hz))
        self.grid = Grid(clock, self.history, dut.nominal_supply_v, dut.supply_frequency_hz, phase, self._grid_changed)
        self.ev = EvSimulatorModel(self.history, self._vehicle_changed)
        self.battery = BatterySimulatorModel(
            self.history, float(s["battery_resistance_ohm"]), lambda what: self._resolve(), self._battery_node
        )
        self.load = ElectronicLoadModel(self.history, lambda what: self._resolve(), self.inlet_voltage)
        self.platform = PilePlatformPort(clock, s, self.history, self)
        self._supply = SupplyMonitor(clock, s, self.grid, self.history, self.actor, self._supply_tripped)
        self._tau = float(s["power_stage_tau_s"])
        self._slew = float(s["current_slew_a_per_s"])
        # state
        self._powered = self.grid.powered()
        self._aux = False
        self._k12 = False
        self._k12_by_insulation = False
        self._stage = "off"  # "off" | "insulation" | "on"
        self._demand: tuple[float, float, str] | None = None
        self._hold_v = 0.0
        self._stop: str | None = None  # None | "normal" | "fault_pending" | "cut"
        self._bleed = False
        self._bleed_shape: Shape | None = None
        self._insulation: bool | None = None
        self._insulation_timer = None
        self._insulation_fault = False
        self._precharge_target: float | None = None
        self._platform_power_w: float | None = None
        self._platform_current_a: float | None = None
        self._regime = ""
        self._bms: dict = {}
        # (bench time, battery status) at each change; a session's worth (BSM every 250 ms)
        self._battery_log: deque[tuple[float, dict[str, float]]] = deque(maxlen=BATTERY_LOG_LENGTH)
        self._session_started = False
        self._cc1_line = True  # the CC1 wire from the connector to detection point 1 is made
        self._cc1_fault = False  # the bench's resistor across CC1–PE at the vehicle side is in
        self._pe_broken = False  # the vehicle's PE conductor at the inlet is interrupted
        self._shorted = False  # the bench's shorting contactor across the inlet is closed
        self._insulation_resistors: dict[str, float] = {}  # line → ohms (DC+–PE), as the profile fits them
        self._insulation_closed: set[str] = set()  # the insulation resistors switched in
        self._short_timer = None
        self._wake_timer = None
        self._wake_handler = None
        # signals
        self._aux_signal = self._new_signal("aux_voltage", "V", Const(0.0))
        self._cc1 = self._new_signal("cc1", "V", Const(0.0))
        self._inlet = self._new_signal("inlet_voltage", "V", Const(0.0))
        self._current = self._new_signal("output_current", "A", Const(0.0))
        self._supply_voltage = self._new_signal("supply_voltage", "V", Const(0.0))
        self._signals["supply_current"] = DerivedSignal("supply_current", "A", self._supply_current)
        # The charger's side of K1/K2: a wiring point for a type test's probe (issue 13, pre-charge).
        self._internal = self._new_signal("charger_voltage", "V", Const(0.0))
        self._grid_rms = self._new_private("grid_rms", "V")
        self._standby = self._new_private("standby_w", "W")
        self._grid_changed()

    def _new_private(self, name: str, unit: str):
        signal = self._new_signal(name, unit, Const(0.0))
        del self._signals[name]  # not a wiring point
        return signal

    # ======================================================================================
    # ChargerHooks
    # ======================================================================================
    def set_aux_power(self, on: bool) -> None:
        self._set_aux(bool(on))

    def vehicle_connected(self) -> bool:
        level = self._cc1_level()
        low, high = CONNECTED_BAND_V
        if low <= level <= high:
            return True
        if self._k12 and self._stage == "on":  # energy flowing: a charger that does not watch CC1
            if self.sim["ignores_cc1_fault"]:
                return True
            lost_low, lost_high = PE_LOST_BAND_V
            if self.sim["ignores_pe_loss"] and lost_low <= level <= lost_high:
                return True
        return False

    def start_insulation_check(self) -> None:
        if self._insulation_timer is not None:
            return
        self.history.record(self.actor, "insulation", "running")
        self._insulation = None
        if not self._powered:
            self._finish_insulation(False)
            return
        if not self._k12:
            self._k12_by_insulation = True
            self._move_k12(True)
        self._set_stage("insulation")
        self._stop = None
        self._bleed = False
        self._insulation_timer = self.clock.call_later(
            float(self.sim["insulation_check_s"]), lambda: self._finish_insulation(self._insulation_good())
        )
        self._resolve()

    def insulation_check_done(self) -> bool | None:
        return self._insulation

    def inlet_voltage(self) -> float:
        return self._inlet.at(self.clock.now())

    def start_precharge(self, target_v: float) -> None:
        """Bring the output to ``target_v`` (the inlet voltage) less PRECHARGE_OFFSET_V, off by
        ``precharge_mismatch_v``; K1/K2 may close once it stands there (``precharge_done``)."""
        target_v = float(target_v) - PRECHARGE_OFFSET_V + float(self.sim["precharge_mismatch_v"])
        self.history.record(self.actor, "precharge_v", target_v)
        self._precharge_target = target_v
        if not self._k12:
            now = self.clock.now()
            self._internal.set(toward(now, self._internal.at(now), target_v if self._powered else 0.0, self._tau))

    def precharge_done(self) -> bool:
        if self._precharge_target is None or not self._powered:
            return False
        if self._k12:
            return True
        now, target = self.clock.now(), self._precharge_target
        # The output approaches its target monotonically: within the band now and
        # PRECHARGE_HOLD_S ago means it has stood there since.
        return all(abs(self._internal.at(t) - target) <= PRECHARGE_SETTLED_V for t in (now - PRECHARGE_HOLD_S, now))

    def set_contactors(self, closed: bool) -> None:
        closed = bool(closed)
        if closed and not self._powered:
            self.history.record(self.actor, "k1k2_refused", "unpowered")
            return
        self._k12_by_insulation = False
        if closed == self._k12:
            return
        now = self.clock.now()
        if closed:
            inlet = self._inlet.at(now)
            internal = self._internal.at(now)
            if self._vehicle_holds() and abs(internal - inlet) > PRECHARGE_WINDOW_V:
                self.history.record(self.actor, "k1k2_closed_mismatch_v", round(internal - inlet, 3))
            self._hold_v = self._precharge_target if self._precharge_target is not None else inlet
            self._demand = None
            self._stop = None
            self._bleed = False
            self._session_started = False
            self._move_k12(True)
            self._set_stage("on")
        else:
            self._move_k12(False)
            self._set_stage("off")
            self._demand = None
            self._precharge_target = None
            if not self.vehicle_connected():
                # The connection is gone (docs/limits.md §4: it had to stop): with K1/K2 open
                # the charger switches its auxiliary supply off too and its session ends —
                # the protocol state machine hears "unplugged" once it has taken K1/K2 as
                # open. A behaviour rule of this simulated charger; [U] the standard's text.
                self._set_aux(False)
                self.clock.call_later(0.0, self._notify, "unplugged")
        self._resolve()

    def set_demand(self, voltage_v: float, current_a: float, mode: str) -> None:
        if mode not in ("cv", "cc"):
            raise ValueError(f"BCL mode must be 'cv' (mode 1) or 'cc' (mode 2), got {mode!r}")
        demand = (float(voltage_v), float(current_a), mode)
        if demand == self._demand:
            return
        self.history.record(self.actor, "demand", demand)
        self._demand = demand
        if self._stage == "on" and self._stop is None and not self._session_started:
            self._session_started = True
            self.platform.report(START, "DC output started")
        self._resolve()

    def output(self) -> tuple[float, float]:
        now = self.clock.now()
        return self._inlet.at(now), self._current.at(now)

    def stop_output(self, fault: bool) -> None:
        fault = bool(fault)
        if self._stop is not None and not (fault and self._stop == "normal"):
            return
        self.history.record(self.actor, "stop", "fault" if fault else "normal")
        if self._session_started:
            self.platform.report(STOP, "fault" if fault else "normal")
            self._session_started = False
        if fault:
            self._stop = "fault_pending"
            self.clock.call_later(float(self.sim["cst_current_delay_s"]), self._cut)
        else:
            self._stop = "normal"
            self._resolve()

    def output_current(self) -> float:
        return self._current.at(self.clock.now())

    def start_bleed_off(self) -> None:
        if not self._bleed:
            self._bleed = True
            self.history.record(self.actor, "bleed", True)
            self._resolve()

    def energy_kwh(self) -> float:
        now = self.clock.now()
        return (self._energy_j + self._integrate_power(self._energy_t, now)) / 3.6e6

    # ======================================================================================
    # Beyond the hooks: ratings, what the lead wires to the protocol state machine
    # ======================================================================================
    def ratings(self) -> ChargerRatings:
        (v_lo, v_hi), (i_lo, i_hi) = self.dut.voltage_range_v, self.dut.current_range_a
        return ChargerRatings(
            max_voltage_v=v_hi,
            min_voltage_v=v_lo,
            max_current_a=i_hi,
            min_current_a=i_lo,
            max_power_w=self.dut.rated_power_kw * 1000.0,
        )

    def learn_bms_info(self, info: Mapping) -> None:
        """What the state machine decoded from the vehicle's frames: the 4.2.7 fields
        (sim_parameters.UPLOAD_FIELDS) and optionally ``max_charge_voltage_v`` (BHM), which
        sets the insulation test voltage."""
        self._bms.update(info)
        self.history.record(self.actor, "bms_info", tuple(sorted(info)))

    def learn_battery_status(self, status: Mapping[str, float]) -> None:
        """The battery status the state machine holds now (4.5.3 e), kept with its bench time so
        that the pile can upload it late (``bms_upload_lag_s``)."""
        status = dict(status)
        if not self._battery_log or self._battery_log[-1][1] != status:
            self._battery_log.append((self.clock.now(), status))

    def battery_status_at(self, bench_time: float) -> dict[str, float]:
        """The battery status the pile held at ``bench_time`` ({} before it knew any)."""
        known = [status for t, status in self._battery_log if t <= bench_time]
        return dict(known[-1]) if known else {}

    def communication_fault(self, detail: str) -> None:
        """ChargerHooks: a GB/T 27930 timeout the state machine saw, recorded and uploaded (4.2.5)."""
        self.history.record(self.actor, "communication_fault", detail)
        self.platform.report(COMMUNICATION_FAULT, detail)

    @property
    def stops_on_communication_loss(self) -> bool:
        """False when ``ignores_can_loss`` or ``ignores_bms_timeout``: the state machine then
        ignores its timeouts (one mechanism: a lost bus and a missing message both end in one)."""
        return not (self.sim["ignores_can_loss"] or self.sim["ignores_bms_timeout"])

    def report_event(self, kind: str, detail: str) -> None:
        """An event the charger uploads (e.g. a communication fault the state machine saw)."""
        self.platform.report(kind, detail)

    @property
    def stops_on_battery_alarms(self) -> bool:
        """False when ``ignores_battery_alarms``: the state machine must then neither stop
        on a BSM abnormal status nor on output over-voltage."""
        return not self.sim["ignores_battery_alarms"]

    @property
    def restarts_communication_after_wake(self) -> bool:
        return bool(self.sim["wake_restarts_communication"])

    @property
    def chm_period_s(self) -> float:
        return float(self.sim["chm_period_ms"]) / 1000.0

    def wires(self) -> dict:
        """The lines the EV simulator's relay outputs can drive: name → ``line(closed)``."""
        return {
            "battery_inhibit": lambda closed: self.battery.set_inhibit(not closed),
            "load_inhibit": lambda closed: self.load.set_inhibit(not closed),
            "cc1": self.set_cc1_line,
            "output_short": self.set_output_short,
            "cc1_fault": self.set_cc1_fault,
            "pe_break": self.set_pe_break,
            **{
                line: (lambda closed, line=line: self.set_insulation_resistor(line, closed))
                for line in INSULATION_LINES
            },
        }

    # -- issue 13: DC vehicle-side faults -------------------------------------------------------
    def set_cc1_fault(self, closed: bool) -> None:
        """The bench's resistor across CC1–PE at the vehicle side switched in (True) or out."""
        if changed(self.history, "ev", "cc1_fault", self._cc1_fault, bool(closed)):
            self._cc1_fault = bool(closed)
            self._vehicle_changed("cc1")

    def set_pe_break(self, closed: bool) -> None:
        """The contact in the vehicle's PE conductor opened by its relay (True: PE lost) or made."""
        if changed(self.history, "ev", "pe_break", self._pe_broken, bool(closed)):
            self._pe_broken = bool(closed)
            self._vehicle_changed("cc1")

    # -- issue 13: DC insulation ----------------------------------------------------------------
    def fit_insulation_resistors(self, ohms: Mapping[str, float]) -> None:
        """The resistors the bench's insulation lines switch from DC+ to PE (line → ohms)."""
        self._insulation_resistors = {line: float(value) for line, value in ohms.items()}

    def set_insulation_resistor(self, line: str, closed: bool) -> None:
        """An insulation line's relay closed (its resistor DC+–PE in) or opened. While charging
        the charger's IMD sees the new value at once (a design simplification)."""
        was = line in self._insulation_closed
        if not changed(self.history, "ev", line, was, bool(closed)):
            return
        (self._insulation_closed.add if closed else self._insulation_closed.discard)(line)
        if self._stage == "on" and self._k12 and self._stop is None and self._insulation_level() == "fault":
            if self.sim["ignores_insulation_fault"]:
                self.history.record(self.actor, "insulation_fault_ignored", True)
                return
            self.platform.report(PROTECTION, "insulation fault while charging")
            self._fault_stop("insulation_fault")

    def insulation_resistance_ohm(self) -> float:
        """DC+ (and DC−) to PE as the charger's IMD measures it: the bench's resistors switched
        in, in parallel; infinite without any (the cable's own insulation is far above 500 Ω/V)."""
        conductance = sum(
            1.0 / self._insulation_resistors[line]
            for line in self._insulation_closed
            if line in self._insulation_resistors
        )
        return math.inf if conductance == 0 else 1.0 / conductance

    def _insulation_level(self) -> str:
        """ "safe", "warning" or "fault" by the IMD's thresholds (per volt of the rated output)."""
        per_volt = self.insulation_resistance_ohm() / self.dut.voltage_range_v[1]
        if per_volt <= float(self.sim["imd_fault_ohm_per_v"]):
            return "fault"
        return "warning" if per_volt <= IMD_WARNING_OHM_PER_V else "safe"

    def _insulation_good(self) -> bool:
        """The insulation check's verdict: no injected fault, and the IMD not at a fault level
        (unless ``ignores_insulation_fault``); a warning level is reported and passes."""
        level = self._insulation_level()
        if level == "warning":
            self.platform.report(ANOMALY, "insulation resistance low (warning)")
        if level == "fault" and self.sim["ignores_insulation_fault"]:
            self.history.record(self.actor, "insulation_fault_ignored", True)
            level = "safe"
        return not self._insulation_fault and level != "fault"

    def set_cc1_line(self, closed: bool) -> None:
        """The CC1 wire made (True) or opened by a relay (False)."""
        if changed(self.history, "ev", "cc1", self._cc1_line, bool(closed)):
            self._cc1_line = bool(closed)
            self._vehicle_changed("cc1")

    def set_output_short(self, closed: bool) -> None:
        """The shorting contactor across the inlet closed (True) or open (False)."""
        if not changed(self.history, "ev", "output_short", self._shorted, bool(closed)):
            return
        self._shorted = bool(closed)
        self._resolve()
        if not self._shorted:
            if self._short_timer is not None:
                self._short_timer.cancel()
                self._short_timer = None
            return
        if self._stage != "on" or not self._k12 or self._stop is not None:
            return
        if self.sim["ignores_output_short"]:
            self.history.record(self.actor, "output_short_ignored", True)
            return
        self._short_timer = self.clock.call_later(float(self.sim["short_circuit_stop_s"]), self._short_tripped)

    def _short_tripped(self) -> None:
        self._short_timer = None
        if not self._shorted:
            return
        self.platform.report(PROTECTION, "output short circuit")
        self._fault_stop("short_circuit")

    def charge_inlet(self, volts: float) -> None:
        """The inlet starts charged to ``volts`` with nothing holding it (output capacitors
        left charged by a run that was killed): a test-only control, no [sim] parameter."""
        self.history.record(self.actor, "inlet_charged_v", float(volts))
        self._inlet.set(Const(float(volts)))
        self._resolve()

    def inject_insulation_fault(self, faulty: bool = True) -> None:
        """The next insulation check fails (a test hook; no [sim] parameter)."""
        self._insulation_fault = bool(faulty)

    @property
    def contactors_closed(self) -> bool:
        return self._k12

    @property
    def aux_on(self) -> bool:
        return self._aux

    @property
    def regime(self) -> str:
        """ "cc", "cp", "cv" while regulating, "" otherwise."""
        return self._regime

    def state_name(self) -> str:
        if not self._powered:
            return "unpowered"
        if self._supply.tripped or self.ev.estop:
            return "fault"
        if not self.vehicle_connected():
            return "idle"
        if self._stage == "insulation":
            return "insulation"
        if self._stage == "on":
            if self._stop is not None:
                return "stopping"
            return "charging" if self._demand is not None else "ready"
        return "connected"

    # ======================================================================================
    # PlatformTarget
    # ======================================================================================
    def platform_start(self) -> None:
        self._notify("start")

    def platform_stop(self) -> None:
        if self._stage == "on":
            self.stop_output(False)
        self._notify("stop")

    def platform_wake(self) -> None:
        """4.2.10.4: cut the auxiliary supply for ``aux_off_duration_s``, restore it and
        (if ``wake_restarts_communication``) have communication start again.

        With a wake handler set (the protocol state machine's ``wake_vehicle``), the handler
        runs the sequence through ``set_aux_power``; without one the plant runs it itself and
        notifies "communication_restart" when the supply is back."""
        duration = float(self.sim["aux_off_duration_s"])
        self.history.record(self.actor, "wake", duration)
        if self._wake_handler is not None:
            self._wake_handler(duration)
            return
        if self._wake_timer is not None:
            return
        self._set_aux(False)
        self._wake_timer = self.clock.call_later(duration, self._wake_restore)

    def set_wake_handler(self, handler) -> None:
        """``handler(aux_off_s)`` carries out the platform's wake command (see platform_wake)."""
        self._wake_handler = handler

    def _wake_restore(self) -> None:
        self._wake_timer = None
        self._set_aux(True)
        if self.restarts_communication_after_wake:
            self._notify("communication_restart")

    def apply_power_limit(self, watts: float) -> None:
        if changed(self.history, self.actor, "platform_power_w", self._platform_power_w, float(watts)):
            self._platform_power_w = float(watts)
            self._resolve()

    def apply_current_limit(self, amps: float) -> None:
        if changed(self.history, self.actor, "platform_current_a", self._platform_current_a, float(amps)):
            self._platform_current_a = float(amps)
            self._resolve()

    def measurement(self) -> dict:
        volts, amps = self.output()
        return {
            "voltage_v": volts,
            "current_a": amps,
            "power_w": volts * amps,
            "state": self.state_name(),
            "energy_kwh": self.energy_kwh(),
        }

    def learnt_bms_info(self) -> dict:
        return dict(self._bms)

    # ======================================================================================
    # Inputs: grid, vehicle side
    # ======================================================================================
    def _grid_changed(self) -> None:
        self._supply.update()
        powered = self.grid.powered()
        if powered != self._powered:
            self._powered = powered
            self.history.record(self.actor, "powered", powered)
            if not powered:
                self._lose_power()
            else:
                self._notify("power_restored")
        self._grid_rms.set(Const(self.grid.rms()))
        self._standby.set(Const(CHARGER_STANDBY_W if powered else 0.0))
        self._supply_voltage.set(self.grid.sine(self.grid.rms()))
        self._refresh_connection_signals()
        self._resolve()

    def _lose_power(self) -> None:
        self._set_aux(False, refresh=False)
        if self._k12:
            self._move_k12(False)
        self._set_stage("off")
        self._demand = None
        self._stop = None
        self._precharge_target = None
        self._bleed = True  # the discharge circuit is fail-safe (closes without power)
        if self._insulation_timer is not None:
            self._insulation_timer.cancel()
            self._insulation_timer = None
            self._insulation = False
        now = self.clock.now()
        self._internal.set(toward(now, self._internal.at(now), 0.0, INTERNAL_DISCHARGE_TAU_S))
        self._notify("power_lost")

    def _supply_tripped(self) -> None:
        self.platform.report(
            PROTECTION, f"supply voltage {self.grid.voltage:g} V outside 0.85–1.15 × {self.grid.nominal_v:g} V"
        )
        self._fault_stop("supply_fault")

    def _vehicle_changed(self, what: str) -> None:
        now = self.clock.now()
        if what == "k5k6" and not self.ev.contactors:
            amps = self._current.at(now)
            if abs(amps) > INTERRUPT_RECORD_A:
                self.history.record("ev", "k5k6_interrupted_a", round(amps, 3))
        if what == "estop" and self.ev.estop:
            self.platform.report(ANOMALY, "emergency stop")
            self._fault_stop("estop")
        if what in ("cc2", "plugged", "cc1"):
            self._refresh_connection_signals()
            if not self.vehicle_connected():
                if self._in_session():
                    self.platform.report(ANOMALY, f"vehicle disconnected (CC1 {self._cc1_level():.1f} V)")
                    self._fault_stop("disconnected")
                self._notify("unplugged")
        self._resolve()

    def _fault_stop(self, why: str) -> None:
        if self._stage == "on" and self._k12:
            self.stop_output(True)
        self._notify(why)

    def _in_session(self) -> bool:
        return self._k12 or self._stage != "off"

    # ======================================================================================
    # Relays and stages
    # ======================================================================================
    def _set_aux(self, on: bool, refresh: bool = True) -> None:
        on = on and self._powered
        if changed(self.history, self.actor, "aux", self._aux, on):
            self._aux = on
        if refresh:
            self._refresh_connection_signals()

    def _move_k12(self, closed: bool) -> None:
        now = self.clock.now()
        if not closed:
            amps = self._current.at(now)
            if abs(amps) > INTERRUPT_RECORD_A:
                self.history.record(self.actor, "k1k2_interrupted_a", round(amps, 3))
            self._internal.set(toward(now, self._inlet.at(now), 0.0, INTERNAL_DISCHARGE_TAU_S))
        if changed(self.history, self.actor, "k1k2", self._k12, closed):
            self._k12 = closed

    def _set_stage(self, stage: str) -> None:
        if changed(self.history, self.actor, "stage", self._stage, stage):
            self._stage = stage

    def _finish_insulation(self, good: bool) -> None:
        self._insulation_timer = None
        self._insulation = good
        self.history.record(self.actor, "insulation", "pass" if good else "fail")
        if not good:
            self.platform.report(ANOMALY, "insulation fault")
        if self._stage == "insulation":
            self._set_stage("off")
        if self._k12_by_insulation:
            self._k12_by_insulation = False
            self._move_k12(False)
        self.start_bleed_off()
        self._resolve()

    def _cut(self) -> None:
        if self._stop == "fault_pending":
            self._stop = "cut"
            self.history.record(self.actor, "output_cut", True)
            self._resolve()

    # ======================================================================================
    # Physics
    # ======================================================================================
    def _cc1_level(self) -> float:
        if not self._powered:
            return 0.0
        if not self._cc1_line:
            return CC1_SUPPLY_V  # nothing behind detection point 1 but R1
        # R2 (the plug, switched in at full connection) returns to the cable's PE; R4 and the
        # bench's fault resistor (the vehicle side) to the vehicle's PE, lost with ``pe_break``.
        vehicle = [] if self._pe_broken else [CC1_R4_OHM] + ([CC1_FAULT_R_OHM] if self._cc1_fault else [])
        if self.ev.cc2_connected:
            branches = [CC1_R2_OHM, *vehicle]
        elif self.ev.plugged:
            branches = vehicle
        else:
            return CC1_SUPPLY_V
        if not branches:
            return CC1_SUPPLY_V
        r = 1.0 / sum(1.0 / b for b in branches)
        return CC1_SUPPLY_V * r / (CC1_R1_OHM + r)

    def _refresh_connection_signals(self) -> None:
        mated = self.ev.cc2_connected or self.ev.plugged
        self._aux_signal.set(Const(AUX_SUPPLY_V if self._aux and mated else 0.0))
        self._cc1.set(Const(self._cc1_level()))

    def _battery_node(self) -> float | None:
        return self.inlet_voltage() if self.ev.contactors else None

    def _absorb(self, volts: float) -> float:
        amps = self.load.absorb(volts) + (volts / SHORT_RESISTANCE_OHM if self._shorted else 0.0)
        if self.ev.contactors:
            amps += self.battery.absorb(volts)
        return amps

    def _vehicle_holds(self) -> bool:
        return self.ev.contactors and self.battery.holds_voltage()

    def _source(self) -> ChargerSource:
        (_, v_max), (_, i_max) = self.dut.voltage_range_v, self.dut.current_range_a
        p_cap = self.dut.rated_power_kw * 1000.0
        if self._platform_power_w is not None:
            p_cap = min(p_cap, max(self._platform_power_w, 0.0))
        if self._stage == "insulation":
            test_v = min(v_max, float(self._bms.get("max_charge_voltage_v", v_max)))
            return ChargerSource(test_v, HOLD_CURRENT_A, p_cap)
        if self._demand is None:
            return ChargerSource(self._hold_v, HOLD_CURRENT_A, p_cap)
        volts, amps, _ = self._demand
        i_limit = min(max(amps, 0.0), i_max)
        if self._platform_current_a is not None:
            i_limit = min(i_limit, max(self._platform_current_a, 0.0))
        v_set = min(max(volts, 0.0), v_max) * (1 + float(self.sim["voltage_error_pct"]) / 100.0)
        i_set = i_limit * (1 + float(self.sim["current_error_pct"]) / 100.0)
        return ChargerSource(v_set, i_set, p_cap)

    def _operating_point(self) -> OperatingPoint:
        source = self._source()
        point = solve(self._absorb, source)
        if point.regime == "cp":
            gain = 1 + float(self.sim["power_gain_error_pct"]) / 100.0
            point = solve(self._absorb, dataclasses.replace(source, p_limit=source.p_limit * gain))
        return point

    def _resolve(self) -> None:
        """Re-solve the operating point and write the signals' next segments from now."""
        now = self.clock.now()
        self._bank_energy(now)
        v0, i0 = self._inlet.at(now), self._current.at(now)
        energised = self._powered and self._k12 and self._stage in ("on", "insulation")
        regime = ""
        if energised and self._stop in (None, "fault_pending"):
            point = self._operating_point()
            regime = point.regime
            i_shape, v_shape = self._regulate(point, v0, i0)
        elif energised:
            cut = self._stop == "cut"
            i_shape = toward(now, i0, 0.0, FAULT_CUT_TAU_S if cut else self._tau, None if cut else self._slew)
            v_shape = self._vehicle_voltage(v0, i0, i_shape)
        else:
            i_shape = Const(0.0)
            v_shape = self._vehicle_voltage(v0, 0.0, None)
        if changed(self.history, self.actor, "regime", self._regime, regime):
            self._regime = regime
        self._current.set(i_shape)
        self._inlet.set(v_shape)
        if self._k12:  # the charger's side of K1/K2 is the inlet while they are closed
            self._internal.set(v_shape)

    def _regulate(self, point: OperatingPoint, v0: float, i0: float) -> tuple[Shape, Shape]:
        now = self.clock.now()
        if point.regime == "cv":
            v_shape = toward(now, v0, point.voltage, self._tau)
            slope = point.slope
            return Affine(v_shape, point.current - point.voltage * slope, slope, floor=0.0), v_shape
        i_shape = toward(now, i0, point.current, self._tau, self._slew)
        if point.slope > MIN_SLOPE_A_PER_V:
            gain = 1.0 / point.slope
            offset = point.voltage - point.current * gain
            if abs(offset + gain * i0 - v0) <= CONTINUITY_V:
                return i_shape, Affine(i_shape, offset, gain)
        return i_shape, toward(now, v0, point.voltage, self._tau)

    def _vehicle_voltage(self, v0: float, i0: float, i_shape: Shape | None) -> Shape:
        """The inlet when the charger does not regulate it (stopping, or K1/K2 open)."""
        if self._vehicle_holds():
            point = solve(self._absorb, None)
            if i_shape is not None and point.slope > MIN_SLOPE_A_PER_V:
                gain = 1.0 / point.slope
                if abs(point.voltage + gain * i0 - v0) <= CONTINUITY_V:
                    return Affine(i_shape, point.voltage, gain)
            return Const(point.voltage)  # a stiff source charges the cable at once
        return self._isolated_voltage(v0)

    def _isolated_voltage(self, v0: float) -> Shape:
        """Nothing holds the inlet: the cable and output capacitors discharge."""
        now = self.clock.now()
        battery_sinks = (
            self.ev.contactors
            and self.battery.active
            and self.battery.priority == "current"
            and self.battery.current < 0
        )
        if v0 <= 0.0:
            return Const(0.0)
        if self.load.drains() or battery_sinks or self._shorted:
            return toward(now, v0, 0.0, DRAIN_TAU_S)
        if self._bleed:
            if self._bleed_shape is not None and self._inlet.shape is self._bleed_shape:
                return self._bleed_shape  # a running discharge keeps its own time
            bleed_s = float(self.sim["bleed_off_s"])
            # Time constant that reaches SAFE_INLET_V exactly bleed_off_s after it starts.
            tau = bleed_s / math.log(v0 / SAFE_INLET_V) if v0 > SAFE_INLET_V * 1.01 else bleed_s / math.log(2.0)
            self._bleed_shape = Approach(now, v0, 0.0, tau)
            self.history.record(self.actor, "discharge_from_v", round(v0, 3))
            return self._bleed_shape
        if self.load.active and self.load.mode == "cv" and v0 > self.load.voltage:
            return toward(now, v0, self.load.voltage, DRAIN_TAU_S)
        return toward(now, v0, 0.0, CABLE_LEAK_TAU_S)

    # -- energy and grid current -------------------------------------------------------------
    def _integrate_power(self, t0: float, t1: float) -> float:
        if t1 <= t0:
            return 0.0
        span = t1 - t0
        times = t0 + np.concatenate(([0.0], np.geomspace(min(1e-6, span), span, 256)))
        power = self._inlet.sample(times) * self._current.sample(times)
        return float(np.sum((power[1:] + power[:-1]) * np.diff(times)) / 2)

    def _bank_energy(self, now: float) -> None:
        self._energy_j += self._integrate_power(self._energy_t, now)
        self._energy_t = now

    def _supply_current(self, times: np.ndarray) -> np.ndarray:
        rms = self._grid_rms.sample(times)
        p_in = self._inlet.sample(times) * self._current.sample(times) / CHARGER_EFFICIENCY + self._standby.sample(
            times
        )
        # The supply voltage is the phase voltage (L–N): each of the phases carries 1/phases of P.
        phases = self.dut.phases
        volts = self._supply_voltage.sample(times)
        with np.errstate(divide="ignore", invalid="ignore"):
            amps = np.where(rms > 0, volts * p_in / (phases * rms * rms), 0.0)
        return amps
