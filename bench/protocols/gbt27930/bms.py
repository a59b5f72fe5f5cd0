"""The bench's BMS emulator: the vehicle side of GB/T 27930-2015 on the bench Clock.

Session: CHM → BHM; CRM(0x00) → BRM; CRM(0xAA) → BCP; CML → BRO 0x00 then 0xAA; CRO(0xAA)
→ BCL/BCS/BSM (BMV/BMT optional) and the extension frames; stop → BST; CST → BSD; CSD → end.
A missing charger message sends BEM and, after ``RECONNECT_DELAY_S``, waits for the
charger to restart with CRM(0x00), at most ``MAX_RECONNECTS`` times.

Phases: idle, off (no 12 V), asleep, waiting (for CHM), handshake, recognition,
configuration, charging, stopping, statistics, ended, error, aborted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import can

from bench.core.canbus import ClockedBus
from bench.core.clock import Timer
from bench.core.errors import BenchError
from bench.protocols.gbt27930 import extension as extension_dbc
from bench.protocols.gbt27930 import timing
from bench.protocols.gbt27930 import transport as tp
from bench.protocols.gbt27930.battery import BatteryState
from bench.protocols.gbt27930.bms_config import BmsConfig
from bench.protocols.gbt27930.catalogue import BMS, BY_NAME, TP_CM_PGN, TP_DT_PGN, TP_PRIORITY
from bench.protocols.gbt27930.codec import CODEC
from bench.protocols.gbt27930.ids import frame_id
from bench.protocols.gbt27930.node import PeerView, ProtocolNode

Measure = Callable[[], tuple[float, float]]  # (pack voltage V, current A, charging positive)

# BST fields a stop() may set: reasons, faults and errors of the standard.
BST_FLAGS = frozenset(f.name for f in BY_NAME["BST"].fields)
# The BMS keeps sending BST at least this long after a stop (real capture: 10 frames in 85 ms;
# I), so that a charger-initiated stop still shows the BMS's BST before BSD.
BST_MIN_S = 0.1
# Fixed BRM identity details the profile does not set (bench defaults).
BRM_DETAILS = {
    "pack_serial": 1,
    "production_year": 2024,
    "production_month": 1,
    "production_day": 1,
    "charge_cycles": 0,
    "ownership": "owned",
}
BMS_SOFTWARE = {"software_serial": 1, "software_day": 1, "software_month": 1, "software_year": 2024}
# A transfer aborted on purpose (abort_transfers): the first data packet this long after the
# RTS (the charger answers a CTS within Tr = 200 ms; the simulated one at once), the abort as
# long again after it; J1939-21 Conn_Abort reason 1, "already in one or more connection
# managed sessions" (bench choices, U).
ABORT_PACKET_DELAY_S = 0.01
ABORT_REASON = tp.ABORT_BUSY
ACTIVE = ("handshake", "recognition", "configuration", "charging", "stopping", "statistics")


class BmsEmulator(ProtocolNode):
    role = BMS
    error_message = "BEM"

    def __init__(
        self,
        bus: ClockedBus,
        config: BmsConfig | None = None,
        measure: Measure | None = None,
        *,
        aux_power: bool = True,
    ):
        config = config or BmsConfig()
        ext = extension_dbc.load(config.extension.dbc) if config.send_extension else None
        super().__init__(bus, config.address, config.charger_address, ext)
        self.config = config
        self.battery = BatteryState(config)
        self.measure_fn = measure
        self.aux_power = aux_power
        self.asleep = False
        self.started = False
        self.listening = False
        self.demand = (config.max_charge_voltage_v, config.max_charge_current_a, "cc")
        self._profile_timers: list[Timer] = []
        self._aux_off_at: float | None = None
        self._ready = False
        self._bst_values: dict[str, str] = {}
        self._bst_since = 0.0
        self._cst_seen = False
        self._csd_seen = False
        self._last_bcs: float | None = None
        # -- scripted anomalies (issue 13; bench/api/dc/bms_anomalies.py) -------------------
        self.patient = False  # the BMS's own receive timeouts do not fire (no BEM)
        self.never_ready = False  # BRO stays 0x00
        self._wrong_length: dict[str, int] = {}  # message → the length it goes out with
        self._aborted: set[str] = set()  # TP messages whose every transfer is aborted
        self._bcp_max_voltage_v: float | None = None  # BCP's maximum charging voltage, scripted

    # == the session's controls ============================================================
    def start(self) -> None:
        """Power up (when the 12 V supply is on and the vehicle is awake) and wait for CHM."""
        self.started = True
        if self.aux_power and not self.asleep:
            self._boot()

    def set_aux_power(self, on: bool) -> None:
        """What the charger's 12 V auxiliary supply does (the session reports it)."""
        now = self.clock.now()
        if not on and self.aux_power:
            self.aux_power = False
            self._aux_off_at = now
            self.event("aux_power", on=False)
            self._power_down("asleep" if self.asleep else "off")
        elif on and not self.aux_power:
            self.aux_power = True
            off_for = now - (self._aux_off_at if self._aux_off_at is not None else now)
            self.event("aux_power", on=True, off_for_s=off_for)
            if self.asleep and off_for >= self.config.wake_min_off_s:
                self.asleep = False
                self.event("woken", off_for_s=off_for)
            if self.asleep:
                self.set_phase("asleep")
            elif self.started:
                self._boot()

    def sleep(self) -> None:
        """Fall asleep: answer nothing until the 12 V supply has been cycled off and on."""
        self.asleep = True
        self.event("sleep")
        self._power_down("asleep")

    def request(self, voltage_v: float, current_a: float, mode: str = "cc") -> None:
        """What BCL asks for from now on: mode "cc" (BCL mode 2) or "cv" (mode 1).

        ``current_a`` is the charging current as a magnitude; BCL carries it negative.
        """
        self._cancel_profile()
        self._set_demand(voltage_v, current_a, mode)

    def request_profile(self, steps: Sequence[tuple[float, float, float, str]]) -> None:
        """A demand over time: (t seconds from now, V, A, mode) steps."""
        for _, v, i, mode in steps:
            self._check_demand(v, i, mode)
        self._cancel_profile()
        for t, v, i, mode in steps:
            self._profile_timers.append(self.clock.call_later(t, self._set_demand, v, i, mode))

    def report_abnormal(self, condition: str) -> None:
        """Report an abnormal BSM status: cell_overvoltage, cell_undervoltage, soc_high, soc_low,
        overcurrent, overtemperature, insulation or connector (no BST is sent)."""
        self.battery.report_abnormal(condition)
        self.event("abnormal", condition=condition)

    def clear_abnormal(self) -> None:
        self.battery.clear_abnormal()
        self.event("abnormal_cleared")

    def set_charging_allowed(self, allowed: bool) -> None:
        self.battery.charging_allowed = allowed

    def set_cell_voltages(self, values: float | Sequence[float]) -> None:
        """Cell voltages reported through BCS/BSM/BMV/BSD and the extension frame (no BST)."""
        self.battery.set_cell_voltages(values)

    def set_temperatures(self, values: float | Sequence[float], spread_c: float = 0.0) -> None:
        """Probe temperatures reported through BSM/BMT/BSD (no BST)."""
        self.battery.set_temperatures(values, spread_c)

    def set_voltage_reading(self, volts: float | None) -> None:
        """The pack voltage BCS reports, in place of the measured one (None: the measured again;
        no BST): the vehicle's own reading of its battery."""
        self.battery.voltage_reading_v = None if volts is None else float(volts)

    def set_soc(self, soc_pct: float) -> None:
        self.battery.soc_pct = float(soc_pct)

    def go_silent(self, messages: Iterable[str] | None = None) -> None:
        """Stop transmitting (``messages`` by name, or everything); the state machine runs on."""
        self.silence(messages)

    def stop(self, reason: str = "soc_reached", faults: Iterable[str] = (), errors: Iterable[str] = ()) -> bool:
        """Stop charging with a BST (reason, faults and errors are BST field names).

        Returns False when there is no session to stop.
        """
        flags = [reason, *faults, *errors]
        unknown = [f for f in flags if f not in BST_FLAGS]
        if unknown:
            raise BenchError(f"BST has no field {', '.join(unknown)}; fields: {', '.join(sorted(BST_FLAGS))}")
        if self.phase not in ACTIVE or self.phase in ("stopping", "statistics"):
            return False
        self.event("stop", flags=flags)
        self._begin_stop({flag: "yes" for flag in flags})
        return True

    # == scripted anomalies (the charger's reactions are judged: issue 13) ====================
    def hold_timeouts(self, on: bool = True) -> None:
        """While on, the BMS's own receive timeouts are noted but not acted on (no BEM), so
        that only the charger's reaction to the anomaly shows on the bus."""
        self.patient = on
        self.event("hold_timeouts", on=on)

    def stay_not_ready(self, on: bool = True) -> None:
        """BRO stays 0x00 (not ready) for good; the BMS then waits for no CRO(0xAA)."""
        self.never_ready = on
        self.event("stay_not_ready", on=on)

    def send_wrong_length(self, name: str, length: int | None) -> None:
        """``name`` goes out ``length`` bytes long from now (cut, or padded with 0xFF), a DLC
        the standard does not give; None: the right length again."""
        if length is None:
            self._wrong_length.pop(name, None)
        else:
            self._wrong_length[name] = length
        self.event("wrong_length", message=name, length=length)

    def abort_transfers(self, name: str, on: bool = True) -> None:
        """Every J1939 TP transfer of ``name`` is aborted in the middle: RTS, the first data
        packet once the charger's CTS came, then TP.Conn_Abort; the message never arrives."""
        if on:
            self._aborted.add(name)
        else:
            self._aborted.discard(name)
        self.event("abort_transfers", message=name, on=on)

    def announce_max_charge_voltage(self, volts: float | None) -> None:
        """BCP gives ``volts`` as the maximum charging voltage from now (None: the configured
        one again): a vehicle the charger may not be able to charge."""
        self._bcp_max_voltage_v = None if volts is None else float(volts)
        self.event("bcp_max_voltage", volts=volts)

    def restart_handshake(self) -> bool:
        """The BMS starts its handshake over in the middle of a session, as after a reset of
        its own: everything it was sending stops and it sends BHM again (the 12 V stays on);
        False when no session was going on."""
        if self.phase not in ACTIVE:
            return False
        self.event("restart_handshake", was=self.phase)
        self.quiet()
        self._cancel_profile()
        self.reconnects = 0
        self.set_phase("handshake")
        self.every("BHM", BY_NAME["BHM"].period_s, lambda: {"max_charge_voltage": self.config.max_charge_voltage_v})
        return True

    def send(self, name: str, values: dict[str, Any], length: int | None = None) -> None:
        if self._silent_all or name in self._silenced or (name not in self._wrong_length and name not in self._aborted):
            super().send(name, values, length)
            return
        codec = CODEC.by_name[name]
        data = codec.encode(values, length)
        if name in self._aborted and len(data) > 8:
            self._send_aborted(codec.spec.pgn, data)
            return
        wrong = self._wrong_length.get(name)
        if wrong is not None:
            data = (data + b"\xff" * wrong)[:wrong]
        self.transport.send(codec.spec.pgn, data, self.peer_address, codec.spec.priority)

    def _send_aborted(self, pgn: int, data: bytes) -> None:
        """RTS, then (once the charger's CTS is in: ``ABORT_PACKET_DELAY_S``) the first data
        packet and TP.Conn_Abort. Written here, on the transport's frame helpers, so that the
        transport itself never aborts a transfer it could finish."""
        self._tp_frame(TP_CM_PGN, tp.rts(len(data), pgn))
        first = tp.dt_packets(data)[0]
        self.clock.call_later(ABORT_PACKET_DELAY_S, self._tp_frame, TP_DT_PGN, first)
        self.clock.call_later(2 * ABORT_PACKET_DELAY_S, self._tp_frame, TP_CM_PGN, tp.abort(ABORT_REASON, pgn))

    def _tp_frame(self, pgn: int, data: bytes) -> None:
        can_id = frame_id(TP_PRIORITY, pgn, self.peer_address, self.address)
        self.bus.send(can.Message(arbitration_id=can_id, data=data, is_extended_id=True))

    @property
    def charger(self) -> PeerView:
        """The charger's data as learned from its frames (``peer``): last values per message."""
        return self.peer

    # == receiving =========================================================================
    def _on_CHM(self, values: dict[str, Any], t: float) -> None:
        if self.phase == "waiting":
            self.set_phase("handshake")
            self.every("BHM", BY_NAME["BHM"].period_s, lambda: {"max_charge_voltage": self.config.max_charge_voltage_v})
            self.expect("crm_00", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("crm_00_timeout"))
        elif self.phase == "handshake":
            self.feed("crm_00")  # CHM keeps the handshake alive during the insulation check

    def _on_CRM(self, values: dict[str, Any], t: float) -> None:
        recognized = values["recognition"] == "recognized"
        if not recognized and self.phase in ("waiting", "handshake", "error"):
            self.quiet()
            self.set_phase("recognition")
            self.every("BRM", BY_NAME["BRM"].period_s, self._brm, length=self.config.brm_length)
            self.expect("crm_aa", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("crm_aa_timeout"))
        elif recognized and self.phase == "recognition":
            self.quiet()
            self.set_phase("configuration")
            self.every("BCP", BY_NAME["BCP"].period_s, self._bcp)
            self.expect("cml", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("cml_cts_timeout"))

    def _on_CML(self, values: dict[str, Any], t: float) -> None:
        if self.phase != "configuration" or self.sending("BRO"):
            return
        self.quiet()
        self._ready = False
        self.every("BRO", BY_NAME["BRO"].period_s, lambda: {"ready": "ready" if self._ready else "not_ready"})
        self.later(self.config.bro_ready_delay_s, self._become_ready)
        self.expect("cro", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("cro_timeout"))
        if not self.never_ready:
            self.expect("cro_ready", timing.READY_TIMEOUT_S, lambda: self._timeout("cro_timeout"))

    def _become_ready(self) -> None:
        if self.never_ready:
            return
        self._ready = True
        self.event("ready")

    def _on_CRO(self, values: dict[str, Any], t: float) -> None:
        if self.phase != "configuration" or not self.sending("BRO"):
            return
        self.unexpect("cro")
        if values["ready"] == "ready" and self._ready:
            self._start_charging()

    def _on_CCS(self, values: dict[str, Any], t: float) -> None:
        if self.phase == "charging":
            self.feed("ccs")

    def _on_CST(self, values: dict[str, Any], t: float) -> None:
        if self.phase in ("configuration", "charging"):
            self.event("charger_stop", cst=values)
            self._begin_stop({"charger_stopped": "yes"})
        if self.phase == "stopping" and not self._cst_seen:
            self._cst_seen = True
            self.unexpect("cst")
            self.later(max(0.0, self._bst_since + BST_MIN_S - self.clock.now()), self._start_statistics)

    def _on_CSD(self, values: dict[str, Any], t: float) -> None:
        if self.phase == "statistics" and not self._csd_seen:
            self._csd_seen = True
            self.unexpect("csd")
            self.later(timing.END_HOLD_S, self.end)

    def _on_CEM(self, values: dict[str, Any], t: float) -> None:
        if self.phase in ACTIVE:
            self.event("cem", cem=values)
            self.enter_error(None, self._await_restart)

    # == phases ============================================================================
    def _boot(self) -> None:
        self.quiet()
        self.listening = True
        self.reconnects = 0
        self.set_phase("waiting")

    def _power_down(self, phase: str) -> None:
        self.quiet()
        self._cancel_profile()
        self.listening = False
        self.set_phase(phase)

    def _start_charging(self) -> None:
        self.quiet()
        self.set_phase("charging")
        self._last_bcs = None
        self.every("BCL", BY_NAME["BCL"].period_s, self._bcl)
        self.repeat("BCS", BY_NAME["BCS"].period_s, self._send_bcs)
        self.every("BSM", BY_NAME["BSM"].period_s, self.battery.bsm)
        if self.config.send_bmv:
            self.every("BMV", BY_NAME["BMV"].period_s, self.battery.bmv)
        if self.config.send_bmt:
            self.every("BMT", BY_NAME["BMT"].period_s, self.battery.bmt)
        for ext in self.extension.messages if self.extension is not None else ():
            self.repeat(
                ext.name,
                ext.period_s,
                # mypy cannot infer a lambda with a default argument
                lambda ext=ext: self.send_extension(ext, self.battery.extension()),  # type: ignore[misc]
            )
        self.expect("ccs", timing.CCS_TIMEOUT_S, lambda: self._timeout("ccs_timeout"))

    def _begin_stop(self, bst: dict[str, str]) -> None:
        self.quiet()
        self.set_phase("stopping")
        self._bst_values = bst
        self._bst_since = self.clock.now()
        self._cst_seen = False
        self.every("BST", BY_NAME["BST"].period_s, lambda: self._bst_values)
        self.expect("cst", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("cst_timeout"))

    def _start_statistics(self) -> None:
        self.quiet()
        self.set_phase("statistics")
        self._csd_seen = False
        self.every("BSD", BY_NAME["BSD"].period_s, self.battery.bsd)
        self.expect("csd", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("csd_timeout"))

    def _timeout(self, flag: str) -> None:
        if self.patient:
            self.event("timeout_held", flag=flag)
            return
        self.event("timeout", flag=flag)
        self.enter_error(flag, self._await_restart)

    def _await_restart(self) -> None:
        """After an error: wait for the charger to restart with CRM(0x00), or give up."""
        if self.next_attempt():
            self.expect("crm_00", timing.DEFAULT_TIMEOUT_S, lambda: self._timeout("crm_00_timeout"))

    # == message values ====================================================================
    def measure(self) -> tuple[float, float]:
        """Pack voltage and charging current: the bench's measurement, else the last CCS."""
        if self.measure_fn is not None:
            return self.measure_fn()
        ccs = self.peer.get("CCS")
        if ccs is not None and ccs.get("output_voltage") is not None and ccs.get("output_current") is not None:
            return ccs["output_voltage"], -ccs["output_current"]
        return sum(self.battery.cell_voltages), 0.0

    def _brm(self) -> dict[str, Any]:
        cfg = self.config
        values = {
            "protocol_version": cfg.bms_protocol_version,
            "battery_type": cfg.battery_type,
            "rated_capacity": cfg.capacity_ah,
            "rated_voltage": cfg.rated_voltage_v,
            "maker": cfg.maker,
            "vin": cfg.vin,
            **BRM_DETAILS,
        }
        if cfg.brm_length == 49:
            values.update(BMS_SOFTWARE)
        return values

    def _bcp(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "max_cell_voltage": cfg.max_cell_voltage_v,
            "max_charge_current": -cfg.max_charge_current_a,
            "nominal_energy": cfg.nominal_energy_kwh,
            "max_charge_voltage": cfg.max_charge_voltage_v
            if self._bcp_max_voltage_v is None
            else self._bcp_max_voltage_v,
            "max_temperature": cfg.max_temperature_c,
            "soc": round(self.battery.soc_pct, 1),
            "battery_voltage": self.measure()[0],
        }

    def _bcl(self) -> dict[str, Any]:
        voltage, current, mode = self.demand
        return {"voltage_demand": voltage, "current_demand": -current, "mode": mode}

    def _send_bcs(self) -> None:
        now = self.clock.now()
        voltage, current = self.measure()
        if self._last_bcs is not None:
            self.battery.integrate(current, now - self._last_bcs)
        self._last_bcs = now
        self.send("BCS", self.battery.bcs(voltage, current))

    # == demand ============================================================================
    @staticmethod
    def _check_demand(voltage_v: float, current_a: float, mode: str) -> None:
        if mode not in ("cc", "cv"):
            raise BenchError(f"BCL mode {mode!r}: 'cc' (constant current) or 'cv' (constant voltage)")
        CODEC.encode("BCL", {"voltage_demand": voltage_v, "current_demand": -current_a, "mode": mode})

    def _set_demand(self, voltage_v: float, current_a: float, mode: str) -> None:
        self._check_demand(voltage_v, current_a, mode)
        self.demand = (float(voltage_v), float(current_a), mode)
        self.event("request", voltage_v=voltage_v, current_a=current_a, mode=mode)

    def _cancel_profile(self) -> None:
        for timer in self._profile_timers:
            timer.cancel()
        self._profile_timers.clear()
