"""The platform channel over OCPP 1.6J: the bench runs the Central System, the pile connects.

The Central System (websockets server + ocpp library) lives in one asyncio thread owned by
the channel; the synchronous channel methods submit a call and wait for the pile's answer
for at most ``call_timeout_s`` real seconds. Message mapping: ocpp_mapping.py and README.md
in bench/protocols/platform.

* Only the profile's charge point id is accepted; another id gets HTTP 404 at the
  WebSocket upgrade, is logged with the id it gave, and is raised from the next call.
* A malformed frame (not JSON, not an OCPP message, a payload that breaks the schema) is
  logged and raised once from the next call (PlatformProtocolError); the connection stays
  open and the channel stays usable (a CALL with a bad payload gets a CALLERROR back).
* A lost connection is raised from the next call (PlatformLost); calls without a connected
  charge point raise PlatformLost naming the URL and the expected id.

``realtime()`` asks the pile for fresh MeterValues (TriggerMessage) and returns them;
``latest_realtime`` is the last MeterValues the pile sent on its own or on request.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from http import HTTPStatus
from urllib.parse import quote, unquote, urlsplit

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from ocpp.v16.enums import MessageTrigger

from bench.core.clock import Clock
from bench.core.errors import WaitTimeout
from bench.core.profile import OcppEndpoint
from bench.platform.channel import Event, PlatformChannel, Realtime
from bench.platform.errors import (
    PlatformLost, PlatformProtocolError, PlatformRefused, PlatformValueError,
)
from bench.platform.log import NOTE, MessageLog
from bench.platform.ocpp_session import CentralSystemSession, LoggedConnection
from bench.protocols.platform import ocpp_mapping as m
from bench.protocols.platform.loop_thread import LoopThread
from bench.protocols.platform.vocabulary import round_half_up

HEARTBEAT_INTERVAL_S = 300  # told to the pile in BootNotification.conf (bench choice)


class OcppChannel(PlatformChannel):
    protocol = "ocpp16"

    def __init__(self, endpoint: OcppEndpoint, clock: Clock, log: MessageLog, *, rated_power_w: float,
                 call_timeout_s: float = 10.0, connect_timeout_s: float = 60.0):
        super().__init__(clock, log, f"OCPP 1.6J central system on {endpoint.listen_host}:{endpoint.port}")
        self.charge_point_id = endpoint.charge_point_id
        self.rated_power_w = rated_power_w
        self.call_timeout_s = call_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._session: CentralSystemSession | None = None
        self._connected = threading.Event()
        self._closing = False
        self._counter = itertools.count(1)
        self._transaction_ids = itertools.count(1)
        self._call_errors: dict[str, tuple[str, str]] = {}
        self._arrival = threading.Condition(self._state_lock)
        self._meter_count = 0
        self.latest_realtime: Realtime | None = None
        self.meter_history: list[Realtime] = []
        self.status: dict[int, str] = {}  # connector id -> bench state
        self.transaction_id: int | None = None
        self.bms_upload: dict | None = None  # the last BmsInfo the pile sent on its own
        self.boot: dict | None = None
        self._timed_profile_installed = False
        self._loop = LoopThread("ocpp-central-system")
        try:
            self._server = self._loop.run(self._serve(endpoint.listen_host, endpoint.port), 10.0)
        except (OSError, TimeoutError) as exc:
            self._loop.stop()
            raise PlatformLost(self.endpoint, f"cannot listen: {exc}") from None
        self.port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"ws://{endpoint.listen_host}:{self.port}"
        self.url = f"{self.base_url}/{quote(self.charge_point_id)}"
        self.endpoint = f"OCPP 1.6J central system {self.url}"
        self.log.add(clock.now(), NOTE, self.protocol, f"central system listening for charge point "
                                                       f"{self.charge_point_id!r}")

    # -- connection -----------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._session is not None

    def wait_connected(self, timeout_s: float | None = None) -> None:
        """Wait until the charge point is connected (PlatformLost after the timeout).

        Real seconds under a virtual clock (a pile connects in real time); clock time otherwise.
        """
        timeout_s = self.connect_timeout_s if timeout_s is None else timeout_s
        self._raise_pending()
        if self.clock.virtual:
            ok = self._connected.wait(timeout_s)
        else:
            try:
                self.clock.wait_until(self._connected.is_set, timeout_s, poll=0.05, what="charge point")
                ok = True
            except WaitTimeout:
                ok = False
        self._raise_pending()
        if not ok:
            raise PlatformLost(self.endpoint, f"charge point {self.charge_point_id!r} did not connect "
                                              f"within {timeout_s:g} s")

    def close(self) -> None:
        self._closing = True
        if self._loop.running:
            try:
                self._loop.run(self._shutdown(), 5.0)
            except TimeoutError:
                pass
            self._loop.stop()

    async def _serve(self, host: str, port: int):
        return await websockets.serve(self._handle, host, port, subprotocols=[m.SUBPROTOCOL],
                                      process_request=self._check_id)

    async def _shutdown(self) -> None:
        self._server.close()
        session = self._session
        if session is not None:
            await session._connection.websocket.close()
        await self._server.wait_closed()

    def _check_id(self, connection, request):
        given = _charge_point_id(request.path)
        if given == self.charge_point_id:
            return None
        self._report(PlatformRefused(self.endpoint, f"refused a charge point with id {given!r}: only "
                                                    f"{self.charge_point_id!r} (the profile's charge_point_id) "
                                                    "is accepted"))
        return connection.respond(HTTPStatus.NOT_FOUND, "unknown charge point id\n")

    async def _handle(self, websocket) -> None:
        charge_point_id = _charge_point_id(websocket.request.path)
        session = CentralSystemSession(charge_point_id, LoggedConnection(websocket, self), self,
                                       self._unique_id, self.call_timeout_s)
        previous, self._session = self._session, session
        if previous is not None:  # the same pile reconnecting: the new connection wins
            await previous._connection.websocket.close()
        self.log.add(self.clock.now(), NOTE, self.protocol,
                     f"charge point {charge_point_id!r} connected (subprotocol {websocket.subprotocol})")
        self._connected.set()
        try:
            await session.start()
        except websockets.ConnectionClosed as exc:
            reason = f"close code {exc.rcvd.code}" if exc.rcvd else "no close frame"
        else:
            reason = "closed"
        finally:
            if self._session is session:
                self._session = None
                self._connected.clear()
        if not self._closing and self._session is None:
            self._report(PlatformLost(self.endpoint, f"charge point {charge_point_id!r} disconnected ({reason})"))

    def _unique_id(self) -> str:
        return f"cs{next(self._counter)}"

    # -- commands -------------------------------------------------------------------------
    def _start(self):
        self._accepted("RemoteStartTransaction", call.RemoteStartTransaction(id_tag=m.ID_TAG,
                                                                            connector_id=m.CONNECTOR_ID))

    def _stop(self):
        # A pile that never reported a transaction start gets transaction id 0.
        self._accepted("RemoteStopTransaction", call.RemoteStopTransaction(transaction_id=self.transaction_id or 0))

    def _wake_vehicle(self):
        self._data_transfer(m.WAKE_VEHICLE)

    def _timed_start(self, unix_time: float):
        start = int(min(self.clock.wall_time(), unix_time - 1))  # schedule opens before the start time
        offset = int(round_half_up(unix_time - start))
        profile = {
            "chargingProfileId": m.TIMED_START_PROFILE_ID, "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "startSchedule": m.to_iso(start), "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 0.0},
                                           {"startPeriod": offset, "limit": _limit(self.rated_power_w)}],
            },
        }
        self._accepted("RemoteStartTransaction", call.RemoteStartTransaction(
            id_tag=m.ID_TAG, connector_id=m.CONNECTOR_ID, charging_profile=profile))
        return start + offset

    def _timed_power_change(self, unix_time: float, watts: float):
        at, limit = int(round_half_up(unix_time)), self._checked_limit(watts, "W")
        profile = self._profile(m.TIMED_PROFILE_ID, 1, "Absolute", "W", limit, start=m.to_iso(at))
        self._accepted("SetChargingProfile", call.SetChargingProfile(connector_id=m.CONNECTOR_ID,
                                                                     cs_charging_profiles=profile))
        self._timed_profile_installed = True
        return at, limit

    def _set_power_limit(self, watts: float):
        return self._set_limit(watts, "W")

    def _set_current_limit(self, amps: float):
        return self._set_limit(amps, "A")

    def _set_limit(self, value: float, unit: str) -> float:
        limit = self._checked_limit(value, unit)
        if self._timed_profile_installed:  # else the timed profile (stack level 1) would mask it
            self._call("ClearChargingProfile", call.ClearChargingProfile(id=m.TIMED_PROFILE_ID))
            self._timed_profile_installed = False
        profile = self._profile(m.LIMIT_PROFILE_ID, 0, "Relative", unit, limit)
        self._accepted("SetChargingProfile", call.SetChargingProfile(connector_id=m.CONNECTOR_ID,
                                                                     cs_charging_profiles=profile))
        return limit

    def _profile(self, profile_id: int, stack_level: int, kind: str, unit: str, limit: float,
                 start: str | None = None) -> dict:
        tid = self.transaction_id
        purpose = ({"chargingProfilePurpose": "TxProfile", "transactionId": tid} if tid
                   else {"chargingProfilePurpose": "TxDefaultProfile"})
        schedule = {"chargingRateUnit": unit, "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}
        if start is not None:
            schedule["startSchedule"] = start
        return {"chargingProfileId": profile_id, "stackLevel": stack_level, **purpose,
                "chargingProfileKind": kind, "chargingSchedule": schedule}

    def _checked_limit(self, value: float, unit: str) -> float:
        if not value >= 0:
            raise PlatformValueError(self.endpoint, f"limit {value!r} {unit}: a charging profile limit is ≥ 0; "
                                                    "nothing was sent")
        return _limit(value)

    def _set_clock(self, unix_time: float):
        self._data_transfer(m.SET_CLOCK, m.clock_data(unix_time))
        return m.from_iso(m.to_iso(unix_time))

    def change_configuration(self, key: str, value: str) -> str:
        """OCPP ChangeConfiguration (e.g. MeterValueSampleInterval); returns the pile's status."""
        self._raise_pending()
        return self._call("ChangeConfiguration", call.ChangeConfiguration(key=key, value=str(value))).status

    # -- reads ----------------------------------------------------------------------------
    def _read_clock(self) -> float:
        data = self._data_transfer(m.GET_CLOCK)
        try:
            return m.parse_clock_data(data)
        except ValueError as exc:
            raise PlatformProtocolError(self.endpoint, f"DataTransfer {m.GET_CLOCK} answer: {exc}") from None

    def _realtime(self) -> Realtime:
        with self._state_lock:
            seen = self._meter_count
        result = self._call("TriggerMessage", call.TriggerMessage(requested_message=MessageTrigger.meter_values,
                                                                  connector_id=m.CONNECTOR_ID))
        if result.status != "Accepted":
            if self.latest_realtime is not None:
                return self.latest_realtime
            raise PlatformRefused(self.endpoint, f"TriggerMessage(MeterValues) answered {result.status} "
                                                 "and no MeterValues have arrived yet")
        with self._arrival:
            arrived = self._arrival.wait_for(lambda: self._meter_count > seen, self.call_timeout_s)
        if not arrived:
            raise PlatformLost(self.endpoint, "the pile accepted TriggerMessage(MeterValues) but sent no "
                                              f"MeterValues within {self.call_timeout_s:g} s")
        return self.latest_realtime

    def _bms_info(self) -> dict:
        try:
            data = self._data_transfer(m.GET_BMS_INFO)
        except PlatformRefused:
            if self.bms_upload is not None:
                return dict(self.bms_upload)
            raise
        try:
            return m.parse_bms_data(data)
        except ValueError as exc:
            raise PlatformProtocolError(self.endpoint, f"DataTransfer {m.GET_BMS_INFO} answer: {exc}") from None

    # -- calls ----------------------------------------------------------------------------
    def _data_transfer(self, message_id: str, data: str | None = None) -> str | None:
        what = f"DataTransfer {message_id}"
        result = self._call(what, call.DataTransfer(vendor_id=m.VENDOR_ID, message_id=message_id, data=data))
        if result.status != "Accepted":
            raise PlatformRefused(self.endpoint, f"{what} answered {result.status}")
        return result.data

    def _accepted(self, what: str, payload) -> None:
        result = self._call(what, payload)
        if result.status != "Accepted":
            raise PlatformRefused(self.endpoint, f"{what} answered {result.status}")

    def _call(self, what: str, payload):
        session = self._session
        if session is None:
            raise PlatformLost(self.endpoint, f"{what}: no charge point connected "
                                              f"(expecting {self.charge_point_id!r})")
        unique_id = self._unique_id()
        try:
            return self._loop.run(session.call(payload, suppress=False, unique_id=unique_id),
                                  self.call_timeout_s + 1.0)
        except (TimeoutError, asyncio.TimeoutError):
            raise PlatformLost(self.endpoint, f"{what}: no answer within {self.call_timeout_s:g} s") from None
        except websockets.ConnectionClosed:
            raise PlatformLost(self.endpoint, f"{what}: connection to charge point "
                                              f"{self.charge_point_id!r} closed") from None
        except OCPPError as exc:
            with self._state_lock:
                error = self._call_errors.pop(unique_id, None)
            if error is not None:
                raise PlatformRefused(self.endpoint, f"{what} answered with CALLERROR {error[0]}: {error[1]}") from None
            raise PlatformProtocolError(self.endpoint, f"{what}: the answer breaks the OCPP 1.6 schema "
                                                       f"({exc.code}: {exc.description})") from None

    # -- SessionOwner: called in the OCPP thread ------------------------------------------
    def frame(self, direction: str, text: str) -> None:
        self.log.add(self.clock.now(), direction, self.protocol, text)

    def malformed(self, charge_point_id: str, frame, cause: str) -> None:
        shown = frame if isinstance(frame, str) else frame.hex()
        shown = shown if len(shown) <= 200 else shown[:200] + "…"
        self._report(PlatformProtocolError(self.endpoint, f"malformed OCPP frame from charge point "
                                                          f"{charge_point_id!r}: {cause}; frame {shown!r}"))

    def unsupported(self, charge_point_id: str, frame: str, cause: str) -> None:
        self.log.add(self.clock.now(), NOTE, self.protocol, f"answered CALLERROR to an action the bench "
                                                            f"does not handle: {cause}")

    def call_error(self, unique_id: str, code: str, description: str) -> None:
        with self._state_lock:
            self._call_errors[unique_id] = (code, description)

    def wall_time_iso(self) -> str:
        return m.to_iso(self.clock.wall_time())

    def on_boot(self, vendor: str, model: str, details: dict) -> int:
        self.boot = {"vendor": vendor, "model": model, **details}
        return HEARTBEAT_INTERVAL_S

    def on_status(self, connector_id, error_code, status, timestamp, info, vendor_id, vendor_error_code) -> None:
        state = m.STATUS_TO_STATE.get(status)
        with self._state_lock:
            self.status[connector_id] = state
        kind = m.event_kind(error_code, vendor_id, vendor_error_code)
        if kind is not None:
            self._add_event(Event(kind, self._pile_time(timestamp, "StatusNotification"), self.clock.now(),
                                  info or error_code))

    def on_meter_values(self, connector_id, meter_value, transaction_id) -> None:
        now = self.clock.now()
        try:
            sample = max(meter_value, key=lambda mv: m.from_iso(mv["timestamp"]))
            values = _measurands(sample["sampled_value"])
            pile_time = m.from_iso(sample["timestamp"])
        except (ValueError, KeyError, TypeError) as exc:
            self._report(PlatformProtocolError(self.endpoint, f"MeterValues that cannot be read: {exc}"))
            return
        with self._arrival:
            reading = Realtime(values.get("voltage_v"), values.get("current_a"), values.get("power_w"),
                               self.status.get(m.CONNECTOR_ID), pile_time, now, values.get("energy_kwh"))
            self.latest_realtime = reading
            self.meter_history.append(reading)
            self._meter_count += 1
            self._arrival.notify_all()

    def on_start_transaction(self, connector_id, id_tag, meter_start, timestamp) -> int:
        transaction_id = next(self._transaction_ids)
        self.transaction_id = transaction_id
        self._add_event(Event("start", self._pile_time(timestamp, "StartTransaction"), self.clock.now(),
                              f"transaction {transaction_id}, idTag {id_tag}, meterStart {meter_start} Wh"))
        return transaction_id

    def on_stop_transaction(self, transaction_id, meter_stop, timestamp, reason) -> None:
        if self.transaction_id == transaction_id:
            self.transaction_id = None
        self._add_event(Event("stop", self._pile_time(timestamp, "StopTransaction"), self.clock.now(),
                              f"transaction {transaction_id}, reason {reason or 'Local'}, meterStop {meter_stop} Wh"))

    def on_data_transfer(self, vendor_id: str, message_id: str | None, data: str | None) -> str:
        if vendor_id != m.VENDOR_ID:
            return "UnknownVendorId"
        if message_id != m.BMS_INFO:
            return "UnknownMessageId"
        try:
            values = m.parse_bms_data(data)
        except ValueError as exc:
            self._report(PlatformProtocolError(self.endpoint, f"DataTransfer {m.BMS_INFO}: {exc}"))
            return "Rejected"
        self.bms_upload = values
        return "Accepted"

    def _pile_time(self, timestamp: str | None, what: str) -> float | None:
        if timestamp is None:
            return None
        try:
            return m.from_iso(timestamp)
        except ValueError as exc:
            self._report(PlatformProtocolError(self.endpoint, f"{what} timestamp {timestamp!r}: {exc}"))
            return None


