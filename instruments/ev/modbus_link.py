"""The Modbus TCP transport: pymodbus's ModbusTcpClient with bench errors. The one link of
the bench to a Modbus device: the EV simulator / relay board's driver and the platform channel
(the pile's control port) both talk through it.

A Modbus exception response becomes ModbusExceptionError (an InstrumentReportedError)
naming the role, the request, the function and the exception code. The other failures are
the distinct kinds of ``bench.core.errors``, each naming the role, the request and the
resource: no answer in time → InstrumentTimeout; the device reset the connection →
ConnectionReset; the device closed it, or cannot be reached → InstrumentLost; a reply that
cannot be decoded → GarbledReply. Nothing of pymodbus leaks out.

A failure that leaves the connection out of step (no answer, reset, closed, undecodable)
closes it; ``broken`` keeps why, and later requests raise an InstrumentLost of the same
kind until the link is opened again (the session does that at the start of the next test;
the platform channel at its next request).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from bench.core.errors import (
    ConnectionReset,
    GarbledReply,
    InstrumentError,
    InstrumentLost,
    InstrumentReportedError,
    InstrumentTimeout,
    not_reconnected,
)
from bench.core.resources import parse_modbus_resource
from bench.protocols.modbus.protocol import exception_text

# What the link sees of the wire: (sending, the frame's bytes) → the bytes (pymodbus trace_packet).
Trace = Callable[[bool, bytes], bytes]


class ModbusExceptionError(InstrumentReportedError):
    """The device answered a request with a Modbus exception response (the message names the
    kind itself: "… → Modbus exception 0x04 (server device failure)")."""

    kind = ""

    def __init__(self, role: str, what: str, code: int, function: int | None = None):
        self.what = what
        self.code = code
        self.function = function
        super().__init__(role, f"{what} → {exception_text(code)}", command=what)


class ModbusLink:
    """One Modbus TCP connection to one unit; every call names what it was doing.

    ``trace``, when given, sees every frame sent and received (the platform log keeps them).
    """

    def __init__(
        self,
        role: str,
        host: str,
        port: int,
        unit: int,
        timeout_s: float,
        *,
        resource: str | None = None,
        trace: Trace | None = None,
    ):
        self.role = role
        self.host, self.port, self.unit = host, port, unit
        self.resource = resource or f"modbus+tcp://{host}:{port}/{unit}"
        self.timeout_s = timeout_s
        self.trace = trace
        self._client: ModbusTcpClient | None = None
        self.broken: InstrumentError | None = None  # the error that closed the link, until it is opened again

    @classmethod
    def for_resource(cls, role: str, resource: str, timeout_s: float) -> ModbusLink:
        """The link a profile's resource string ``modbus+tcp://HOST:PORT/UNIT`` names."""
        parsed = parse_modbus_resource(resource)
        if parsed is None:
            raise InstrumentError(role, f"resource {resource!r}: expected 'modbus+tcp://HOST:PORT/UNIT'")
        host, port, unit = parsed
        return cls(role, host, port, unit, timeout_s, resource=resource)

    def open(self) -> None:
        # retries=0: a device that does not answer within the timeout is reported at once.
        client = ModbusTcpClient(self.host, port=self.port, timeout=self.timeout_s, retries=0, trace_packet=self.trace)
        if not client.connect():
            raise InstrumentLost(self.role, f"cannot connect to {self.resource}")
        self._client = client
        self.broken = None

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # closing a dead link must not hide the error that killed it
                pass
            self._client = None

    @property
    def is_open(self) -> bool:
        return self._client is not None

    # -- requests ----------------------------------------------------------------------------
    def read(self, table: str, address: int, count: int, what: str) -> list[int]:
        """Read ``count`` registers of ``table`` ("holding": function 03, "input": 04)."""
        fn = "read_holding_registers" if table == "holding" else "read_input_registers"
        response = self._call(what, fn, address, count=count)
        registers = list(getattr(response, "registers", []))
        if len(registers) != count:
            raise InstrumentError(self.role, f"{what}: asked for {count} registers, got {len(registers)}")
        return registers

    def write(self, address: int, words: list[int], what: str, *, multiple: bool = False) -> None:
        """Write one register (function 06) or several (16; also one with ``multiple``) and
        check the echo."""
        echoed: tuple[Any, Any]
        expected: tuple[int, Any]
        if len(words) == 1 and not multiple:
            response = self._call(what, "write_register", address, words[0])
            echoed = (getattr(response, "address", None), list(getattr(response, "registers", []))[:1])
            expected = (address, words)
        else:
            response = self._call(what, "write_registers", address, words)
            echoed = (getattr(response, "address", None), getattr(response, "count", None))
            expected = (address, len(words))
        if echoed != expected:
            raise InstrumentError(self.role, f"{what}: write echo {echoed} does not match the request {expected}")

    def device_information(self, read_code: int, object_id: int, what: str) -> dict[int, bytes]:
        response = self._call(what, "read_device_information", read_code=read_code, object_id=object_id)
        return dict(getattr(response, "information", {}))

    def _break(self, error: InstrumentError) -> InstrumentError:
        self.broken = error
        self.close()
        return error

    def _not_open(self, what: str) -> InstrumentLost:
        return not_reconnected(self.role, self.broken, what, self.resource)

    def _call(self, what: str, method: str, *args, **kwargs):
        if self._client is None:
            raise self._not_open(what)
        where = self.resource
        try:
            response = getattr(self._client, method)(*args, device_id=self.unit, **kwargs)
        except (ConnectionResetError, ConnectionAbortedError) as exc:
            raise self._break(
                ConnectionReset(
                    self.role, f"{what}: {where} reset the connection ({exc.strerror or exc})", command=what
                )
            ) from None
        except (ConnectionException, OSError) as exc:  # closed by the device, unreachable
            raise self._break(
                InstrumentLost(self.role, f"{what}: connection to {where} lost ({_first_line(exc)})", command=what)
            ) from None
        except ModbusIOException as exc:
            text = _first_line(exc)
            if "no response" in text.lower():
                raise self._break(
                    InstrumentTimeout(
                        self.role, f"{what}: no answer within {self.timeout_s:g} s ({where})", command=what
                    )
                ) from None
            raise self._break(
                GarbledReply(self.role, f"{what}: a reply that cannot be decoded ({text}) ({where})", command=what)
            ) from None
        except ModbusException as exc:
            raise self._break(GarbledReply(self.role, f"{what}: {_first_line(exc)} ({where})", command=what)) from None
        if response is None:
            raise self._break(InstrumentTimeout(self.role, f"{what}: no answer from {where}", command=what))
        if response.isError():
            code = int(getattr(response, "exception_code", -1))
            function = getattr(response, "function_code", None)
            raise ModbusExceptionError(self.role, what, code, function & 0x7F if isinstance(function, int) else None)
        return response


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
