"""The charger side of GB/T 27930-2015 on the bench Clock, for the simulated DC charger.

Session: CHM until BHM arrives and the insulation check (``hooks``) is done → CRM 0x00;
BRM → CRM 0xAA; BCP → CTS + CML; BRO 0xAA → inlet-voltage check, pre-charge, K1/K2 close,
CRO 0xAA; BCL → CCS (from ``hooks.output()``) and ``hooks.set_demand``; stop → CST; BSD → CSD.
It learns the vehicle only from frames (``vehicle``); a frame of the wrong length is dropped. A
missing BMS message sends CEM, stops the output and restarts at CRM 0x00 after
``RECONNECT_DELAY_S``, at most ``MAX_RECONNECTS`` times. The BCP timeout runs from the first
CRM(0xAA), the BRO ones from BCP (the first CML), BCL/BCS from the last one received. A vehicle
whose BCP maximum charging voltage is below the charger's minimum output gets one CML (the
charger's range) and then CST: it is not charged. ``ChargerBehaviour`` lets the simulation play
a non-conforming charger.

Phases: idle, handshake, recognition, configuration, charging, stopping, statistics,
ended, error, aborted, waking, fault.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from bench.core.canbus import ClockedBus
from bench.core.clock import Periodic
from bench.core.errors import BenchError
from bench.protocols.gbt27930 import extension as extension_dbc
from bench.protocols.gbt27930 import timing
from bench.protocols.gbt27930.battery import CURRENT_RANGE_A, VOLTAGE_RANGE_V, clamp
from bench.protocols.gbt27930.catalogue import BY_NAME, CHARGER
from bench.protocols.gbt27930.codec import CODEC
from bench.protocols.gbt27930.extension import ExtensionCodec
from bench.protocols.gbt27930.hooks import ChargerHooks, ChargerRatings
from bench.protocols.gbt27930.ids import BMS_ADDRESS, CHARGER_ADDRESS
from bench.protocols.gbt27930.node import PeerView, ProtocolNode

# docs/limits.md §3 "Stopping": K1/K2 may open once the current is at most 5 A (I).
CONTACTOR_OPEN_CURRENT_A = 5.0
# How often the stop sequence looks at the output current (bench choice, U).
CURRENT_POLL_S = 0.01
# CTS carries local time; GB/T chargers keep Beijing time (bench choice, U).
CHARGER_TIMEZONE = timezone(timedelta(hours=8))
PROTOCOL_VERSION = "1.1"
CHARGING_TIME_MAX_MIN = 600  # CCS/CSD charging time range 0 … 600 min (catalogue, I)
ENERGY_RANGE_KWH = (0.0, 1000.0)  # CSD energy range (catalogue, I)

# BSM status → CST bits when the charger stops on it (reason: fault stop).
BSM_FAULTS = {
    "cell_voltage": "voltage_abnormal",
    "soc_status": "other_fault",
    "overcurrent": "current_mismatch",
    "overtemperature": "other_fault",
    "insulation": "other_fault",
    "connector": "connector_fault",
}
STOP_REASONS = {"manual": "manual_stop", "condition": "condition_reached", "fault": "fault_stop"}
CST_FLAGS = frozenset(f.name for f in BY_NAME["CST"].fields)
BST_FAULT_FLAGS = tuple(f.name for f in BY_NAME["BST"].fields[4:])  # faults and errors, not reasons
# BSM fields that are battery status (4.5.3 e), not status flags.
BSM_BATTERY_STATUS = (
    "highest_cell_number",
    "highest_temperature",
    "highest_temperature_probe",
    "lowest_temperature",
    "lowest_temperature_probe",
)
LOWEST_CELL = ("lowest_cell_voltage", "lowest_cell_number")  # from the extension frame (4.2.7)
ACTIVE = ("handshake", "recognition", "configuration", "charging", "stopping", "statistics")
# The CST of a vehicle the charger cannot charge (BCP maximum below its minimum output): GB/T
# 27930-2015 has no flag for it; a fault stop with "voltage abnormal", as the inlet-voltage check
# (docs/limits.md §10, U).
OUT_OF_RANGE_CST = {"fault_stop": "yes", "voltage_abnormal": "yes"}


@dataclass
class ChargerBehaviour:
    """Knobs for a non-conforming charger; the defaults conform."""

    chm_period_s: float = BY_NAME["CHM"].period_s
    stop_on_bsm_abnormal: bool = True
    stop_on_overvoltage: bool = True
    wake_restarts_communication: bool = True
    # False: a timeout (the vehicle's messages missing, CAN lost) is ignored: no CEM, no stop,
    # nothing reported; the charger goes on with the last demand.
    stop_on_timeout: bool = True
    # Reconnection attempts after a timeout before the charger gives up (GB/T 27930: 3).
    reconnect_attempts: int = timing.MAX_RECONNECTS
    # Times every receive timeout the charger applies (1.0: the standard's figures).
    timeout_factor: float = 1.0
    # Frames a non-conforming charger gets wrong (sim_parameters.FRAME_FAULTS): what the bench's protocol
    # checks in every DC session must catch.
    frame_faults: frozenset[str] = frozenset()
    # -- issue 13: BMS anomalies
    # False: the vehicle's voltages are not compared with the charger's output range (neither
    # BCP's maximum charging voltage nor the inlet voltage before K1/K2 close).
    checks_voltage_range: bool = True


# A charger's own frames, wrong (bench/core/sim_parameters.py FRAME_FAULTS): the short CCS.
CCS_SHORT_LENGTH = 7
CCS_CHARGING_TIME_HIGH_MIN = int(next(f.high for f in BY_NAME["CCS"].fields if f.name == "charging_time") or 0)


class ChargerStateMachine(ProtocolNode):
    role = CHARGER
    error_message = "CEM"
    discards_wrong_length = True  # a BCL of the wrong DLC is no BCL: its timeout runs on
    extension: ExtensionCodec  # the charger always loads one (the default or the profile's DBC)

    def __init__(
        self,
        bus: ClockedBus,
        hooks: ChargerHooks,
        ratings: ChargerRatings,
        behaviour: ChargerBehaviour | None = None,
        *,
        charger_number: int = 1,
        region: str | None = None,
        address: int = CHARGER_ADDRESS,
        bms_address: int = BMS_ADDRESS,
        extension_dbc_path: str | None = None,
    ):
        super().__init__(bus, address, bms_address, extension_dbc.load(extension_dbc_path))
        self.hooks = hooks
        self.ratings = ratings
        self.behaviour = behaviour or ChargerBehaviour()
        self.max_reconnects = self.behaviour.reconnect_attempts
        self.charger_number = charger_number
        self.region = region
        self.contactors_closed = False
        self._insulation = "pending"
        self._recognized = False
        self._bcp_awaited = False
        self._output_ready = False
        self._precharging = False
        self._paused = False
        self._demand: tuple[float, float, str] | None = None
        self._cst_values: dict[str, str] = {}
        self._charging_since: float | None = None
        self._current_poll: Periodic | None = None

    # == the simulated charger's controls ==================================================
    def start(self) -> bool:
        """Switch the 12 V auxiliary supply on and start the handshake (CHM)."""
        if not self.hooks.vehicle_connected():
            self.event("not_connected")
            return False
        self.hooks.set_aux_power(True)
        self.event("aux_power", on=True)
        self.reconnects = 0
        self._begin_handshake()
        return True

    def stop(self, reason: str = "manual", faults: Collection[str] = ()) -> bool:
        """Stop charging with a CST: reason "manual", "condition" or "fault", plus CST fault
        field names. Before configuration there is nothing to stop but the handshake."""
        if reason not in STOP_REASONS or any(f not in CST_FLAGS for f in faults):
            raise BenchError(
                f"CST stop: reason one of {', '.join(STOP_REASONS)}; faults from {', '.join(sorted(CST_FLAGS))}"
            )
        if self.phase in ("handshake", "recognition"):
            self.quiet()
            self.set_phase("idle")
            return True
        if self.phase not in ("configuration", "charging"):
            return False
        self.event("stop", reason=reason, faults=list(faults))
        self._stop({STOP_REASONS[reason]: "yes", **{f: "yes" for f in faults}}, fault=reason == "fault")
        return True

    def vehicle_unplugged(self) -> None:
        """The connector left the fully-connected window (CC1 outside 3.2–4.8 V, docs/limits.md
        §4): without energy flowing, end whatever was going on and switch the 12 V auxiliary
        supply off. Under load the plant's fault stop (CST) handles it."""
        if self.contactors_closed or self.phase == "idle":
            return
        self.quiet()
        self.hooks.set_aux_power(False)
        self.event("unplugged")
        self.set_phase("idle")

    def wake_vehicle(self, aux_off_s: float) -> None:
        """Cut the 12 V auxiliary supply for ``aux_off_s``, restore it, then start over with CHM."""
        self.quiet()
        self.set_phase("waking")
        self.hooks.set_aux_power(False)
        self.event("aux_power", on=False)
        self.later(aux_off_s, self._restore_aux)

    @property
    def vehicle(self) -> PeerView:
        """The vehicle's data as learned from its frames (``peer``): last values per message."""
        return self.peer

    def vehicle_data(self) -> dict[str, Any]:
        """The 4.2.7 items as learned from BRM and the extension frames (None where unknown)."""
        data = {"vin": self.peer.value("BRM", "vin"), "rated_capacity_ah": self.peer.value("BRM", "rated_capacity")}
        for ext in self.extension.messages:
            data.update(self.peer.get(ext.name) or {})
        return data

    def battery_status(self) -> dict[str, float]:
        """The 4.5.3 e battery status as learned from BCS, BSM and the extension frame (only what
        the vehicle sent; names as bench.protocols.platform.vocabulary.BATTERY_STATUS_UNITS)."""
        found = {
            "battery_voltage": self.peer.value("BCS", "voltage"),
            "soc": self.peer.value("BCS", "soc"),
            "highest_cell_voltage": self.peer.value("BCS", "highest_cell_voltage"),
            **{name: self.peer.value("BSM", name) for name in BSM_BATTERY_STATUS},
        }
        for ext in self.extension.messages:
            values = self.peer.get(ext.name) or {}
            found.update({name: values[name] for name in LOWEST_CELL if name in values})
        return {name: float(value) for name, value in found.items() if isinstance(value, (int, float))}

    def expect(self, key: str, seconds: float, on_expire: Callable[[], None]) -> None:
        """A receive deadline, as this charger applies it (``timeout_factor``)."""
        super().expect(key, seconds * self.behaviour.timeout_factor, on_expire)

    # == receiving =========================================================================
    def _on_BHM(self, values: dict[str, Any], t: float) -> None:
        if self.phase == "handshake" and self._insulation == "pending":
            self._insulation = "running"
            self.hooks.start_insulation_check()
            self.event("insulation_check")

    def _on_BRM(self, values: dict[str, Any], t: float) -> None:
        if self.phase == "recognition" and not self._recognized:
            self._recognized = True
            self.unexpect("brm")  # the BCP timeout runs from the first CRM(0xAA) (_crm)

    def _on_BCP(self, values: dict[str, Any], t: float) -> None:
        if self.phase == "recognition" and self._recognized:
            self.quiet()
            self.set_phase("configuration")
            self._output_ready = self._precharging = False
            if self._below_output_range(values.get("max_charge_voltage")):
                # One CML shows the vehicle the charger's range, then CST (docs/limits.md §10).
                self.event("bcp_out_of_range", bcp_max_v=values.get("max_charge_voltage"))
                self.send("CML", self._cml())
                self._stop(dict(OUT_OF_RANGE_CST), fault=True)
                return
            self.every("CTS", BY_NAME["CTS"].period_s, self._cts)
            self.every("CML", BY_NAME["CML"].period_s, self._cml)
            self.expect("bro", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("bro_timeout"))
            self.expect("bro_ready", timing.READY_TIMEOUT_S, lambda: self._timeout("bro_timeout"))

    def _on_BRO(self, values: dict[str, Any], t: float) -> None:
        if self.phase != "configuration" or self.sending("CRO"):
            return
        self.unexpect("bro")
        if values["ready"] == "ready":
            self.unexpect("bro_ready")
            self._prepare_output()

    def _on_BCL(self, values: dict[str, Any], t: float) -> None:
        if self.phase == "configuration" and self._output_ready:
            self._start_charging()
        if self.phase != "charging":
            return
        self.feed("bcl")
        voltage, current, mode = values["voltage_demand"], values["current_demand"], values["mode"]
        if voltage is None or current is None or mode not in ("cc", "cv"):
            return  # a finding was recorded; keep the last valid demand
        self._demand = (voltage, -current, mode)
        self._apply_demand()

    def _on_BCS(self, values: dict[str, Any], t: float) -> None:
        if self.phase == "charging":
            self.feed("bcs")

    def _on_BSM(self, values: dict[str, Any], t: float) -> None:
        if self.phase != "charging":
            return
        abnormal = [name for name in BSM_FAULTS if values.get(name) not in ("normal", None)]
        if abnormal and self.behaviour.stop_on_bsm_abnormal:
            self.event("bsm_abnormal", status={name: values[name] for name in abnormal})
            self._stop({"fault_stop": "yes", **{BSM_FAULTS[name]: "yes" for name in abnormal}}, fault=True)
            return
        paused = values.get("charging_allowed") == "prohibited"
        if paused != self._paused:
            self._paused = paused
            self.event("paused" if paused else "resumed_by_bms")
            self._apply_demand()

    def _on_BST(self, values: dict[str, Any], t: float) -> None:
        if self.phase in ("configuration", "charging"):
            self.event("bms_stop", bst=values)
            fault = any(values.get(flag) == "yes" for flag in BST_FAULT_FLAGS)
            self._stop({"bms_stopped": "yes"}, fault=fault, bms_initiated=True)
        elif self.phase == "stopping":
            self.unexpect("bst")

    def _on_BSD(self, values: dict[str, Any], t: float) -> None:
        if self.phase != "stopping":
            return
        self.quiet()
        self.set_phase("statistics")
        self.every("CSD", BY_NAME["CSD"].period_s, self._csd)
        self.later(timing.END_HOLD_S, self.end)

    def _on_BEM(self, values: dict[str, Any], t: float) -> None:
        if self.phase in ACTIVE:
            self.event("bem", bem=values)
            self._error(None)

    # == phases ============================================================================
    def _begin_handshake(self) -> None:
        self.quiet()
        self.set_phase("handshake")
        self._insulation = "pending"
        self.repeat("CHM", self.behaviour.chm_period_s, self._chm_tick)

    def _chm_tick(self) -> None:
        if self._insulation == "running":
            result = self.hooks.insulation_check_done()
            if result is False:
                self.event("insulation_fault")
                self.quiet()
                self.set_phase("fault")
                return
            if result:
                self._insulation = "ok"
                self.event("insulation_ok")
                self._begin_recognition()
                return
        self.send("CHM", {"protocol_version": PROTOCOL_VERSION})

    def _begin_recognition(self) -> None:
        self.quiet()
        self.set_phase("recognition")
        self._recognized = False
        self._bcp_awaited = False
        self.every("CRM", BY_NAME["CRM"].period_s, self._crm)
        self.expect("brm", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("brm_timeout"))

    def _below_output_range(self, bcp_max_v: float | None) -> bool:
        """BCP's maximum charging voltage below the charger's minimum output (when it checks)."""
        return self.behaviour.checks_voltage_range and bcp_max_v is not None and bcp_max_v < self.ratings.min_voltage_v

    def _prepare_output(self) -> None:
        """BRO 0xAA: check the battery voltage at the inlet, pre-charge, then close K1/K2."""
        self.cancel("CTS", "CML")
        self.every("CRO", BY_NAME["CRO"].period_s, self._cro)
        battery_v = self.peer.value("BCP", "battery_voltage")
        inlet_v = self.hooks.inlet_voltage()
        low, high = self.ratings.min_voltage_v, self.ratings.max_voltage_v
        outside = self.behaviour.checks_voltage_range and not low <= inlet_v <= high
        if battery_v is None or abs(inlet_v - battery_v) > timing.INLET_VOLTAGE_TOLERANCE * battery_v or outside:
            self.event("inlet_voltage_fault", inlet_v=inlet_v, bcp_battery_v=battery_v)
            self._stop({"fault_stop": "yes", "voltage_abnormal": "yes"}, fault=True)
            return
        self.event("precharge", target_v=inlet_v)
        self._precharging = True
        self.hooks.start_precharge(inlet_v)

    def _cro(self) -> dict[str, Any]:
        if self._precharging and not self._output_ready and self.hooks.precharge_done():
            self.hooks.set_contactors(True)
            self.contactors_closed = True
            self._output_ready = True
            self.event("output_ready")
            self.expect("bcl", timing.BCL_TIMEOUT_S, lambda: self._timeout("bcl_timeout"))
            self.expect("bcs", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("bcs_timeout"))
        return {"ready": "ready" if self._output_ready else "not_ready"}

    def _start_charging(self) -> None:
        self.quiet()
        self.set_phase("charging")
        self._charging_since = self.clock.now()
        self._paused = False
        self._demand = None
        self.repeat("CCS", BY_NAME["CCS"].period_s, self._ccs_tick)
        if "cml_in_charging" in self.behaviour.frame_faults:
            self.send("CML", self._cml())
        self.expect("bcl", timing.BCL_TIMEOUT_S, lambda: self._timeout("bcl_timeout"))
        self.expect("bcs", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("bcs_timeout"))

    def _apply_demand(self) -> None:
        if self._demand is not None:
            voltage, current, mode = self._demand
            self.hooks.set_demand(voltage, 0.0 if self._paused else current, mode)

    def _ccs_tick(self) -> None:
        voltage, current = self.hooks.output()
        limit = self.peer.value("BCP", "max_charge_voltage")
        if self.behaviour.stop_on_overvoltage and limit is not None and voltage > limit:
            # GB/T 34657.1 D0.4504: stop within OVERVOLTAGE_STOP_S; this tick is 50 ms.
            self.event("overvoltage", output_v=voltage, bcp_max_v=limit)
            self._stop({"fault_stop": "yes", "voltage_abnormal": "yes"}, fault=True)
            return
        values = {
            "output_voltage": clamp(voltage, VOLTAGE_RANGE_V),
            "output_current": clamp(-current, CURRENT_RANGE_A),
            "charging_time": self._charging_minutes(),
            "charging_permitted": "paused" if self._paused else "permitted",
        }
        faults = self.behaviour.frame_faults
        if "ccs_range" in faults:
            values["charging_time"] = CCS_CHARGING_TIME_HIGH_MIN + 1
        if "ccs_dlc" in faults:  # the codec refuses a wrong length: cut the encoded frame
            codec = CODEC.by_name["CCS"]
            data = codec.encode(values)[:CCS_SHORT_LENGTH]
            self.transport.send(codec.spec.pgn, data, self.peer_address, codec.spec.priority)
            return
        self.send("CCS", values)

    def _stop(self, cst: dict[str, str], *, fault: bool, bms_initiated: bool = False) -> None:
        self.quiet()
        self.set_phase("stopping")
        self._cst_values = cst
        self.every("CST", BY_NAME["CST"].period_s, lambda: self._cst_values)
        self.hooks.stop_output(fault)
        self._open_contactors_when_safe()
        if not bms_initiated:
            self.expect("bst", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("bst_timeout"))
        self.expect("bsd", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("bsd_timeout"))

    def _timeout(self, flag: str) -> None:
        if not self.behaviour.stop_on_timeout:
            self.event("timeout_ignored", flag=flag)
            return
        self.event("timeout", flag=flag)
        self.hooks.communication_fault(f"GB/T 27930 {flag.replace('_', ' ')} (CEM)")
        self._error(flag)

    def _error(self, flag: str | None) -> None:
        """A timeout (ours: CEM with ``flag``) or the BMS's BEM: stop, then reconnect."""
        if self.phase in ("charging", "stopping") or self.contactors_closed:
            self.hooks.stop_output(False)
            self._open_contactors_when_safe()
        self.enter_error(flag, self._reconnect)

    def _reconnect(self) -> None:
        if self.next_attempt():
            self._begin_recognition()

    def _restore_aux(self) -> None:
        self.hooks.set_aux_power(True)
        self.event("aux_power", on=True)
        if self.behaviour.wake_restarts_communication:
            self.reconnects = 0
            self._begin_handshake()
        else:
            self.set_phase("idle")

    # == K1/K2 after a stop (not tied to a phase: it outlives CST and CSD) ================
    def _open_contactors_when_safe(self) -> None:
        if self.contactors_closed and self._current_poll is None:
            self._current_poll = self.clock.every(CURRENT_POLL_S, self._poll_current)

    def _poll_current(self) -> None:
        if self.hooks.output_current() <= CONTACTOR_OPEN_CURRENT_A:
            self.hooks.set_contactors(False)
            self.contactors_closed = False
            self.hooks.start_bleed_off()
            self.event("contactors_open")
            assert self._current_poll is not None  # this runs as that poll
            self._current_poll.cancel()
            self._current_poll = None

    # == message values ====================================================================
    def _charging_minutes(self) -> int:
        if self._charging_since is None:
            return 0
        return min(CHARGING_TIME_MAX_MIN, int((self.clock.now() - self._charging_since) // 60))

    def _crm(self) -> dict[str, Any]:
        if self._recognized and not self._bcp_awaited:
            # The vehicle's 5 s for BCP run from the first CRM(0xAA) it can answer.
            self._bcp_awaited = True
            self.expect("bcp", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("bcp_timeout"))
        return {
            "recognition": "recognized" if self._recognized else "not_recognized",
            "charger_number": self.charger_number,
            "region": self.region,
        }

    def _cts(self) -> dict[str, Any]:
        now = datetime.fromtimestamp(self.clock.wall_time(), tz=CHARGER_TIMEZONE)
        return {
            "second": now.second,
            "minute": now.minute,
            "hour": now.hour,
            "day": now.day,
            "month": now.month,
            "year": now.year,
        }

    def _cml(self) -> dict[str, Any]:
        r = self.ratings
        return {
            "max_output_voltage": r.max_voltage_v,
            "min_output_voltage": r.min_voltage_v,
            "max_output_current": -r.max_current_a,
            "min_output_current": -r.min_current_a,
        }

    def _csd(self) -> dict[str, Any]:
        return {
            "charging_time": self._charging_minutes(),
            "energy": clamp(round(self.hooks.energy_kwh(), 1), ENERGY_RANGE_KWH),
            "charger_number": self.charger_number,
        }

    def close(self) -> None:
        if self._current_poll is not None:
            self._current_poll.cancel()
            self._current_poll = None
        super().close()
