"""A Modbus TCP front end on the socket hub (the simulated EV simulator, the pile's control port).

Written here rather than with pymodbus's server: pymodbus serves from its own asyncio loop,
and the virtual clock must know when a request is in flight; on the hub every request is
answered inside the same accounting as the SCPI instruments. The bench's drivers still
use pymodbus's client, so the wire format is checked against an independent implementation.

Supported functions: 03 read holding registers, 04 read input registers, 06 write single
register, 16 write multiple registers, 43/14 read device identification. Anything else is
answered with exception 01 (illegal function).

Injected faults (tests only, instruments/sim/test_controls.py): ``faults``, when set, sees
every request first, as the command ``"<function>@<address>"`` (``"43"`` for the device
identification); it may swallow it (no answer), reset the connection, answer it with an
exception code, or garble the reply.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Protocol

from bench.protocols.modbus.protocol import (
    ILLEGAL_DATA_ADDRESS,
    ILLEGAL_DATA_VALUE,
    ILLEGAL_FUNCTION,
    MAX_READ,
    MAX_WRITE,
    SERVER_DEVICE_FAILURE,
    exception_text,
)
from instruments.sim.command_log import CommandLog

# A simulated device raises ModbusException with one of these codes (bench.protocols.modbus.protocol).
__all__ = [
    "ILLEGAL_DATA_ADDRESS",
    "ILLEGAL_DATA_VALUE",
    "ILLEGAL_FUNCTION",
    "SERVER_DEVICE_FAILURE",
    "ModbusDevice",
    "ModbusException",
    "ModbusFrontEnd",
    "request_name",
]


class ModbusException(Exception):
    """Raised by a simulated device: the front end answers the request with this exception code."""

    def __init__(self, code: int):
        self.code = code
        super().__init__(exception_text(code))


class ModbusDevice(Protocol):
    """What a simulated Modbus device implements; addresses are 0-based protocol addresses."""

    def read_holding(self, address: int, count: int) -> list[int]: ...
    def read_input(self, address: int, count: int) -> list[int]: ...
    def write(self, address: int, values: list[int]) -> None: ...
    def identification(self) -> dict[int, str]:
        """Device identification objects: 0 vendor, 1 product code, 2 revision, 3 URL, 4 product name, 5 model."""


@dataclass
class _Session:
    buffer: bytearray = field(default_factory=bytearray)


class ModbusFrontEnd:
    def __init__(self, name: str, device: ModbusDevice, unit_id: int):
        self.name = name
        self.device = device
        self.unit_id = unit_id
        self.log: CommandLog[tuple[int, bytes]] = CommandLog()  # (function, request PDU), the latest kept
        self.faults = None  # a test_controls.FaultInjector when a fault plan names this device

    def new_session(self) -> _Session:
        return _Session()

    def feed(self, session: _Session, data: bytes) -> bytes:
        session.buffer += data
        out = bytearray()
        while len(session.buffer) >= 7:
            transaction, protocol, length = struct.unpack(">HHH", session.buffer[:6])
            if len(session.buffer) < 6 + length:
                break
            unit = session.buffer[6]
            pdu = bytes(session.buffer[7 : 6 + length])
            del session.buffer[: 6 + length]
            if protocol != 0 or length < 2:
                continue  # not Modbus: a real device drops it
            if unit not in (self.unit_id, 0xFF):
                continue  # another unit behind the same address: no answer (as a gateway would time out)
            reply = self._answer(pdu)
            if reply is None:
                continue  # swallowed by an injected fault: no answer
            out += struct.pack(">HHHB", transaction, 0, len(reply) + 1, unit) + reply
        return bytes(out)

    def _answer(self, pdu: bytes) -> bytes | None:
        function = pdu[0]
        self.log.append((function, pdu))
        if self.faults is not None:
            fault = self.faults.command(request_name(pdu))
            if fault is not None and fault.swallows:
                return None
            if fault is not None and fault.exception is not None:
                return bytes([function | 0x80, fault.exception])
            reply = self._reply(function, pdu)
            return self.faults.reply(reply, b"", modbus=True)
        return self._reply(function, pdu)

    def _reply(self, function: int, pdu: bytes) -> bytes:
        try:
            if function in (0x03, 0x04):
                address, count = struct.unpack(">HH", pdu[1:5])
                if not 1 <= count <= MAX_READ:
                    raise ModbusException(ILLEGAL_DATA_VALUE)
                read = self.device.read_holding if function == 0x03 else self.device.read_input
                values = read(address, count)
                return bytes([function, 2 * count]) + struct.pack(f">{count}H", *values)
            if function == 0x06:
                address, value = struct.unpack(">HH", pdu[1:5])
                self.device.write(address, [value])
                return pdu[:5]
            if function == 0x10:
                address, count, nbytes = struct.unpack(">HHB", pdu[1:6])
                if not 1 <= count <= MAX_WRITE or nbytes != 2 * count or len(pdu) < 6 + nbytes:
                    raise ModbusException(ILLEGAL_DATA_VALUE)
                values = list(struct.unpack(f">{count}H", pdu[6 : 6 + nbytes]))
                self.device.write(address, values)
                return pdu[:5]
            if function == 0x2B and len(pdu) >= 4 and pdu[1] == 0x0E:
                return self._identification(pdu[2], pdu[3])
            raise ModbusException(ILLEGAL_FUNCTION)
        except ModbusException as exc:
            return bytes([function | 0x80, exc.code])
        except struct.error:
            return bytes([function | 0x80, ILLEGAL_DATA_VALUE])

    def _identification(self, code: int, first_object: int) -> bytes:
        objects = self.device.identification()
        if code not in (1, 2, 3, 4):
            raise ModbusException(ILLEGAL_DATA_VALUE)
        if code == 4:  # one specific object
            if first_object not in objects:
                raise ModbusException(ILLEGAL_DATA_ADDRESS)
            chosen = [first_object]
        else:
            chosen = sorted(i for i in objects if i >= first_object and (code > 1 or i <= 2))
        body = bytearray()
        for obj in chosen:
            value = objects[obj].encode("ascii", errors="replace")[:200]
            body += bytes([obj, len(value)]) + value
        # conformity 0x83: basic + regular identification, stream and individual access
        return bytes([0x2B, 0x0E, code, 0x83, 0x00, 0x00, len(chosen)]) + bytes(body)


def request_name(pdu: bytes) -> str:
    """A request as fault plans name it: ``"<function>@<address>"``, or ``"<function>"``."""
    if pdu[0] in (0x03, 0x04, 0x06, 0x10) and len(pdu) >= 3:
        return f"{pdu[0]}@{struct.unpack('>H', pdu[1:3])[0]}"
    return str(pdu[0])
