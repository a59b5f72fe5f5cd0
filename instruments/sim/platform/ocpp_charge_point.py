"""The simulated pile's OCPP 1.6J side: a charge point that connects to the bench's Central
System and serves a PlatformPort.

Calls from the Central System (RemoteStart/StopTransaction, SetChargingProfile,
TriggerMessage, ChangeConfiguration, DataTransfer) reach the port from the OCPP thread,
inside ``clock.lock``. What the pile sends on its own (StatusNotification, Start/
StopTransaction for its start/stop events, StatusNotification with an errorCode for its
other events, BmsInfo, MeterValues, Heartbeat) is triggered from clock callbacks and stamped
with the pile's clock (``port.clock()``), never the wall clock.

Determinism (docs/design.md#one-clock-two-speeds): under a virtual clock a callback sends its
message and waits (real time, bounded) until the CALLRESULT is back, and the charge point
is an in-flight source on the clock, so every message is delivered and answered before
time moves on. Unique ids are a counter. Under a real clock callbacks only queue the
message (they run with ``clock.lock`` held and must not wait on the OCPP thread).

A connection the pile did not close itself (the Central System closed it, the link went) is
a platform link loss: the pile tells its port (``link_lost``: it records a communication fault)
and connects again at every check until it is back (``link_restored``), then sends its status
and what it queued meanwhile. It sends no BootNotification again: it did not reboot.

Security profiles (OCPP 1.6 Security Whitepaper) as the profile's ``[dut.ocpp]`` says: with a
``password`` (the AuthorizationKey) the charge point sends HTTP Basic credentials (username
its id, password the key's bytes); a ``wss://`` Central System is verified against
``ca_file`` (TLS ≥ 1.2, host name checked). Frames from the Central System are read with the
same guards as the bench's (ocpp_mapping.parse_message); a refused one is kept in ``errors``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
import threading
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

import websockets
from ocpp.exceptions import OCPPError
from ocpp.messages import Call
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from bench.core.clock import Clock, Handle, Periodic
from bench.protocols.platform import ocpp_mapping as m
from bench.protocols.platform.loop_thread import LoopThread
from bench.protocols.platform.vocabulary import EVENT_KINDS, on_off
from instruments.sim.plant.ports import PlatformPort

TRIGGERABLE = ("MeterValues", "StatusNotification", "Heartbeat")
# A connection the Central System closed is tried again at every check (check_period_s), each
# attempt given this long (real seconds): a design figure of this simulated pile.
RECONNECT_TIMEOUT_S = 2.0
CONFIGURABLE = ("MeterValueSampleInterval", "HeartbeatInterval")
REFUSALS = {
    HTTPStatus.UNAUTHORIZED: "wrong or missing credentials",
    HTTPStatus.NOT_FOUND: "unknown charge point id",
    HTTPStatus.CONFLICT: "a charge point with this id is connected already",
}


def _quiet(name: str, keep: Callable[[str], None]) -> logging.Logger:
    """A logger of its own: errors the libraries log become one line in ``errors``; nothing
    reaches stderr, and nothing below ERROR is kept (websockets logs headers at DEBUG)."""

    class Keep(logging.Handler):
        def emit(self, record):
            try:
                text = record.getMessage()
            except Exception:
                text = str(record.msg)
            if record.exc_info and record.exc_info[1] is not None:
                text += f" ({type(record.exc_info[1]).__name__})"
            keep(m.short(text, 300, quote=False))

        def handleError(self, record):
            pass

    logger = logging.Logger(name, logging.ERROR)
    logger.propagate = False
    logger.addHandler(Keep(logging.ERROR))
    return logger


class SimChargePoint:
    def __init__(
        self,
        port: PlatformPort,
        clock: Clock,
        central_system_url: str,
        charge_point_id: str,
        *,
        vendor: str = "Simulated",
        model: str = "sim pile",
        meter_interval_s: float = 10.0,
        check_period_s: float = 1.0,
        call_timeout_s: float = 5.0,
        password: m.Secret | None = None,
        ca_file: str | Path | None = None,
        max_frame_bytes: int = m.MAX_FRAME_BYTES,
    ):
        self.port = port
        self.password = password  # the AuthorizationKey (security profiles 1, 2); never shown
        self.ca_file = ca_file
        self.max_frame_bytes = max_frame_bytes
        self.clock = clock
        self.charge_point_id = charge_point_id
        self.url = f"{central_system_url.rstrip('/')}/{quote(charge_point_id)}"
        self.vendor = vendor
        self.model = model
        self.meter_interval_s = meter_interval_s
        self.check_period_s = check_period_s
        self.call_timeout_s = call_timeout_s
        self.errors: list[str] = []  # calls that failed (no answer, CALLERROR, closed)
        self._loop: LoopThread | None = None
        self._websocket = None
        self._cp: _ChargePoint | None = None
        self._open = False
        self._shut_down = False  # the pile itself closed (close, drop): no reconnection
        self._link_down = False  # a link loss told to the port, not yet its end
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self._send_lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._periodics: dict[str, Periodic] = {}
        self._in_flight_handle: Handle | None = None
        self._status: str | None = None
        self._transaction_id: int | None = None
        self._id_tag: str | None = None
        self._remote_stop = False
        self._bms_sent: dict | None = None
        self._battery_sent: dict | None = None

    # -- life -------------------------------------------------------------------------------
    def connect(self, timeout_s: float = 10.0) -> None:
        """Connect, send BootNotification and the connector's status, start the periodic
        messages. ConnectionRefusedError when the Central System refuses this id."""
        self._loop = LoopThread(f"sim-ocpp-{self.charge_point_id}")
        try:
            self._websocket = self._loop.run(self._open_websocket(timeout_s), timeout_s + 1.0)
        except websockets.InvalidStatus as exc:
            self._loop.stop()
            status = exc.response.status_code
            meaning = f" ({REFUSALS[status]})" if status in REFUSALS else ""
            raise ConnectionRefusedError(
                f"central system at {self.url} refused charge point {self.charge_point_id!r}: HTTP {status}{meaning}"
            ) from None
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            self._loop.stop()
            raise ConnectionError(
                f"cannot connect to the central system at {self.url}: {type(exc).__name__}: {exc}"
            ) from None
        self._cp = _ChargePoint(self.charge_point_id, self._websocket, self)
        self._loop.submit(self._serve())
        self._open = True
        self._in_flight_handle = self.clock.add_in_flight_source(self)
        boot = call.BootNotification(charge_point_vendor=self.vendor, charge_point_model=self.model)
        self._send(lambda: boot).result(self.call_timeout_s + 1.0)
        with self.clock.lock:
            self._check_status()
        self._every("check", self.check_period_s, self._tick)
        self._every("meter", self.meter_interval_s, self._send_meter_values)

    async def _open_websocket(self, timeout_s: float):
        headers = {}
        if self.password is not None:
            headers["Authorization"] = m.basic_auth_header(self.charge_point_id, self.password)
        tls = None
        if self.url.startswith("wss://"):
            tls = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            tls.minimum_version = ssl.TLSVersion.TLSv1_2
        return await websockets.connect(
            self.url,
            subprotocols=[m.SUBPROTOCOL],
            proxy=None,
            ping_interval=None,
            open_timeout=timeout_s,
            additional_headers=headers,
            ssl=tls,
            max_size=self.max_frame_bytes,
            logger=_quiet("sim.ocpp.websockets", self.errors.append),
        )

    async def _serve(self) -> None:
        try:
            await self._cp.start()
        except websockets.ConnectionClosed:
            pass
        finally:
            self._open = False

    def _reconnect(self) -> bool:
        """One attempt to connect again after a link loss (clock callback); True once back."""
        if self._loop is None:  # closed while the link was down
            return False
        try:
            self._websocket = self._loop.run(self._open_websocket(RECONNECT_TIMEOUT_S), RECONNECT_TIMEOUT_S + 1.0)
        except (OSError, TimeoutError, websockets.InvalidHandshake):
            return False  # refused or unreachable: again at the next check
        self._cp = _ChargePoint(self.charge_point_id, self._websocket, self)
        self._open = True
        self._loop.submit(self._serve())
        self._link_down = False
        self.port.link_restored()
        self._check_status(force=True)
        return True

    def close(self) -> None:
        """Disconnect cleanly (close frame)."""
        self._shut(abort=False)

    def drop(self) -> None:
        """The pile disappears: the TCP connection is cut without a close frame."""
        self._shut(abort=True)

    def _shut(self, abort: bool) -> None:
        self._shut_down = True
        self._open = False
        for periodic in self._periodics.values():
            periodic.cancel()
        self._periodics.clear()
        if self._loop is not None and self._loop.running:
            if self._websocket is not None:
                try:
                    if abort:
                        self._loop.loop.call_soon_threadsafe(self._websocket.transport.abort)
                    else:
                        self._loop.run(self._websocket.close(), 5.0)
                except TimeoutError:
                    pass
            self._loop.stop()
        if self._in_flight_handle is not None:
            self._in_flight_handle.remove()
            self._in_flight_handle = None

    def in_flight(self) -> int:
        with self._count_lock:
            return self._in_flight

    # -- sending ----------------------------------------------------------------------------
    def _send(self, build: Callable):
        """Send the payload ``build()`` makes (built when its turn comes, so it sees the
        transaction id of a StartTransaction sent before it)."""
        with self._count_lock:
            self._in_flight += 1
        future = self._loop.submit(self._deliver(build))
        if self.clock.virtual and not self._loop.in_loop():
            try:
                future.result(self.call_timeout_s + 1.0)
            except Exception:  # recorded in _deliver
                pass
        return future

    async def _deliver(self, build: Callable) -> None:
        payload = None
        try:
            async with self._send_lock:
                payload = build()
                result = await self._cp.call(payload, suppress=False, unique_id=f"cp{next(self._ids)}")
                self._answered(payload, result)
        except Exception as exc:
            self.errors.append(f"{type(payload).__name__}: {type(exc).__name__}: {exc}")
        finally:
            with self._count_lock:
                self._in_flight -= 1

    def _answered(self, payload, result) -> None:
        if isinstance(payload, call.BootNotification):
            self._every("heartbeat", float(result.interval), self._send_heartbeat)
        elif isinstance(payload, call.StartTransaction):
            self._transaction_id = result.transaction_id
        elif isinstance(payload, call.StopTransaction):
            self._transaction_id = None

    def _every(self, name: str, period: float, fn: Callable) -> None:
        old = self._periodics.pop(name, None)
        if old is not None:
            old.cancel()
        if period > 0 and self._open:
            self._periodics[name] = self.clock.every(period, fn, first_delay=period)

    # -- what the pile sends on its own (clock callbacks) -------------------------------------
    def _tick(self) -> None:
        if not self._open:
            if self._shut_down or self._loop is None or not self._loop.running:
                return
            if not self._link_down:
                self._link_down = True
                self.port.link_lost("connection to the central system closed")
            if not self._reconnect():
                return
        for event in self.port.events():
            self._send_event(event)
        self._check_status()
        bms = self._bms_values()
        if bms and bms != self._bms_sent:
            self._bms_sent = bms
            data = m.bms_data(bms)
            self._send(lambda: call.DataTransfer(vendor_id=m.VENDOR_ID, message_id=m.BMS_INFO, data=data))
        battery = self.port.battery_status()
        if battery and battery != self._battery_sent:
            self._battery_sent = battery
            status = m.battery_status_data(battery)
            self._send(lambda: call.DataTransfer(vendor_id=m.VENDOR_ID, message_id=m.BATTERY_STATUS, data=status))

    def _check_status(self, force: bool = False) -> None:
        status = m.status_for_state(self.port.current_state())
        if status != self._status or force:
            self._status = status
            stamp = m.to_iso(self.port.clock())
            self._send(
                lambda: call.StatusNotification(
                    connector_id=m.CONNECTOR_ID, error_code="NoError", status=status, timestamp=stamp
                )
            )

    def _send_event(self, event: dict) -> None:
        kind = event.get("kind")
        stamp = m.to_iso(event["pile_time"])
        detail = str(event.get("detail", ""))
        if kind == "start":
            meter, id_tag = self._meter_wh(), self._id_tag or "LOCAL"
            self._send(
                lambda: call.StartTransaction(
                    connector_id=m.CONNECTOR_ID, id_tag=id_tag, meter_start=meter, timestamp=stamp
                )
            )
        elif kind == "stop":
            meter, reason = self._meter_wh(), "Remote" if self._remote_stop else "Local"
            self._remote_stop = False
            self._send(
                lambda: call.StopTransaction(
                    meter_stop=meter, timestamp=stamp, reason=reason, transaction_id=self._transaction_id or 0
                )
            )
        else:
            if kind not in EVENT_KINDS:
                self.errors.append(f"the plant reported an unknown event kind {kind!r}; sent as anomaly")
                detail, kind = f"{kind}: {detail}", "anomaly"
            status = "Faulted" if kind == "protection" else self._status
            self._status = status
            self._send(
                lambda: call.StatusNotification(
                    connector_id=m.CONNECTOR_ID,
                    error_code=m.EVENT_ERROR_CODES[kind],
                    status=status,
                    timestamp=stamp,
                    info=detail[:50],
                    vendor_id=m.VENDOR_ID,
                    vendor_error_code=kind,
                )
            )

    def _send_meter_values(self, context: str = "Sample.Periodic") -> None:
        if not self._open:
            return
        values = self.port.realtime()
        stamp = m.to_iso(self.port.clock())
        sampled = []
        for key, measurand in m.MEASURANDS.items():
            value = values.get(key)
            if value is None:
                continue
            if key == "energy_kwh":
                value = value * 1000.0  # reported in Wh
            sampled.append(
                {
                    "value": repr(round(float(value), 3)),
                    "context": context,
                    "measurand": measurand,
                    "unit": m.MEASURAND_UNITS[key],
                }
            )
        self._send(
            lambda: call.MeterValues(
                connector_id=m.CONNECTOR_ID,
                transaction_id=self._transaction_id,
                meter_value=[{"timestamp": stamp, "sampledValue": sampled}],
            )
        )

    def _send_heartbeat(self) -> None:
        if self._open:
            self._send(lambda: call.Heartbeat())

    def _meter_wh(self) -> int:
        return int(round(float(self.port.realtime().get("energy_kwh") or 0.0) * 1000))

    def _bms_values(self) -> dict:
        values = dict(self.port.bms_info())
        for name in ("heating_status", "cooling_status"):
            if values.get(name) is not None:
                values[name] = on_off(values[name])
        return {k: v for k, v in values.items() if v is not None}

    # -- calls from the Central System (OCPP thread) ------------------------------------------
    def remote_start(self, id_tag: str, profile: dict | None) -> str:
        with self.clock.lock:
            self._id_tag = id_tag
            at = _timed_start_at(profile) if profile else None
            try:
                if at is not None:
                    self.port.timed_start(at)
                    return "Accepted"
                self.port.start()
                if profile:
                    self._apply_profile(profile)
            except ValueError:
                return "Rejected"
        return "Accepted"

    def remote_stop(self) -> str:
        with self.clock.lock:
            self._remote_stop = True
            self.port.stop()
        return "Accepted"

    def set_charging_profile(self, profile: dict) -> str:
        with self.clock.lock:
            try:
                return self._apply_profile(profile)
            except (ValueError, KeyError):
                return "Rejected"

    def _apply_profile(self, profile: dict) -> str:
        schedule = profile["charging_schedule"]
        unit = schedule["charging_rate_unit"]
        now = self.port.clock()
        start = (
            m.from_iso(schedule["start_schedule"])
            if profile["charging_profile_kind"] == "Absolute" and schedule.get("start_schedule")
            else now
        )
        current, future = None, []
        for period in sorted(schedule["charging_schedule_period"], key=lambda p: p["start_period"]):
            at, limit = start + period["start_period"], float(period["limit"])
            if at <= now:
                current = limit
            else:
                future.append((at, limit))
        if future and unit != "W":
            return "Rejected"  # the pile has no timed current change
        if current is not None:
            (self.port.set_power_limit if unit == "W" else self.port.set_current_limit)(current)
        for at, limit in future:
            self.port.timed_power_change(at, limit)
        return "Accepted"

    def data_transfer(self, vendor_id: str, message_id: str | None, data: str | None) -> tuple[str, str | None]:
        if vendor_id != m.VENDOR_ID:
            return "UnknownVendorId", None
        with self.clock.lock:
            try:
                if message_id == m.WAKE_VEHICLE:
                    self.port.wake_vehicle()
                    return "Accepted", None
                if message_id == m.SET_CLOCK:
                    self.port.set_clock(m.parse_clock_data(data))
                    return "Accepted", None
                if message_id == m.GET_CLOCK:
                    return "Accepted", m.clock_data(self.port.clock())
                if message_id == m.GET_BMS_INFO:
                    return "Accepted", m.bms_data(self._bms_values())
                if message_id == m.GET_BATTERY_STATUS:
                    return "Accepted", m.battery_status_data(self.port.battery_status())
            except ValueError:
                return "Rejected", None
        return "UnknownMessageId", None

    def change_configuration(self, key: str, value: str) -> str:
        if key not in CONFIGURABLE:
            return "NotSupported"
        try:
            seconds = int(value)
        except ValueError:
            return "Rejected"
        if seconds < 0:
            return "Rejected"
        if key == "MeterValueSampleInterval":
            self._every("meter", float(seconds), self._send_meter_values)
        else:
            self._every("heartbeat", float(seconds), self._send_heartbeat)
        return "Accepted"

    def triggered(self, requested: str) -> None:
        """After TriggerMessage.conf: send the requested message (the bench is waiting for it)."""
        with self.clock.lock:
            if requested == "MeterValues":
                self._send_meter_values("Trigger")
            elif requested == "StatusNotification":
                self._check_status(force=True)
            elif requested == "Heartbeat":
                self._send_heartbeat()


def _timed_start_at(profile: dict) -> float | None:
    """The start time of a timed-start profile: limit 0 from startSchedule, then a positive
    limit from a later period (the form the bench sends, README.md); None otherwise."""
    schedule = profile.get("charging_schedule", {})
    if profile.get("charging_profile_kind") != "Absolute" or not schedule.get("start_schedule"):
        return None
    periods = sorted(schedule.get("charging_schedule_period", []), key=lambda p: p["start_period"])
    if not periods or float(periods[0]["limit"]) != 0:
        return None
    for period in periods[1:]:
        if float(period["limit"]) > 0:
            return m.from_iso(schedule["start_schedule"]) + period["start_period"]
    return None


class _ChargePoint(ChargePoint):
    """The ocpp library's charge point; every call goes to the SimChargePoint."""

    def __init__(self, charge_point_id: str, websocket, owner: SimChargePoint):
        super().__init__(
            charge_point_id,
            websocket,
            response_timeout=owner.call_timeout_s,
            logger=_quiet("sim.ocpp", owner.errors.append),
        )
        self.owner = owner

    async def route_message(self, raw_msg):
        """The library's routing behind the same guards as the bench's Central System: a
        refused frame is kept in ``owner.errors`` (and answered with a CALLERROR where it can be)."""
        if isinstance(raw_msg, bytes):
            self.owner.errors.append("refused a binary frame from the central system")
            return
        try:
            msg = m.parse_message(raw_msg)
        except m.FrameError as exc:
            self.owner.errors.append(f"refused a frame from the central system [{exc.kind}]: {exc.cause}")
            if exc.unique_id is not None:
                await self._send(m.call_error_frame(exc.unique_id, exc.error_code, exc.cause))
            return
        if isinstance(msg, Call):
            try:
                await self._handle_call(msg)
            except OCPPError as exc:
                self.owner.errors.append(f"refused {m.short(msg.action, 40)} from the central system: {exc.code}")
                await self._send(
                    m.call_error_frame(msg.unique_id, exc.code, m.short(exc.description, 200, quote=False))
                )
        else:
            self._response_queue.put_nowait(msg)

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag, connector_id=None, charging_profile=None):
        return call_result.RemoteStartTransaction(status=self.owner.remote_start(id_tag, charging_profile))

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id):
        return call_result.RemoteStopTransaction(status=self.owner.remote_stop())

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, connector_id, cs_charging_profiles):
        return call_result.SetChargingProfile(status=self.owner.set_charging_profile(cs_charging_profiles))

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(self, **_):
        return call_result.ClearChargingProfile(status="Accepted")

    @on(Action.change_configuration)
    def on_change_configuration(self, key, value):
        return call_result.ChangeConfiguration(status=self.owner.change_configuration(key, value))

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message, connector_id=None):
        return call_result.TriggerMessage(status="Accepted" if requested_message in TRIGGERABLE else "NotImplemented")

    @after(Action.trigger_message)
    def after_trigger_message(self, requested_message, connector_id=None):
        if requested_message in TRIGGERABLE:
            self.owner.triggered(requested_message)

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id, message_id=None, data=None):
        status, answer = self.owner.data_transfer(vendor_id, message_id, data)
        return call_result.DataTransfer(status=status, data=answer)
