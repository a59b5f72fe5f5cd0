"""The bench as the charging operation platform (Modbus TCP or OCPP 1.6J): see channel.py."""

from bench.platform.channel import Ack, Event, PlatformChannel, Realtime, open_channel
from bench.platform.errors import (
    ModbusExceptionResponse,
    PlatformError,
    PlatformExtensionMissing,
    PlatformLost,
    PlatformProtocolError,
    PlatformRefused,
    PlatformUnsupported,
    PlatformValueError,
)
from bench.platform.log import LogRecord, MessageLog

__all__ = [
    "Ack",
    "Event",
    "PlatformChannel",
    "Realtime",
    "open_channel",
    "ModbusExceptionResponse",
    "PlatformError",
    "PlatformExtensionMissing",
    "PlatformLost",
    "PlatformProtocolError",
    "PlatformRefused",
    "PlatformUnsupported",
    "PlatformValueError",
    "LogRecord",
    "MessageLog",
]
