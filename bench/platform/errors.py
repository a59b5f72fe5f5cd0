"""Errors of the platform channel. All are BenchErrors, so the session can catch them and
take the bench to its safe state; each names the pile's endpoint.

An error the OCPP link raises about something the pile (or anything else on the Central
System's port) sent has a ``kind``: a name a test or a lab's tooling can match on, put at the
head of its text after the endpoint (``platform (…): nesting_too_deep: malformed OCPP frame
…``), as every InstrumentError puts its kind, so the platform log names it too. FRAME_KINDS,
SECURITY_KINDS, HANDSHAKE_KINDS, CALL_KINDS and FINDING_KINDS list them; GENERIC_KINDS are the
fallbacks no hostile input may end in (a fuzz test fails on them). Errors without a kind of their
own keep the text they had.
"""

from __future__ import annotations

from bench.core.errors import InstrumentError, InstrumentLost, ProtocolError
from bench.protocols.modbus.protocol import exception_text

# OCPP frames and values from the pile that the bench refuses (PlatformProtocolError kinds).
FRAME_KINDS = {
    "binary_frame": "a binary WebSocket frame (OCPP-J uses text frames)",
    "frame_too_large": "a frame above [dut.ocpp] max_frame_bytes: the connection is closed (1009)",
    "invalid_utf8": "a text frame that is not UTF-8: the connection is closed (1007)",
    "websocket_protocol": "a WebSocket framing error: the connection is closed (1002)",
    "nesting_too_deep": "JSON nested deeper than 32 levels (no OCPP 1.6 message nests more than 6)",
    "not_json": "not valid JSON",
    "bad_number": "NaN, Infinity, a number out of range or an integer of more than 20 digits",
    "bad_string": "a string with a lone UTF-16 surrogate",
    "not_a_message": "JSON that is not a non-empty array",
    "unknown_message_type": "a MessageTypeId other than the integers 2, 3, 4",
    "wrong_length": "a CALL, CALLRESULT or CALLERROR with the wrong number of elements",
    "wrong_type": "an element or payload field of the wrong JSON type (CALLERROR TypeConstraintViolation "
    "for a payload field, FormationViolation for the message's own elements)",
    "bad_unique_id": "an empty UniqueId or one longer than 36 characters",
    "unknown_action": "an Action OCPP 1.6 does not have (CALLERROR NotImplemented)",
    "unsupported_action": "an OCPP 1.6 Action the Central System does not take (CALLERROR NotSupported)",
    "schema_violation": "a payload that breaks the OCPP 1.6 schema (CALLERROR FormationViolation)",
    "missing_field": "a payload without a required field (CALLERROR ProtocolError)",
    "bad_value": "a field with a value the bench cannot use (a time, a meter value, BMS data)",
    "unexpected_response": "a CALLRESULT or CALLERROR for no call the bench made",
    "bad_response": "an answer to a bench call that breaks the OCPP 1.6 schema",
    "unknown_error_code": "a CALLERROR whose errorCode OCPP-J 1.6 does not define",
}
# Connections the Central System refuses (PlatformSecurityError kinds): security events.
SECURITY_KINDS = {
    "unknown_charge_point": "a charge point id other than the profile's (HTTP 404)",
    "no_credentials": "no HTTP Basic credentials under security profile 1 or 2 (HTTP 401)",
    "malformed_credentials": "an Authorization header that is not HTTP Basic credentials (HTTP 401)",
    "wrong_username": "a Basic username other than the charge point id (HTTP 401)",
    "wrong_password": "a password that is not the charge point's AuthorizationKey (HTTP 401)",
    "password_as_hex": "the AuthorizationKey's hexadecimal digits sent instead of its bytes (HTTP 401)",
    "duplicate_connection": "a second connection with the id of a live charge point (HTTP 409)",
    "security_setup": "the Central System's password, certificate or key files cannot be used",
}
# Connections the Central System refuses at the WebSocket upgrade that are no security event
# (PlatformProtocolError kinds): the pile does not speak OCPP-J 1.6 as it must.
HANDSHAKE_KINDS = {
    "no_subprotocol": "the pile offered no WebSocket subprotocol (HTTP 400)",
    "wrong_subprotocol": "the pile offered subprotocols, none of them exactly 'ocpp1.6' (HTTP 400)",
}
# How a bench call to the pile ended when it did not succeed (PlatformRefused, PlatformLost).
CALL_KINDS = {
    "rejected": "the pile answered a status other than Accepted",
    "callerror": "the pile answered with a CALLERROR (an OCPP-J 1.6 error code)",
    "timeout": "no answer within call_timeout_s",
    "not_offered": "the pile does not take one of the bench's vendor DataTransfers (PlatformExtensionMissing)",
}
# What the bench noticed in a message it accepted and read anyway (OcppChannel.findings): logged,
# kept, never raised.
FINDING_KINDS = {
    "time_without_zone": "a dateTime without a time zone, read as UTC",
}
# Kinds that name nothing: a hostile input must never end in one of these.
GENERIC_KINDS = ("", "platform_error", "protocol_error", "internal_error")


class PlatformError(InstrumentError):
    """The pile's control interface could not do what the bench asked."""

    def __init__(self, endpoint: str, message: str, kind: str | None = None):
        self.endpoint = endpoint
        if kind is not None:
            self.kind = kind  # read by InstrumentError, which puts it at the head of the text
        super().__init__(f"platform ({endpoint})", message)
        label = getattr(self, "kind", "") or ""
        head = f"{label}: " if label and not message.startswith(label) else ""
        if head and f"({endpoint}): {head}" not in str(self):  # a base that does not put it there
            self.args = (f"platform ({endpoint}): {head}{message}",)
        self.detail = head + message  # the text without the endpoint (the log names no port)


class PlatformLost(PlatformError, InstrumentLost):
    """No connection to the pile, or no answer in time."""


class PlatformRefused(PlatformError):
    """The pile refused a command (OCPP status other than Accepted, a CALLERROR), or a
    charge point with another id tried to connect."""

    error_code: str | None = None  # a CALLERROR's code, where the pile answered with one


class PlatformSecurityError(PlatformRefused):
    """The Central System refused a connection (another id, missing or wrong credentials, a
    second connection for a live charge point): a security event. Its text names the kind,
    the charge point id and the peer's address, never a password or key."""


class PlatformProtocolError(PlatformError, ProtocolError):
    """A frame or value from the pile the bench cannot decode (malformed OCPP frame, a code
    that is not in the register map)."""


class PlatformUnsupported(PlatformError):
    """The pile's register map or OCPP mapping has no way to do this. A case that needs it is
    skipped with the error's text as the reason (bench.api.platform.needs_capability)."""


class PlatformExtensionMissing(PlatformUnsupported, PlatformRefused):
    """The pile does not take one of the bench's vendor DataTransfers (UnknownVendorId,
    UnknownMessageId, or a CALLERROR NotImplemented / NotSupported): ``capability`` names what
    the bench cannot do over OCPP with this pile."""

    def __init__(self, endpoint: str, message: str, capability: str):
        self.capability = capability
        super().__init__(endpoint, message, kind="not_offered")


class ModbusExceptionResponse(PlatformError):
    """The pile answered a Modbus request with an exception response."""

    def __init__(self, endpoint: str, action: str, registers: str, where: str, code: int):
        self.registers = registers
        self.where = where
        self.code = code
        super().__init__(endpoint, f"{action} of {registers} ({where}) answered with {exception_text(code)}")


class PlatformValueError(PlatformError):
    """A value the pile's register (or the OCPP field) cannot carry; nothing was sent."""