def _charge_point_id(path: str) -> str:
    """The charge point id: the last segment of the WebSocket path (OCPP-J 1.6 §3.1.1)."""
    return unquote(urlsplit(path).path.rstrip("/").rsplit("/", 1)[-1])


def _limit(value: float) -> float:
    """A charging profile limit: OCPP 1.6 allows 0.1 resolution (schema multipleOf 0.1);
    rounded half up, as the Modbus registers are."""
    return float(round_half_up(float(value), "0.1"))


def _measurands(sampled_values: list) -> dict:
    """Bench values from one MeterValue's sampledValues; totals (no phase) win over phases."""
    values: dict[str, float] = {}
    from_phase: set[str] = set()
    wanted = {measurand: key for key, measurand in m.MEASURANDS.items()}
    for sv in sampled_values:
        measurand = sv.get("measurand", "Energy.Active.Import.Register")  # OCPP 1.6 default
        key = wanted.get(measurand)
        if key is None:
            continue
        unit = sv.get("unit") or m.MEASURAND_UNITS[key]
        value = float(sv["value"]) * m.UNIT_FACTORS[unit]
        if "phase" in sv:
            if key not in values:
                values[key] = value
                from_phase.add(key)
        elif key not in values or key in from_phase:
            values[key] = value
            from_phase.discard(key)
    return values
