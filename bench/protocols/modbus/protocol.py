"""What the Modbus Application Protocol Specification V1.1b3 fixes for the bench: the exception
codes with their names (section 7), and how many registers one request may carry."""

from __future__ import annotations

ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02
ILLEGAL_DATA_VALUE = 0x03
SERVER_DEVICE_FAILURE = 0x04

# Exception codes (section 7) by name.
EXCEPTION_NAMES = {
    ILLEGAL_FUNCTION: "illegal function",
    ILLEGAL_DATA_ADDRESS: "illegal data address",
    ILLEGAL_DATA_VALUE: "illegal data value",
    SERVER_DEVICE_FAILURE: "server device failure",
    0x05: "acknowledge",
    0x06: "server device busy",
    0x08: "memory parity error",
    0x0A: "gateway path unavailable",
    0x0B: "gateway target device failed to respond",
}

MAX_READ = 125  # registers per read request (functions 03, 04: section 6.3)
MAX_WRITE = 123  # registers per write-multiple request (function 16: section 6.12)


def exception_text(code: int) -> str:
    """``"Modbus exception 0x04 (server device failure)"``: how every message names one."""
    return f"Modbus exception {code:#04x} ({EXCEPTION_NAMES.get(code, 'unknown exception')})"
