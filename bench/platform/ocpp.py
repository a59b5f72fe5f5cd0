"""The platform channel over OCPP 1.6J: the bench runs the Central System, the pile connects.

The Central System (websockets server + ocpp library) lives in one asyncio thread owned by
the channel; the synchronous channel methods submit a call and wait for the pile's answer
for at most ``call_timeout_s`` real seconds. Message mapping: ocpp_mapping.py and README.md
in bench/protocols/platform.

* Only the profile's charge point id is accepted; another id gets HTTP 404 at the
  WebSocket upgrade, is logged with the id it gave, and is raised from the next call.
* Security profiles (OCPP 1.6 Security Whitepaper; ``[dut.ocpp] security_profile``): 1 = HTTP
  Basic authentication (username the charge point id, password its AuthorizationKey from
  ``password_file``) over ws://, 2 = the same over TLS ≥ 1.2 (wss://, ``certificate_file`` and
  ``key_file``). Missing or wrong credentials get HTTP 401 and are a security event (logged,
  kept in ``security_events``); while no pile is connected they are also raised from the next
  call (it is most likely the pile under test, misconfigured). No password or key is ever
  logged or put in an error's text.
* A second connection with the id of a live charge point is a security event: if the live
  connection answers a WebSocket ping within ``liveness_probe_s`` the newcomer gets HTTP 409
  and the live session goes on untouched; if it does not (a dead link the bench has not
  noticed yet) it is closed and the newcomer takes over (logged).
* Every frame is read with a depth guard and strict OCPP-J rules (ocpp_mapping.parse_message);
  a frame above ``max_frame_bytes`` closes the connection (WebSocket 1009). A refused frame is
  an error with a named kind (bench/platform/errors.py FRAME_KINDS), logged, kept in
  ``frame_errors`` and, except for actions the Central System does not take (answered with
  CALLERROR NotImplemented / NotSupported), raised once from the next call
  (PlatformProtocolError); the connection stays open and the channel stays usable.
* A lost connection is raised from the next call (PlatformLost); calls without a connected
  charge point raise PlatformLost naming the URL and the expected id.
* A pile that does not offer the subprotocol ``ocpp1.6`` (exactly) gets HTTP 400; it is logged
  and, while no pile is connected, raised by ``wait_connected`` with the cause.
* What is wrong with a value of a message the Central System accepted (a time without zone,
  read as UTC; a meter value it cannot read) stays with that message: logged, kept in
  ``findings``, never raised from a later command. MeterValues are never discarded.
* A pile without the bench's vendor DataTransfers: the command that needs one raises
  PlatformExtensionMissing naming the capability (``missing_extensions``); the clock is set
  through the Central System's ``currentTime`` (a Heartbeat the bench triggers) and read from
  the pile's MeterValues. The security extension's messages are answered and logged.
* Transaction ids come from ``transaction_ids`` (the run's counter: unique across its sessions).

``realtime()`` asks the pile for fresh MeterValues (TriggerMessage) and returns them;
``latest_realtime`` is the last MeterValues the pile sent on its own or on request.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import quote, unquote, urlsplit

import websockets
from ocpp.exceptions import OCPPError, UnknownCallErrorCodeError
from ocpp.v16 import call
from ocpp.v16.enums import MessageTrigger
from websockets.frames import CloseCode

from bench.core.clock import Clock
from bench.core.errors import WaitTimeout
from bench.core.profile import OcppEndpoint
from bench.platform.channel import Event, PlatformChannel, Realtime
from bench.platform.errors import (
    PlatformError,
    PlatformExtensionMissing,
    PlatformLost,
    PlatformProtocolError,
    PlatformRefused,
    PlatformSecurityError,
    PlatformUnsupported,
    PlatformValueError,
)
from bench.platform.log import NOTE, MessageLog
from bench.platform.ocpp_session import CentralSystemSession, LoggedConnection, quiet_logger
from bench.platform.transaction_ids import TransactionIds
from bench.protocols.platform import ocpp_mapping as m
from bench.protocols.platform.loop_thread import LoopThread
from bench.protocols.platform.vocabulary import round_half_up

HEARTBEAT_INTERVAL_S = 300  # told to the pile in BootNotification.conf (bench choice)
LIVENESS_PROBE_S = 2.0  # a live connection answers a WebSocket ping within this (bench choice)
# WebSocket close codes (RFC 6455 §7.4.1) websockets sends when it refuses a frame, and the kind.
CLOSE_KINDS = {
    CloseCode.MESSAGE_TOO_BIG: "frame_too_large",
    CloseCode.INVALID_DATA: "invalid_utf8",
    CloseCode.PROTOCOL_ERROR: "websocket_protocol",
}


class OcppChannel(PlatformChannel):
    protocol = "ocpp16"

    def __init__(
        self,
        endpoint: OcppEndpoint,
        clock: Clock,
        log: MessageLog,
        *,
        rated_power_w: float,
        call_timeout_s: float = 10.0,
        connect_timeout_s: float = 60.0,
        liveness_probe_s: float = LIVENESS_PROBE_S,
        transaction_ids: TransactionIds | None = None,
    ):
        super().__init__(clock, log, f"OCPP 1.6J central system on {endpoint.listen_host}:{endpoint.port}")
        self.charge_point_id = endpoint.charge_point_id
        self.rated_power_w = rated_power_w
        self.call_timeout_s = call_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.liveness_probe_s = liveness_probe_s
        self.security_profile = endpoint.security_profile
        self.max_frame_bytes = endpoint.max_frame_bytes
        self.security_events: list[PlatformSecurityError] = []  # every refused connection
        self.frame_errors: list[PlatformProtocolError] = []  # every refused frame or value, raised or not
        # what the bench noticed in messages it accepted (a time read as UTC, a value it could not
        # read): logged, kept, never raised from a later command
        self.findings: list[PlatformProtocolError] = []
        self.missing_extensions: dict[str, str] = {}  # vendor DataTransfer messageId -> the pile's answer
        self._session: CentralSystemSession | None = None
        self._connected = threading.Event()
        self._closing = False
        self._link_cut = False  # the bench refuses the pile (cut_link) until restore_link
        self._counter = itertools.count(1)
        self._transaction_ids = transaction_ids or TransactionIds()
        self._central_offset_s = 0.0  # the Central System's currentTime − the bench's wall time
        self._heartbeats = 0
        self._call_errors: dict[str, tuple[str, str]] = {}
        self._arrival = threading.Condition(self._state_lock)
        self._meter_count = 0
        self.latest_realtime: Realtime | None = None
        self.meter_history: list[Realtime] = []
        self.status: dict[int, str] = {}  # connector id -> bench state
        self.transaction_id: int | None = None
        self.bms_upload: dict | None = None  # the last BmsInfo the pile sent on its own
        self.battery_upload: dict[str, float] | None = None  # the last BatteryStatus it sent on its own
        self.boot: dict | None = None
        self._timed_profile_installed = False
        self._authorization_key, tls = self._security_setup(endpoint)
        self._ws_logger = quiet_logger(
            "bench.ocpp.websockets", lambda text: self.internal_error(self.charge_point_id, f"websockets: {text}")
        )
        self._loop = LoopThread("ocpp-central-system")
        self._loop.loop.set_exception_handler(self._loop_exception)
        try:
            self._server = self._loop.run(self._serve(endpoint.listen_host, endpoint.port, tls), 10.0)
        except (OSError, TimeoutError) as exc:
            self._loop.stop()
            raise PlatformLost(self.endpoint, f"cannot listen: {exc}") from None
        self.port = self._server.sockets[0].getsockname()[1]
        scheme = "wss" if tls is not None else "ws"
        self.base_url = f"{scheme}://{endpoint.listen_host}:{self.port}"
        self.url = f"{self.base_url}/{quote(self.charge_point_id)}"
        self.endpoint = f"OCPP 1.6J central system {self.url}"
        security = {
            0: "no authentication (security profile 0)",
            1: "HTTP Basic authentication over ws:// (security profile 1)",
            2: "TLS and HTTP Basic authentication (security profile 2)",
        }[self.security_profile]
        self.log.add(
            clock.now(),
            NOTE,
            self.protocol,
            f"central system listening for charge point {self.charge_point_id!r}, {security}",
        )

    def _security_setup(self, endpoint: OcppEndpoint):
        """The AuthorizationKey (profiles 1, 2) and the server's TLS context (profile 2)."""
        profile = endpoint.security_profile
        if profile not in m.SECURITY_PROFILES:
            raise PlatformSecurityError(
                self.endpoint, f"security profile {profile!r}: the bench supports 0, 1 and 2", kind="security_setup"
            )
        if profile == 0:
            return None, None
        try:
            if endpoint.password_file is None:
                raise ValueError("needs a password_file (the charge point's AuthorizationKey)")
            key = m.read_authorization_key(endpoint.password_file)
            tls = None
            if profile == 2:
                if endpoint.certificate_file is None or endpoint.key_file is None:
                    raise ValueError("needs a certificate_file and a key_file")
                tls = server_tls_context(endpoint.certificate_file, endpoint.key_file)
        except (ValueError, OSError, ssl.SSLError) as exc:
            raise PlatformSecurityError(
                self.endpoint, f"security profile {profile}: {exc}", kind="security_setup"
            ) from None
        return key, tls

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

        def settled() -> bool:  # connected, or refused (a wrong password): no use waiting on
            with self._state_lock:
                return self._connected.is_set() or bool(self._pending)

        if self.clock.virtual:
            deadline = time.monotonic() + timeout_s
            while not settled() and time.monotonic() < deadline:
                self._connected.wait(min(0.05, max(0.0, deadline - time.monotonic())))
        else:
            try:
                self.clock.wait_until(settled, timeout_s, poll=0.05, what="charge point")
            except WaitTimeout:
                pass
        self._raise_pending()
        if not self._connected.is_set():
            hint = (
                " (security profile 2: the Central System speaks TLS only; a pile connecting to ws:// "
                "is dropped in the TLS handshake)"
                if self.security_profile == 2
                else ""
            )
            raise PlatformLost(
                self.endpoint, f"charge point {self.charge_point_id!r} did not connect within {timeout_s:g} s{hint}"
            )

    def close(self) -> None:
        self._closing = True
        if self._loop.running:
            try:
                self._loop.run(self._shutdown(), 5.0)
            except TimeoutError:
                pass
            self._loop.stop()

    async def _serve(self, host: str, port: int, tls: ssl.SSLContext | None):
        return await websockets.serve(
            self._handle,
            host,
            port,
            subprotocols=[m.SUBPROTOCOL],
            process_request=self._admit,
            max_size=self.max_frame_bytes,
            ssl=tls,
            logger=self._ws_logger,
        )

    async def _shutdown(self) -> None:
        self._server.close()
        session = self._session
        if session is not None:
            await session.websocket.close()
        await self._server.wait_closed()

    # -- admission: id, credentials, one live connection (at the WebSocket upgrade) ----------
    async def _admit(self, connection, request):
        given = _charge_point_id(request.path)
        peer = _peer(connection)
        if self._link_cut:
            self.note(f"refused charge point {given!r} from {peer} (HTTP 503): the bench has cut the link")
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "the platform link is cut (link-loss test)\n")
        if given != self.charge_point_id:
            self._security_event(
                "unknown_charge_point",
                f"refused a charge point with id {given!r} from {peer}: "
                f"only {self.charge_point_id!r} (the profile's charge_point_id) is accepted",
                raise_next=True,
            )
            return connection.respond(HTTPStatus.NOT_FOUND, "unknown charge point id\n")
        if self._authorization_key is not None:
            problem = self._credentials_problem(request.headers)
            if problem is not None:
                kind, cause = problem
                self._security_event(
                    kind,
                    f"refused charge point {given!r} from {peer} (HTTP 401): {cause}",
                    raise_next=self._session is None,
                )
                response = connection.respond(HTTPStatus.UNAUTHORIZED, "invalid credentials\n")
                response.headers["WWW-Authenticate"] = f'Basic realm="{m.BASIC_REALM}", charset="UTF-8"'
                return response
        mismatch = m.subprotocol_problem(m.offered_subprotocols(request.headers.get_all("Sec-WebSocket-Protocol")))
        if mismatch is not None:
            kind, cause = mismatch
            error = PlatformProtocolError(
                self.endpoint, f"refused charge point {given!r} from {peer} (HTTP 400): {cause}", kind=kind
            )
            if self._session is None:  # the pile under test cannot connect: wait_connected raises it
                self._report(error)
            else:
                self._log_error(error)
            return connection.respond(HTTPStatus.BAD_REQUEST, f"expected WebSocket subprotocol {m.SUBPROTOCOL}\n")
        live = self._session
        if live is not None:
            if await self._answers_ping(live):
                self._security_event(
                    "duplicate_connection",
                    f"refused a second connection for charge point "
                    f"{given!r} from {peer} (HTTP 409): the live session (from {live.peer}) "
                    "answered a ping and is kept",
                    raise_next=False,
                )
                return connection.respond(HTTPStatus.CONFLICT, "a charge point with this id is connected\n")
            if self._session is live:
                self._evict(live, peer)
        return None

    def _credentials_problem(self, headers) -> tuple[str, str] | None:
        """(kind, cause) of what is wrong with the Basic credentials, None if they are right.
        The cause never quotes the header, the username or the password."""
        values = headers.get_all("Authorization")
        if not values:
            return "no_credentials", (
                f"no HTTP Basic credentials (security profile {self.security_profile} needs "
                "the charge point id and its AuthorizationKey)"
            )
        if len(values) > 1:
            return "malformed_credentials", f"{len(values)} Authorization headers"
        try:
            username, password = m.parse_basic_auth(values[0])
        except ValueError as exc:
            return "malformed_credentials", str(exc)
        if username != self.charge_point_id.encode("utf-8"):
            return "wrong_username", (
                f"the Basic username ({len(username)} bytes) is not the charge point id {self.charge_point_id!r}"
            )
        if self._authorization_key.matches(password):
            return None
        if self._authorization_key.matches_hex(password):
            return "password_as_hex", (
                "the password is the AuthorizationKey's hexadecimal digits, not its bytes "
                "(OCPP 1.6 security whitepaper: configured in hex, sent as bytes)"
            )
        return "wrong_password", "the password is not the charge point's AuthorizationKey"

    async def _answers_ping(self, session: CentralSystemSession) -> bool:
        try:
            pong = await session.websocket.ping()
            await asyncio.wait_for(pong, self.liveness_probe_s)
        except (TimeoutError, websockets.ConnectionClosed):
            return False
        except Exception:  # cannot tell: keep the live session (refuse the newcomer)
            return True
        return True

    def _evict(self, session: CentralSystemSession, peer: str) -> None:
        session.evicted = True
        self._session = None
        self._connected.clear()
        session.websocket.transport.abort()  # a dead link: no close handshake to wait for
        self.log.add(
            self.clock.now(),
            NOTE,
            self.protocol,
            f"charge point {self.charge_point_id!r}: the live connection (from {session.peer}) did not "
            f"answer a ping within {self.liveness_probe_s:g} s; closed it for the new connection "
            f"from {peer}",
        )

    def _security_event(self, kind: str, text: str, raise_next: bool) -> None:
        error = PlatformSecurityError(self.endpoint, f"security event: {text}", kind=kind)
        with self._state_lock:
            self.security_events.append(error)
        if raise_next:
            self._report(error)
        else:
            self._log_error(error)

    def _log_error(self, error: PlatformError) -> None:
        """An error logged as ``_report`` logs it, but not raised."""
        self.log.add(self.clock.now(), NOTE, self.protocol, f"error: {type(error).__name__}: {error.detail}")

    # -- the connection ---------------------------------------------------------------------
    async def _handle(self, websocket) -> None:
        charge_point_id = _charge_point_id(websocket.request.path)
        peer = _peer(websocket)
        if self._session is not None:  # two connections that passed the upgrade at the same time
            self._security_event(
                "duplicate_connection",
                f"closed a second connection for charge point "
                f"{charge_point_id!r} from {peer} (close 1008): it is connected already",
                raise_next=False,
            )
            await websocket.close(CloseCode.POLICY_VIOLATION, "a charge point with this id is connected")
            return
        session = CentralSystemSession(
            charge_point_id, LoggedConnection(websocket, self), self, self._unique_id, self.call_timeout_s
        )
        session.peer = peer
        self._session = session
        self.log.add(
            self.clock.now(),
            NOTE,
            self.protocol,
            f"charge point {charge_point_id!r} connected (subprotocol {websocket.subprotocol}"
            f"{_tls_version(websocket)})",
        )
        self._connected.set()
        error: PlatformError | None = None
        try:
            await session.start()
        except websockets.ConnectionClosed as exc:
            error = self._closed(charge_point_id, exc)
        except Exception as exc:  # a bench bug: named and kept, never a traceback
            self.internal_error(
                charge_point_id, f"the session ended with {type(exc).__name__}: {m.short(str(exc), 200, quote=False)}"
            )
            error = PlatformLost(self.endpoint, f"charge point {charge_point_id!r} disconnected (internal error)")
        else:
            error = PlatformLost(self.endpoint, f"charge point {charge_point_id!r} disconnected (closed)")
        finally:
            if self._session is session:
                self._session = None
                self._connected.clear()
        if session.evicted or self._closing:
            return
        if isinstance(error, PlatformProtocolError):
            with self._state_lock:
                self.frame_errors.append(error)
            self._report(error)
        elif self._session is None:
            self._report(error)

    def _closed(self, charge_point_id: str, exc: websockets.ConnectionClosed) -> PlatformError:
        """What a closed connection means: a frame websockets refused (1009, 1007, 1002) or a loss."""
        sent = exc.sent.code if exc.sent is not None else None
        kind = CLOSE_KINDS.get(sent) if exc.rcvd is None or exc.rcvd_then_sent is False else None
        if kind == "frame_too_large":
            return PlatformProtocolError(
                self.endpoint,
                f"charge point {charge_point_id!r} sent a frame larger than "
                f"{self.max_frame_bytes} bytes (max_frame_bytes): refused, "
                "the connection was closed (1009)",
                kind=kind,
            )
        if kind is not None:
            reason = m.short(exc.sent.reason, 100, quote=False) if exc.sent.reason else ""
            return PlatformProtocolError(
                self.endpoint,
                f"charge point {charge_point_id!r} sent a frame websockets "
                f"refused ({reason}): the connection was closed ({int(sent)})",
                kind=kind,
            )
        reason = f"close code {exc.rcvd.code}" if exc.rcvd else "no close frame"
        return PlatformLost(self.endpoint, f"charge point {charge_point_id!r} disconnected ({reason})")

    def _loop_exception(self, loop, context: dict) -> None:
        """asyncio's last resort (an exception nobody awaited): named, kept, never printed."""
        exc = context.get("exception")
        what = context.get("message", "unhandled exception")
        self.internal_error(self.charge_point_id, f"asyncio: {what}" + (f" ({type(exc).__name__})" if exc else ""))

    def _unique_id(self) -> str:
        return f"cs{next(self._counter)}"

    # -- the link (4.2.5 link loss) --------------------------------------------------------
    def _cut_link(self) -> None:
        """Close the pile's connection (as a platform gone away) and refuse it until restored."""
        self._link_cut = True
        session = self._session
        self.note("the bench cut the link (link-loss test): the charge point's connection is closed and refused")
        if session is not None:
            session.evicted = True  # closed on purpose: nothing to report when it ends
            try:
                self._loop.run(session.websocket.close(CloseCode.GOING_AWAY, "platform link cut"), 5.0)
            except TimeoutError:
                session.websocket.transport.abort()

    def _restore_link(self) -> None:
        self._link_cut = False
        self.note("the bench restored the link: the charge point may connect again")

    # -- commands -------------------------------------------------------------------------
    def _start(self):
        self._accepted(
            "RemoteStartTransaction", call.RemoteStartTransaction(id_tag=m.ID_TAG, connector_id=m.CONNECTOR_ID)
        )

    def _stop(self):
        # A pile that never reported a transaction start gets transaction id 0.
        self._accepted("RemoteStopTransaction", call.RemoteStopTransaction(transaction_id=self.transaction_id or 0))

    def _wake_vehicle(self):
        self._data_transfer(m.WAKE_VEHICLE)

    def _timed_start(self, unix_time: float):
        start = int(min(self.clock.wall_time(), unix_time - 1))  # schedule opens before the start time
        offset = int(round_half_up(unix_time - start))
        profile = {
            "chargingProfileId": m.TIMED_START_PROFILE_ID,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "startSchedule": m.to_iso(start),
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 0.0},
                    {"startPeriod": offset, "limit": _limit(self.rated_power_w)},
                ],
            },
        }
        self._accepted(
            "RemoteStartTransaction",
            call.RemoteStartTransaction(id_tag=m.ID_TAG, connector_id=m.CONNECTOR_ID, charging_profile=profile),
        )
        return start + offset

    def _timed_power_change(self, unix_time: float, watts: float):
        at, limit = int(round_half_up(unix_time)), self._checked_limit(watts, "W")
        profile = self._profile(m.TIMED_PROFILE_ID, 1, "Absolute", "W", limit, start=m.to_iso(at))
        self._accepted(
            "SetChargingProfile", call.SetChargingProfile(connector_id=m.CONNECTOR_ID, cs_charging_profiles=profile)
        )
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
        self._accepted(
            "SetChargingProfile", call.SetChargingProfile(connector_id=m.CONNECTOR_ID, cs_charging_profiles=profile)
        )
        return limit

    def _profile(
        self, profile_id: int, stack_level: int, kind: str, unit: str, limit: float, start: str | None = None
    ) -> dict:
        tid = self.transaction_id
        purpose = (
            {"chargingProfilePurpose": "TxProfile", "transactionId": tid}
            if tid
            else {"chargingProfilePurpose": "TxDefaultProfile"}
        )
        schedule = {"chargingRateUnit": unit, "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}
        if start is not None:
            schedule["startSchedule"] = start
        return {
            "chargingProfileId": profile_id,
            "stackLevel": stack_level,
            **purpose,
            "chargingProfileKind": kind,
            "chargingSchedule": schedule,
        }

    def _checked_limit(self, value: float, unit: str) -> float:
        if not value >= 0:
            raise PlatformValueError(
                self.endpoint, f"limit {value!r} {unit}: a charging profile limit is ≥ 0; nothing was sent"
            )
        return _limit(value)

    def _set_clock(self, unix_time: float):
        """The bench's DataTransfer SetClock; for a pile without it, OCPP's own way: the pile takes
        the Central System's currentTime from the Heartbeat answer the bench asks for. Either way
        the Central System's time is the time set from then on (BootNotification, Heartbeat)."""
        self._central_offset_s = unix_time - self.clock.wall_time()
        try:
            self._data_transfer(m.SET_CLOCK, m.clock_data(unix_time))
            return m.from_iso(m.to_iso(unix_time))
        except PlatformExtensionMissing:
            self._clock_by_heartbeat()
        return m.from_iso(m.to_iso(unix_time))

    def _clock_by_heartbeat(self) -> None:
        with self._arrival:
            seen = self._heartbeats
        result = self._call("TriggerMessage", call.TriggerMessage(requested_message=MessageTrigger.heartbeat))
        if result.status != "Accepted":
            self.note(
                f"time sync: TriggerMessage(Heartbeat) answered {m.short(result.status, 40, quote=False)}; "
                "the pile gets the Central System's time in its next Heartbeat or BootNotification answer"
            )
            return
        with self._arrival:
            answered = self._arrival.wait_for(lambda: self._heartbeats > seen, self.call_timeout_s)
        if not answered:
            raise PlatformLost(
                self.endpoint,
                f"time sync: the pile accepted TriggerMessage(Heartbeat) but sent no Heartbeat within "
                f"{self.call_timeout_s:g} s",
                kind="timeout",
            )

    def change_configuration(self, key: str, value: str) -> str:
        """OCPP ChangeConfiguration (e.g. MeterValueSampleInterval); returns the pile's status."""
        self._raise_pending()
        return self._call("ChangeConfiguration", call.ChangeConfiguration(key=key, value=str(value))).status

    # -- reads ----------------------------------------------------------------------------
    def _read_clock(self) -> float:
        """The bench's DataTransfer GetClock; for a pile without it, the time stamp of the
        MeterValues it sends on request (TriggerMessage): its own clock when it took them."""
        try:
            data = self._data_transfer(m.GET_CLOCK)
        except PlatformExtensionMissing:
            return self._clock_from_meter_values()
        try:
            unix_time, finding = m.read_pile_time(m.clock_data_time(data))
        except ValueError as exc:
            raise PlatformProtocolError(
                self.endpoint, f"DataTransfer {m.GET_CLOCK} answer: {exc}", kind="bad_value"
            ) from None
        if finding is not None:
            self._finding("time_without_zone", f"DataTransfer {m.GET_CLOCK} answer: {finding}")
        return unix_time

    def _clock_from_meter_values(self) -> float:
        reading, status = self._triggered_meter_values()
        if reading is None:
            raise PlatformUnsupported(
                self.endpoint,
                f"cannot read the pile's clock: it offers no DataTransfer {m.GET_CLOCK} "
                f"({self.missing_extensions.get(m.GET_CLOCK)}) and TriggerMessage(MeterValues) "
                f"answered {m.short(status, 40, quote=False)}",
            )
        if reading.pile_time is None:
            raise PlatformProtocolError(
                self.endpoint,
                "reading the pile's clock: the MeterValues it sent on request carry no readable time stamp",
                kind="bad_value",
            )
        return reading.pile_time

    def _realtime(self) -> Realtime:
        reading, status = self._triggered_meter_values()
        if reading is not None:
            return reading
        if self.latest_realtime is not None:
            return self.latest_realtime
        raise PlatformRefused(
            self.endpoint,
            f"TriggerMessage(MeterValues) answered {m.short(status, 40, quote=False)} and no MeterValues have "
            "arrived yet",
            kind="rejected",
        )

    def _triggered_meter_values(self) -> tuple[Realtime | None, str]:
        """(the MeterValues the pile sent on TriggerMessage, the answer's status); None when it
        did not accept the trigger."""
        with self._state_lock:
            seen = self._meter_count
        result = self._call(
            "TriggerMessage",
            call.TriggerMessage(requested_message=MessageTrigger.meter_values, connector_id=m.CONNECTOR_ID),
        )
        if result.status != "Accepted":
            return None, result.status
        with self._arrival:
            arrived = self._arrival.wait_for(lambda: self._meter_count > seen, self.call_timeout_s)
        if not arrived:
            raise PlatformLost(
                self.endpoint,
                "the pile accepted TriggerMessage(MeterValues) but sent no "
                f"MeterValues within {self.call_timeout_s:g} s",
                kind="timeout",
            )
        return self.latest_realtime, result.status

    def _bms_info(self) -> dict:
        return self._vendor_read(m.GET_BMS_INFO, m.parse_bms_data, self.bms_upload)

    def _battery_status(self) -> dict[str, float]:
        return self._vendor_read(m.GET_BATTERY_STATUS, m.parse_battery_status_data, self.battery_upload)

    def _vendor_read(self, message_id: str, parse: Callable[[str | None], dict], uploaded: dict | None) -> dict:
        """A vendor DataTransfer's answer, parsed; a pile that refuses it: what it last sent on
        its own, if anything."""
        try:
            data = self._data_transfer(message_id)
        except PlatformRefused:
            if uploaded is not None:
                return dict(uploaded)
            raise
        try:
            return parse(data)
        except ValueError as exc:
            raise PlatformProtocolError(
                self.endpoint, f"DataTransfer {message_id} answer: {exc}", kind="bad_value"
            ) from None

    # -- calls ----------------------------------------------------------------------------
    def _data_transfer(self, message_id: str, data: str | None = None) -> str | None:
        what = f"DataTransfer {message_id}"
        try:
            result = self._call(what, call.DataTransfer(vendor_id=m.VENDOR_ID, message_id=message_id, data=data))
        except PlatformRefused as exc:
            if getattr(exc, "error_code", None) not in m.NOT_OFFERED_ERRORS:
                raise
            raise self._missing(message_id, exc.detail.removeprefix("callerror: "), every=True) from None
        if result.status in m.NOT_OFFERED_STATUSES:
            answer = f"{what} answered {result.status}"
            raise self._missing(message_id, answer, every=result.status == "UnknownVendorId")
        if result.status != "Accepted":
            raise PlatformRefused(
                self.endpoint, f"{what} answered {m.short(result.status, 40, quote=False)}", kind="rejected"
            )
        return result.data

    def _missing(self, message_id: str, answer: str, every: bool) -> PlatformExtensionMissing:
        """The error for a pile that does not take the bench's DataTransfer ``message_id``
        (``every``: none of them: it does not know the vendor id, or takes no DataTransfer at all),
        noted in ``missing_extensions`` and, the first time, in the log."""
        names = tuple(m.VENDOR_CAPABILITIES) if every else (message_id,)
        if any(name not in self.missing_extensions for name in names):
            which = "the bench's vendor DataTransfers" if every else f"the bench's DataTransfer {message_id}"
            self.note(
                f"the pile does not offer {which} ({answer}): the bench sets its clock through the Central "
                "System's currentTime and reads it from the pile's MeterValues; what needs the others is skipped"
            )
        for name in names:
            self.missing_extensions.setdefault(name, answer)
        capability = m.VENDOR_CAPABILITIES.get(message_id, f"DataTransfer {message_id}")
        return PlatformExtensionMissing(
            self.endpoint,
            f"the pile does not offer {capability} (vendor DataTransfer {m.VENDOR_ID} {message_id}): {answer}",
            capability=capability,
        )

    def _accepted(self, what: str, payload) -> None:
        result = self._call(what, payload)
        if result.status != "Accepted":
            raise PlatformRefused(
                self.endpoint, f"{what} answered {m.short(result.status, 40, quote=False)}", kind="rejected"
            )

    def _call(self, what: str, payload):
        session = self._session
        if session is None:
            raise PlatformLost(self.endpoint, f"{what}: no charge point connected (expecting {self.charge_point_id!r})")
        unique_id = self._unique_id()
        try:
            return self._loop.run(session.call(payload, suppress=False, unique_id=unique_id), self.call_timeout_s + 1.0)
        except TimeoutError:
            raise PlatformLost(
                self.endpoint, f"{what}: no answer within {self.call_timeout_s:g} s", kind="timeout"
            ) from None
        except websockets.ConnectionClosed:
            raise PlatformLost(
                self.endpoint, f"{what}: connection to charge point {self.charge_point_id!r} closed"
            ) from None
        except UnknownCallErrorCodeError:
            with self._state_lock:
                error = self._call_errors.pop(unique_id, None)
            code = m.short(error[0] if error else None, 40)
            raise PlatformProtocolError(
                self.endpoint,
                f"{what} answered with CALLERROR {code}, an error code OCPP-J 1.6 does not define",
                kind="unknown_error_code",
            ) from None
        except OCPPError as exc:
            with self._state_lock:
                error = self._call_errors.pop(unique_id, None)
            if error is not None:
                refused = PlatformRefused(
                    self.endpoint,
                    f"{what} answered with CALLERROR {error[0]}: {m.short(error[1], 200, quote=False)}",
                    kind="callerror",
                )
                refused.error_code = error[0]
                raise refused from None
            cause = (exc.details or {}).get("cause") if isinstance(exc.details, dict) else None
            raise PlatformProtocolError(
                self.endpoint,
                f"{what}: the answer breaks the OCPP 1.6 schema "
                f"({m.ERROR_CODES_16.get(exc.code, exc.code)}: "
                f"{m.short(cause or exc.description, 200, quote=False)})",
                kind="bad_response",
            ) from None
        except PlatformError:
            raise
        except Exception as exc:  # a bench bug: a named error the session can take to the safe state
            raise PlatformProtocolError(
                self.endpoint,
                f"{what}: internal error {type(exc).__name__}: {m.short(str(exc), 200, quote=False)}",
                kind="internal_error",
            ) from None

    # -- SessionOwner: called in the OCPP thread ------------------------------------------
    def frame(self, direction: str, text: str) -> None:
        self.log.add(self.clock.now(), direction, self.protocol, text)

    def malformed(self, charge_point_id: str, frame, kind: str, cause: str) -> None:
        shown = m.short(frame if isinstance(frame, str) else frame[:200].hex(), 200)
        self._refuse_value(f"malformed OCPP frame from charge point {charge_point_id!r}: {cause}; frame {shown}", kind)

    def unsupported(self, charge_point_id: str, frame: str, kind: str, cause: str) -> None:
        error = PlatformProtocolError(
            self.endpoint,
            f"answered CALLERROR to an action the Central System does not "
            f"take, from charge point {charge_point_id!r}: {cause}",
            kind=kind,
        )
        with self._state_lock:
            self.frame_errors.append(error)
        self._log_error(error)

    def internal_error(self, charge_point_id: str, what: str) -> None:
        self._refuse_value(
            f"internal error of the Central System (charge point {charge_point_id!r}): {what}", "internal_error"
        )

    def note(self, text: str) -> None:
        self.log.add(self.clock.now(), NOTE, self.protocol, text)

    def _refuse_value(self, text: str, kind: str = "bad_value") -> None:
        """A frame from the pile refused: logged, kept, raised from the next call."""
        error = PlatformProtocolError(self.endpoint, text, kind=kind)
        with self._state_lock:
            self.frame_errors.append(error)
        self._report(error)

    def _upload_problem(self, text: str) -> None:
        """A value the bench cannot read in a message it accepted: logged, kept with the refused
        values and the findings, never raised from a later command (which it has nothing to do with)."""
        error = PlatformProtocolError(self.endpoint, text, kind="bad_value")
        with self._state_lock:
            self.frame_errors.append(error)
            self.findings.append(error)
        self._log_error(error)

    def _finding(self, kind: str, text: str) -> None:
        """What the bench assumed to read a message it accepted: logged, kept, never raised."""
        finding = PlatformProtocolError(self.endpoint, text, kind=kind)
        with self._state_lock:
            self.findings.append(finding)
        self.log.add(self.clock.now(), NOTE, self.protocol, f"finding: {finding.detail}")

    def on_security_event(self, event_type: str, timestamp: str, tech_info: str | None) -> None:
        """SecurityEventNotification (OCPP 1.6 security whitepaper): the pile's own security log."""
        self.log.add(
            self.clock.now(),
            NOTE,
            self.protocol,
            f"the pile reports security event {m.short(event_type, 60)} at {m.short(timestamp, 40)}"
            + (f": {m.short(tech_info, 120)}" if tech_info else ""),
        )

    def call_error(self, unique_id: str, code: str, description: str) -> None:
        with self._state_lock:
            self._call_errors[unique_id] = (code, description)

    def wall_time_iso(self) -> str:
        """The Central System's currentTime: the bench's wall time, moved by the last set_clock."""
        return m.to_iso(self.clock.wall_time() + self._central_offset_s)

    def on_heartbeat_answered(self) -> None:
        with self._arrival:
            self._heartbeats += 1
            self._arrival.notify_all()

    def on_security_message(self, action: str, text: str) -> None:
        """A message of the OCPP 1.6 security extension the bench takes and only logs."""
        self.log.add(self.clock.now(), NOTE, self.protocol, f"the pile sent {action}: {text}")

    def on_boot(self, vendor: str, model: str, details: dict) -> int:
        self.boot = {"vendor": vendor, "model": model, **details}
        return HEARTBEAT_INTERVAL_S

    def on_status(self, connector_id, error_code, status, timestamp, info, vendor_id, vendor_error_code) -> None:
        state = m.STATUS_TO_STATE.get(status)
        with self._state_lock:
            self.status[connector_id] = state
        kind = m.event_kind(error_code, vendor_id, vendor_error_code)
        if kind is not None:
            pile_time, note = self._pile_time(timestamp, "StatusNotification")
            self._add_event(Event(kind, pile_time, self.clock.now(), (info or error_code) + note))
        elif timestamp is not None:
            self._pile_time(timestamp, "StatusNotification")  # a finding for a time without zone

    def on_meter_values(self, connector_id, meter_value, transaction_id) -> None:
        """Never discarded: a value that cannot be read is left out (None), a time stamp that
        cannot be read leaves the pile time None; each is a finding."""
        now = self.clock.now()
        problems: list[str] = []
        sample, pile_time = self._latest_sample(meter_value, problems)
        values = _measurands(sample.get("sampled_value") or [], problems) if sample is not None else {}
        with self._arrival:
            reading = Realtime(
                values.get("voltage_v"),
                values.get("current_a"),
                values.get("power_w"),
                self.status.get(m.CONNECTOR_ID),
                pile_time,
                now,
                values.get("energy_kwh"),
            )
            self.latest_realtime = reading
            self.meter_history.append(reading)
            self._meter_count += 1
            self._arrival.notify_all()
        for problem in problems:
            self._upload_problem(f"MeterValues: {problem}")

    def _latest_sample(self, meter_value: list, problems: list[str]) -> tuple[dict | None, float | None]:
        """(the newest MeterValue, its pile time): by the time stamps that can be read; the last
        one, time None, if none can."""
        samples = [mv for mv in meter_value if isinstance(mv, dict)]
        if not samples:
            problems.append("no meterValue")
            return None, None
        dated: list[tuple[float, int]] = []
        for index, sample in enumerate(samples):
            pile_time, _ = self._pile_time(sample.get("timestamp"), "MeterValues", problems)
            if pile_time is not None:
                dated.append((pile_time, index))
        if not dated:
            return samples[-1], None
        pile_time, index = max(dated)
        return samples[index], pile_time

    def on_start_transaction(self, connector_id, id_tag, meter_start, timestamp) -> int:
        transaction_id = self._transaction_ids.next()
        self.transaction_id = transaction_id
        pile_time, note = self._pile_time(timestamp, "StartTransaction")
        self._add_event(
            Event(
                "start",
                pile_time,
                self.clock.now(),
                f"transaction {transaction_id}, idTag {id_tag}, meterStart {meter_start} Wh{note}",
            )
        )
        return transaction_id

    def on_stop_transaction(self, transaction_id, meter_stop, timestamp, reason) -> None:
        if self.transaction_id == transaction_id:
            self.transaction_id = None
        pile_time, note = self._pile_time(timestamp, "StopTransaction")
        self._add_event(
            Event(
                "stop",
                pile_time,
                self.clock.now(),
                f"transaction {transaction_id}, reason {reason or 'Local'}, meterStop {meter_stop} Wh{note}",
            )
        )

    def on_data_transfer(self, vendor_id: str, message_id: str | None, data: str | None) -> str:
        if vendor_id != m.VENDOR_ID:
            return "UnknownVendorId"
        if message_id == m.BMS_INFO:
            parse = m.parse_bms_data
        elif message_id == m.BATTERY_STATUS:
            parse = m.parse_battery_status_data
        else:
            return "UnknownMessageId"
        try:
            values = parse(data)
        except ValueError as exc:
            self._upload_problem(f"DataTransfer {message_id}: {m.short(str(exc), 200, quote=False)}")
            return "Rejected"
        if message_id == m.BMS_INFO:
            self.bms_upload = values
        else:
            self.battery_upload = values
        return "Accepted"

    def _pile_time(
        self, timestamp: str | None, what: str, problems: list[str] | None = None
    ) -> tuple[float | None, str]:
        """(unix time, a note for the event's detail) of a time stamp the pile sent. One without
        a zone is read as UTC (a finding); one that cannot be read gives None (a problem, in
        ``problems`` when given, else logged now)."""
        if timestamp is None:
            return None, ""
        try:
            unix_time, finding = m.read_pile_time(timestamp)
        except ValueError as exc:
            problem = f"{what} timestamp {m.short(timestamp, 60)}: {m.short(str(exc), 120, quote=False)}"
            if problems is None:
                self._upload_problem(problem)
            else:
                problems.append(problem)
            return None, "; pile time unreadable"
        if finding is not None:
            self._finding("time_without_zone", f"{what} timestamp {finding}")
            return unix_time, "; pile time without zone, read as UTC"
        return unix_time, ""


def _charge_point_id(path: str) -> str:
    """The charge point id: the last segment of the WebSocket path (OCPP-J 1.6 §3.1.1)."""
    return unquote(urlsplit(path).path.rstrip("/").rsplit("/", 1)[-1])


def _peer(connection) -> str:
    """The peer's address without its port (a log line stays the same run to run)."""
    try:
        address = connection.remote_address
    except Exception:
        address = None
    return str(address[0]) if address else "an unknown address"


def _tls_version(websocket) -> str:
    try:
        ssl_object = websocket.transport.get_extra_info("ssl_object")
    except Exception:
        ssl_object = None
    return f", {ssl_object.version()}" if ssl_object is not None else ""


def server_tls_context(certificate_file, key_file) -> ssl.SSLContext:
    """The Central System's TLS (security profile 2): TLS 1.2 or later, the whitepaper's TLS 1.2
    cipher suites, the server certificate chain and its key (PEM, unencrypted)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(m.TLS12_CIPHERS)
    context.load_cert_chain(str(certificate_file), str(key_file), password=_no_passphrase)
    return context


def _no_passphrase() -> str:
    raise ValueError("the key_file is encrypted; the bench needs an unencrypted PEM key (keep its permissions tight)")


def _limit(value: float) -> float:
    """A charging profile limit: OCPP 1.6 allows 0.1 resolution (schema multipleOf 0.1);
    rounded half up, as the Modbus registers are."""
    return float(round_half_up(float(value), "0.1"))


def _measurands(sampled_values: list, problems: list[str]) -> dict:
    """Bench values from one MeterValue's sampledValues; totals (no phase) win over phases. A value
    that cannot be read is left out and named in ``problems``."""
    values: dict[str, float] = {}
    from_phase: set[str] = set()
    wanted = {measurand: key for key, measurand in m.MEASURANDS.items()}
    for sv in sampled_values:
        measurand = sv.get("measurand", "Energy.Active.Import.Register")  # OCPP 1.6 default
        key = wanted.get(measurand)
        if key is None:
            continue
        unit = sv.get("unit") or m.MEASURAND_UNITS[key]
        try:
            value = float(sv["value"]) * m.UNIT_FACTORS[unit]  # "NaN" stays NaN: the check is invalid, not an error
        except (KeyError, ValueError, TypeError):
            problems.append(f"{measurand} {m.short(sv.get('value'), 40)} {m.short(unit, 20)} cannot be read (left out)")
            continue
        if "phase" in sv:
            if key not in values:
                values[key] = value
                from_phase.add(key)
        elif key not in values or key in from_phase:
            values[key] = value
            from_phase.discard(key)
    return values
