"""One charge point's connection to the bench's Central System (runs in the OCPP thread).

``CentralSystemSession`` is the ocpp library's ChargePoint seen from the Central System: it
answers what the pile sends on its own and hands each upload to its owner (OcppChannel). It
routes frames itself so that a malformed frame is reported to the owner instead of only
being logged by the library.
"""

from __future__ import annotations

from typing import Protocol

from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import NotSupportedError, OCPPError
from ocpp.messages import MessageType, unpack
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, DataTransferStatus, RegistrationStatus

from bench.platform.log import FROM_PILE, TO_PILE


class SessionOwner(Protocol):
    """What the session reports to (OcppChannel)."""

    def frame(self, direction: str, text: str) -> None: ...
    def malformed(self, charge_point_id: str, frame, cause: str) -> None: ...
    def unsupported(self, charge_point_id: str, frame: str, cause: str) -> None: ...
    def call_error(self, unique_id: str, code: str, description: str) -> None: ...
    def wall_time_iso(self) -> str: ...
    def on_boot(self, vendor: str, model: str, details: dict) -> int: ...
    def on_status(self, connector_id: int, error_code: str, status: str, timestamp: str | None,
                  info: str | None, vendor_id: str | None, vendor_error_code: str | None) -> None: ...
    def on_meter_values(self, connector_id: int, meter_value: list, transaction_id: int | None) -> None: ...
    def on_start_transaction(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str) -> int: ...
    def on_stop_transaction(self, transaction_id: int, meter_stop: int, timestamp: str, reason: str | None) -> None: ...
    def on_data_transfer(self, vendor_id: str, message_id: str | None, data: str | None) -> str: ...


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
    def __init__(self, charge_point_id: str, connection: LoggedConnection, owner: SessionOwner,
                 unique_ids, response_timeout: float):
        super().__init__(charge_point_id, connection, response_timeout=response_timeout)
        self.owner = owner
        self._unique_id_generator = unique_ids  # deterministic ids: identical runs, identical logs

    async def route_message(self, raw_msg):
        if isinstance(raw_msg, bytes):
            self.owner.malformed(self.id, raw_msg, "binary WebSocket frame (OCPP-J uses text frames)")
            return
        try:
            msg = unpack(raw_msg)
        except OCPPError as exc:
            self.owner.malformed(self.id, raw_msg, _cause(exc))
            return
        if msg.message_type_id == MessageType.Call:
            try:
                await self._handle_call(msg)
            except (OcppNotImplemented, NotSupportedError) as exc:
                self.owner.unsupported(self.id, raw_msg, _cause(exc))
                await self._send(msg.create_call_error(exc).to_json())
            except OCPPError as exc:
                self.owner.malformed(self.id, raw_msg, _cause(exc))
                await self._send(msg.create_call_error(exc).to_json())
        elif msg.message_type_id in (MessageType.CallResult, MessageType.CallError):
            if msg.message_type_id == MessageType.CallError:
                self.owner.call_error(msg.unique_id, msg.error_code, msg.error_description)
            self._response_queue.put_nowait(msg)

    # -- what the pile sends on its own -----------------------------------------------------
    @on(Action.boot_notification)
    def on_boot_notification(self, charge_point_vendor, charge_point_model, **details):
        interval = self.owner.on_boot(charge_point_vendor, charge_point_model, details)
        return call_result.BootNotification(current_time=self.owner.wall_time_iso(), interval=interval,
                                            status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    def on_heartbeat(self):
        return call_result.Heartbeat(current_time=self.owner.wall_time_iso())

    @on(Action.status_notification)
    def on_status_notification(self, connector_id, error_code, status, timestamp=None, info=None,
                               vendor_id=None, vendor_error_code=None):
        self.owner.on_status(connector_id, error_code, status, timestamp, info, vendor_id, vendor_error_code)
        return call_result.StatusNotification()

    @on(Action.meter_values)
    def on_meter_values(self, connector_id, meter_value, transaction_id=None):
        self.owner.on_meter_values(connector_id, meter_value, transaction_id)
        return call_result.MeterValues()

    @on(Action.start_transaction)
    def on_start_transaction(self, connector_id, id_tag, meter_start, timestamp, reservation_id=None):
        transaction_id = self.owner.on_start_transaction(connector_id, id_tag, meter_start, timestamp)
        return call_result.StartTransaction(transaction_id=transaction_id,
                                            id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action.stop_transaction)
    def on_stop_transaction(self, meter_stop, timestamp, transaction_id, reason=None, id_tag=None,
                            transaction_data=None):
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


def _cause(exc: OCPPError) -> str:
    details = getattr(exc, "details", None) or {}
    cause = details.get("cause") if isinstance(details, dict) else None
    return f"{exc.code}: {cause or exc.description}"
