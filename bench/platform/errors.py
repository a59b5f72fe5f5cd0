"""Errors of the platform channel. All are BenchErrors, so the session can catch them and
take the bench to its safe state; each names the pile's endpoint."""

from __future__ import annotations

from bench.core.errors import InstrumentError, InstrumentLost, ProtocolError

# Modbus Application Protocol Specification V1.1b3 §7 (exception codes).
MODBUS_EXCEPTIONS = {
    0x01: "illegal function", 0x02: "illegal data address", 0x03: "illegal data value",
    0x04: "server device failure", 0x05: "acknowledge", 0x06: "server device busy",
    0x08: "memory parity error", 0x0A: "gateway path unavailable",
    0x0B: "gateway target device failed to respond",
}


class PlatformError(InstrumentError):
    """The pile's control interface could not do what the bench asked."""

    def __init__(self, endpoint: str, message: str):
        self.endpoint = endpoint
        self.detail = message  # the message without the endpoint (the log names no port)
        super().__init__(f"platform ({endpoint})", message)


class PlatformLost(PlatformError, InstrumentLost):
    """No connection to the pile, or no answer in time."""


class PlatformRefused(PlatformError):
    """The pile refused a command (OCPP status other than Accepted, a CALLERROR), or a
    charge point with another id tried to connect."""


class PlatformProtocolError(PlatformError, ProtocolError):
    """A frame or value from the pile the bench cannot decode (malformed OCPP frame, a code
    that is not in the register map)."""


class PlatformUnsupported(PlatformError):
    """The pile's register map or OCPP mapping has no way to do this."""


class ModbusExceptionResponse(PlatformError):
    """The pile answered a Modbus request with an exception response."""

    def __init__(self, endpoint: str, action: str, registers: str, where: str, code: int):
        self.registers = registers
        self.where = where
        self.code = code
        name = MODBUS_EXCEPTIONS.get(code, "unknown exception")
        super().__init__(endpoint, f"{action} of {registers} ({where}) answered with Modbus exception "
                                   f"{code:#04x} ({name})")


class PlatformValueError(PlatformError):
    """A value the pile's register (or the OCPP field) cannot carry; nothing was sent."""
