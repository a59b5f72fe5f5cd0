"""One charge point's connection to the bench's Central System (runs in the OCPP thread).

``CentralSystemSession`` is the ocpp library's ChargePoint seen from the Central System: it
answers what the pile sends on its own and hands each upload to its owner (OcppChannel). It
routes frames itself: every frame is first read by ``ocpp_mapping.parse_message`` (nesting
depth, numbers, element types and counts, UniqueId), then an action OCPP 1.6 does not have or
the Central System does not take is answered with CALLERROR NotImplemented / NotSupported,
then the payload is checked against the OCPP 1.6 schema (CALLERROR TypeConstraintViolation,
FormationViolation, ProtocolError, …). Each refusal is reported to the owner with a named
kind (bench/platform/errors.py FRAME_KINDS); nothing escapes the connection, nothing is
printed. The library's own log goes through ``quiet_logger``: an error it logs is a bench bug,
reported as ``internal_error``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

import websockets
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallError, validate_payload
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, DataTransferStatus, GenericStatus, RegistrationStatus

from bench.platform.log import FROM_PILE, TO_PILE
from bench.protocols.platform import ocpp_mapping as m

ACTIONS = frozenset(action.value for action in Action)  # every OCPP 1.6 action (with the security extension)
# OCPP-J 1.6 §4.2.3: the kind each CALLERROR code the schema check raises is reported as.
CODE_KINDS = {
    "TypeConstraintViolation": "wrong_type",
    "FormationViolation": "schema_violation",
    "ProtocolError": "missing_field",
    "PropertyConstraintViolation": "bad_value",
    "OccurenceConstraintViolation": "schema_violation",
    "NotImplemented": "unknown_action",
    "NotSupported": "unsupported_action",
}
DESCRIPTIONS = {  # OCPP-J 1.6 §4.2.3 table 6
    "NotImplemented": "Requested Action is not known by receiver",
    "NotSupported": "Requested Action is recognized but not supported by the receiver",
    "InternalError": "An internal error occurred and the receiver was not able to process the requested "
    "Action successfully",
    "ProtocolError": "Payload for Action is incomplete",
    "FormationViolation": "Payload for Action is syntactically incorrect or not conform the PDU structure for Action",
    "PropertyConstraintViolation": "Payload is syntactically correct but at least one field contains an invalid value",
    "OccurenceConstraintViolation": "Payload for Action is syntactically correct but at least one of the "
    "fields violates occurence constraints",
    "TypeConstraintViolation": "Payload for Action is syntactically correct but at least one of the fields "
    "violates data type constraints",
}
LATE_IDS_KEPT = 64  # unique ids of calls that timed out: their answers are noted, not refused


class SessionOwner(Protocol):
    """What the session reports to (OcppChannel)."""

    def frame(self, direction: str, text: str) -> None: ...
    def malformed(self, charge_point_id: str, frame, kind: str, cause: str) -> None: ...
    def unsupported(self, charge_point_id: str, frame: str, kind: str, cause: str) -> None: ...
    def internal_error(self, charge_point_id: str, what: str) -> None: ...
    def note(self, text: str) -> None: ...
    def call_error(self, unique_id: str, code: str, description: str) -> None: ...
    def wall_time_iso(self) -> str: ...
    def on_heartbeat_answered(self) -> None: ...
    def on_security_message(self, action: str, text: str) -> None: ...
    def on_boot(self, vendor: str, model: str, details: dict) -> int: ...
    def on_status(
        self,
        connector_id: int,
        error_code: str,
        status: str,
        timestamp: str | None,
        info: str | None,
        vendor_id: str | None,
        vendor_error_code: str | None,
    ) -> None: ...
    def on_meter_values(self, connector_id: int, meter_value: list, transaction_id: int | None) -> None: ...
    def on_start_transaction(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str) -> int: ...
    def on_stop_transaction(self, transaction_id: int, meter_stop: int, timestamp: str, reason: str | None) -> None: ...
    def on_data_transfer(self, vendor_id: str, message_id: str | None, data: str | None) -> str: ...
    def on_security_event(self, event_type: str, timestamp: str, tech_info: str | None) -> None: ...


class _ReportHandler(logging.Handler):
    def __init__(self, report: Callable[[str], None], level: int):
        super().__init__(level)
        self._report = report

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a bad format string is still one line
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text += f" ({type(exc).__name__}: {m.short(str(exc), 200, quote=False)})"
        self._report(m.short(text, 300, quote=False))

    def handleError(self, record) -> None:  # never a traceback on stderr
        pass


def quiet_logger(name: str, report: Callable[[str], None], level: int = logging.ERROR) -> logging.Logger:
    """A logger of its own for the ocpp library or websockets (not in logging's registry, so
    nothing reaches stderr or the root logger's handlers): records at ``level`` and above go to
    ``report`` as one line, the message and the exception's type, never a traceback. Below
    ``level`` nothing is kept (websockets logs request headers, Authorization too, at DEBUG)."""
    logger = logging.Logger(name, level)
    logger.propagate = False
    logger.addHandler(_ReportHandler(report, level))
    return logger


class LoggedConnection:
    """A websocket whose every text frame, in and out, goes to the owner's log first."""

    def __init__(self, websocket, owner: SessionOwner):
        self.websocket = websocket
        self.owner = owner

    async def recv(self):
        frame = await self.websocket.recv()
        self.owner.frame(FROM_PILE, frame if isinstance(frame, str) else f"(binary frame) {frame.hex()}")
        return frame

    async def send(self, text: str) -> None:
        self.owner.frame(TO_PILE, text)
        await self.websocket.send(text)


class CentralSystemSession(ChargePoint):
    def __init__(
        self,
        charge_point_id: str,
        connection: LoggedConnection,
        owner: SessionOwner,
        unique_ids,
        response_timeout: float,
    ):
        logger = quiet_logger(
            f"bench.ocpp.{charge_point_id}", lambda text: owner.internal_error(charge_point_id, f"ocpp library: {text}")
        )
        super().__init__(charge_point_id, connection, response_timeout=response_timeout, logger=logger)
        self.owner = owner
        self._unique_id_generator = unique_ids  # deterministic ids: identical runs, identical logs
        self.peer = ""
        self.evicted = False  # closed by the Central System for a new connection (a dead link)
        self._awaiting: set[str] = set()
        self._late: deque[str] = deque(maxlen=LATE_IDS_KEPT)

    @property
    def websocket(self):
        return self._connection.websocket

    async def call(self, payload, suppress=True, unique_id=None, skip_schema_validation=False):
        """The library's call, remembering which answer the bench waits for: an answer to
        anything else is refused before it reaches the library's response queue."""
        unique_id = unique_id if unique_id is not None else str(self._unique_id_generator())
        self._awaiting.add(unique_id)
        try:
            return await super().call(
                payload, suppress=suppress, unique_id=unique_id, skip_schema_validation=skip_schema_validation
            )
        except (TimeoutError, asyncio.CancelledError):
            self._late.append(unique_id)
            raise
        finally:
            self._awaiting.discard(unique_id)

    async def route_message(self, raw_msg):
        try:
            await self._route(raw_msg)
        except websockets.ConnectionClosed:
            raise
        except Exception as exc:  # a bench bug: named, kept, the connection goes on
            self.owner.internal_error(
                self.id, f"routing a frame: {type(exc).__name__}: {m.short(str(exc), 200, quote=False)}"
            )

    async def _route(self, raw_msg) -> None:
        if isinstance(raw_msg, bytes):
            self.owner.malformed(self.id, raw_msg, "binary_frame", "binary WebSocket frame (OCPP-J uses text frames)")
            return
        try:
            msg = m.parse_message(raw_msg)
        except m.FrameError as exc:
            self.owner.malformed(self.id, raw_msg, exc.kind, exc.cause)
            if exc.unique_id is not None:
                await self._refuse(exc.unique_id, exc.error_code, exc.cause)
            return
        if isinstance(msg, Call):
            await self._route_call(msg, raw_msg)
        else:
            self._route_answer(msg, raw_msg)

    async def _route_call(self, msg: Call, raw_msg: str) -> None:
        action = msg.action
        if action not in ACTIONS:
            cause = f"OCPP 1.6 has no action {m.short(action, 60)}"
            self.owner.unsupported(self.id, raw_msg, "unknown_action", cause)
            await self._refuse(msg.unique_id, "NotImplemented", cause)
            return
        handlers = self.route_map.get(action, {})
        if "_on_action" not in handlers:
            cause = f"{action} is not a message a charge point sends to the Central System"
            self.owner.unsupported(self.id, raw_msg, "unsupported_action", cause)
            await self._refuse(msg.unique_id, "NotSupported", cause)
            return
        try:  # the pile's payload against the schema: its fault if it fails
            await validate_payload(Call(msg.unique_id, action, msg.payload), self._ocpp_version)
        except OCPPError as exc:
            code = m.ERROR_CODES_16.get(exc.code, exc.code)
            cause = _cause(exc)
            self.owner.malformed(self.id, raw_msg, CODE_KINDS.get(code, "schema_violation"), cause)
            await self._refuse(msg.unique_id, code, cause)
            return
        try:  # validated again by the library, then handled; a failure now is the bench's
            await self._handle_call(msg)
        except OCPPError as exc:
            self.owner.internal_error(self.id, f"the answer to {action} breaks the OCPP 1.6 schema: {_cause(exc)}")
            await self._refuse(msg.unique_id, "InternalError", None)

    def _route_answer(self, msg, raw_msg: str) -> None:
        unique_id = msg.unique_id
        if unique_id in self._awaiting:
            if isinstance(msg, CallError):
                self.owner.call_error(unique_id, msg.error_code, msg.error_description)
            self._response_queue.put_nowait(msg)
        elif unique_id in self._late:
            self.owner.note(
                f"a late answer to {unique_id} (the call had timed out) from charge point {self.id!r}; ignored"
            )
        else:
            what = "CALLERROR" if isinstance(msg, CallError) else "CALLRESULT"
            self.owner.malformed(
                self.id,
                raw_msg,
                "unexpected_response",
                f"a {what} for UniqueId {m.short(unique_id, 40)}, which the bench never sent",
            )

    async def _refuse(self, unique_id: str, code: str, cause: str | None) -> None:
        code = m.ERROR_CODES_16.get(code, code)
        await self._send(m.call_error_frame(unique_id, code, DESCRIPTIONS.get(code, code), cause))

    # -- what the pile sends on its own -----------------------------------------------------
    @on(Action.boot_notification)
    def on_boot_notification(self, charge_point_vendor, charge_point_model, **details):
        interval = self.owner.on_boot(charge_point_vendor, charge_point_model, details)
        return call_result.BootNotification(
            current_time=self.owner.wall_time_iso(), interval=interval, status=RegistrationStatus.accepted
        )

    @on(Action.heartbeat)
    def on_heartbeat(self):
        return call_result.Heartbeat(current_time=self.owner.wall_time_iso())

    @after(Action.heartbeat)
    def after_heartbeat(self):  # the answer, with the Central System's time, is on its way
        self.owner.on_heartbeat_answered()

    @on(Action.status_notification)
    def on_status_notification(
        self, connector_id, error_code, status, timestamp=None, info=None, vendor_id=None, vendor_error_code=None
    ):
        self.owner.on_status(connector_id, error_code, status, timestamp, info, vendor_id, vendor_error_code)
        return call_result.StatusNotification()

    @on(Action.meter_values)
    def on_meter_values(self, connector_id, meter_value, transaction_id=None):
        self.owner.on_meter_values(connector_id, meter_value, transaction_id)
        return call_result.MeterValues()

    @on(Action.start_transaction)
    def on_start_transaction(self, connector_id, id_tag, meter_start, timestamp, reservation_id=None):
        transaction_id = self.owner.on_start_transaction(connector_id, id_tag, meter_start, timestamp)
        return call_result.StartTransaction(
            transaction_id=transaction_id, id_tag_info={"status": AuthorizationStatus.accepted}
        )

    @on(Action.stop_transaction)
    def on_stop_transaction(
        self, meter_stop, timestamp, transaction_id, reason=None, id_tag=None, transaction_data=None
    ):
        self.owner.on_stop_transaction(transaction_id, meter_stop, timestamp, reason)
        return call_result.StopTransaction(id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id, message_id=None, data=None):
        status = self.owner.on_data_transfer(vendor_id, message_id, data)
        return call_result.DataTransfer(status=DataTransferStatus(status))

    @on(Action.authorize)
    def on_authorize(self, id_tag):
        return call_result.Authorize(id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, status):
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status(self, status):
        return call_result.DiagnosticsStatusNotification()

    # -- the OCPP 1.6 security extension (Security Whitepaper edition 3): taken and logged -----
    @on(Action.security_event_notification)
    def on_security_event_notification(self, type, timestamp, tech_info=None):  # noqa: A002 (OCPP's name)
        self.owner.on_security_event(type, timestamp, tech_info)
        return call_result.SecurityEventNotification()

    @on(Action.log_status_notification)
    def on_log_status_notification(self, status, request_id=None):
        self.owner.on_security_message("LogStatusNotification", f"status {m.short(status, 40)}, requestId {request_id}")
        return call_result.LogStatusNotification()

    @on(Action.signed_firmware_status_notification)
    def on_signed_firmware_status_notification(self, status, request_id=None):
        self.owner.on_security_message(
            "SignedFirmwareStatusNotification", f"status {m.short(status, 40)}, requestId {request_id}"
        )
        return call_result.SignedFirmwareStatusNotification()

    @on(Action.sign_certificate)
    def on_sign_certificate(self, csr):
        # The bench is no certificate authority: it would never send the CertificateSigned an
        # Accepted promises, so it answers Rejected.
        self.owner.on_security_message(
            "SignCertificate", f"a CSR of {len(csr)} characters; answered Rejected (the bench signs no certificates)"
        )
        return call_result.SignCertificate(status=GenericStatus.rejected)


def _cause(exc: OCPPError) -> str:
    details = getattr(exc, "details", None) or {}
    cause = details.get("cause") if isinstance(details, dict) else None
    code = m.ERROR_CODES_16.get(exc.code, exc.code)
    return f"{code}: {m.short(cause or exc.description, 200, quote=False)}"
