"""The VISA transport: opens a pyvisa resource and turns its failures into bench errors.

pyvisa-py (``@py``) is the default backend; a lab with NI-VISA sets ``visa_backend = "@ivi"``.
Nothing of pyvisa's leaks out; every failure is one of the distinct kinds of
``bench.core.errors``, naming the role, the command and the resource:

- no answer in time: InstrumentTimeout (pyvisa-py reports a connection the instrument closed
  as a timeout too; the socket is looked at to tell the two apart: closed → InstrumentLost);
- the instrument reset the connection: ConnectionReset;
- an answer that is no text: GarbledReply;
- a definite-length block whose header lies about its length, or that stops short:
  BlockLengthMismatch (not "no answer": the answer came, and it was wrong).

A failure that leaves the link out of step (no answer, reset, a block that did not end where
its header said) closes it; the error that closed it is kept in ``broken``, and every later
call raises an InstrumentLost of the same kind until the link is opened again (the session
does that at the start of the next test).
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import numpy
import pyvisa
from pyvisa import errors as visa_errors

from bench.core.errors import (
    BlockLengthMismatch,
    ConnectionReset,
    GarbledReply,
    InstrumentError,
    InstrumentLost,
    InstrumentTimeout,
    not_reconnected,
)

# The longest definite-length block the bench accepts (bytes): more than any record a bench
# scope sends in one read (Keysight 4000 X: 4 M points × 2 bytes; Rigol reads in 125 k-point
# batches). A header announcing more is taken for a lie rather than waited for.
MAX_BLOCK_BYTES = 64 * 1024 * 1024
# numpy dtypes of the struct codes query_block takes.
_DTYPES = {
    "B": "u1",
    "b": "i1",
    "H": "u2",
    "h": "i2",
    "I": "u4",
    "i": "i4",
    "L": "u4",
    "l": "i4",
    "Q": "u8",
    "q": "i8",
    "f": "f4",
    "d": "f8",
}


def resource_manager(backend: str) -> pyvisa.ResourceManager:
    """pyvisa keeps one ResourceManager per VISA library and hands it out again while it is
    open; asking each time (rather than caching it here) survives someone closing it."""
    return pyvisa.ResourceManager(backend)


def _raw_socket(inst):
    """pyvisa-py's socket of a ``::SOCKET`` resource (None for other backends and kinds)."""
    try:
        sock = inst.visalib.sessions[inst.session].interface
    except (AttributeError, KeyError, TypeError):
        return None
    return sock if isinstance(sock, socket.socket) else None


def _no_delay(inst) -> None:
    """Switch Nagle's algorithm off on a pyvisa-py raw socket.

    A setting is followed at once by the error query; with Nagle and delayed ACK each such
    pair stalls ~40 ms. pyvisa-py 0.8 does not implement VI_ATTR_TCPIP_NODELAY, so set the
    option on its socket directly (other backends and resource kinds are left as they are).
    """
    sock = _raw_socket(inst)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


def read_definite_block(
    read: Callable[[int], bytes | None],
    waiting: Callable[[], int],
    *,
    role: str,
    command: str,
    where: str,
    timeout_s: float,
    terminator: bytes = b"\n",
) -> bytes:
    """Read one IEEE 488.2 definite-length block (``#`` + N + N length digits + bytes + LF).

    ``read(n)`` returns exactly ``n`` bytes, or None when they did not all come within the
    timeout; ``waiting()`` tells how many bytes are already waiting after the block (a block
    longer than its header said leaves some). Raises InstrumentTimeout when nothing came at
    all, GarbledReply for an answer that is no definite-length block, BlockLengthMismatch for
    a header that lies (the bytes stop short of it, or go on past it) or a header cut short.
    """

    def mismatch(text: str) -> BlockLengthMismatch:
        return BlockLengthMismatch(role, f"{command!r}: {text} ({where})", command=command)

    def garbled(text: str) -> GarbledReply:
        return GarbledReply(role, f"{command!r}: {text} ({where})", command=command)

    mark = read(1)
    if mark is None:
        raise InstrumentTimeout(role, f"no answer within {timeout_s:g} s to {command!r} ({where})", command=command)
    if mark != b"#":
        raise garbled(f"answer begins {mark!r}: expected a definite-length block '#<N><length><bytes>'")
    count = read(1)
    if count is None:
        raise mismatch("the block header stopped after '#'")
    if count not in b"123456789" or len(count) != 1:
        what = "an indefinite-length block ('#0')" if count == b"0" else f"{count!r} where the digit count should be"
        raise garbled(f"block header '#' then {what}: expected a definite-length block")
    digits = read(int(count))
    if digits is None:
        raise mismatch(f"the block header '#{count.decode()}…' stopped before its {count.decode()} length digits")
    if not (digits.isascii() and digits.isdigit()):
        raise garbled(f"block header '#{count.decode()}' + {digits!r}: the length is not {count.decode()} digits")
    length = int(digits)
    if length > MAX_BLOCK_BYTES:
        raise mismatch(f"the block header announces {length} bytes, more than the {MAX_BLOCK_BYTES} any record has")
    data = read(length) if length else b""
    if data is None:
        raise mismatch(f"the block header announced {length} bytes; fewer came, then nothing within {timeout_s:g} s")
    if terminator:
        end = read(len(terminator))
        if end is None:
            raise mismatch(
                f"after the {length} bytes the block header announced, no terminator came "
                f"within {timeout_s:g} s (the block is longer than its header says, or cut short)"
            )
        if end != terminator:
            raise mismatch(
                f"the block goes on past the {length} bytes its header announced "
                f"({end!r} where the terminator should be)"
            )
    extra = waiting()
    if extra:
        raise mismatch(
            f"{extra} more byte(s) follow the block's terminator: the block is longer than the "
            f"{length} bytes its header announced"
        )
    return data


class VisaLink:
    """One open VISA session, line-terminated, with bench errors."""

    def __init__(
        self,
        role: str,
        resource: str,
        backend: str,
        timeout_s: float,
        read_termination: str = "\n",
        write_termination: str = "\n",
    ):
        self.role = role
        self.resource = resource
        self.backend = backend
        self.timeout_s = timeout_s
        self.read_termination = read_termination
        self.write_termination = write_termination
        self._inst = None
        self.broken: InstrumentError | None = None  # the error that closed the link, until it is opened again

    def open(self) -> None:
        try:
            inst = resource_manager(self.backend).open_resource(self.resource, open_timeout=int(self.timeout_s * 1000))
        except Exception as exc:  # pyvisa raises many kinds here (VisaIOError, OSError, ValueError)
            raise InstrumentLost(self.role, f"cannot open {self.resource} ({exc})") from None
        inst.timeout = int(self.timeout_s * 1000)
        inst.read_termination = self.read_termination
        inst.write_termination = self.write_termination
        _no_delay(inst)
        self._inst = inst
        self.broken = None

    def close(self) -> None:
        if self._inst is not None:
            try:
                self._inst.close()
            except Exception:  # closing a dead link must not hide the error that killed it
                pass
            self._inst = None

    @property
    def is_open(self) -> bool:
        return self._inst is not None

    # -- failures ------------------------------------------------------------------------------
    def _break(self, error: InstrumentError) -> InstrumentError:
        """Close the link (it is out of step or gone) and keep why."""
        self.broken = error
        self.close()
        return error

    def _not_open(self, what: str) -> InstrumentLost:
        return not_reconnected(self.role, self.broken, what, self.resource)

    def _peer_closed(self) -> bool:
        """Whether the instrument closed the connection (pyvisa-py reports that as a timeout)."""
        sock = _raw_socket(self._inst)
        if sock is None:
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _waiting(self) -> int:
        """Bytes already received and not yet read (pyvisa-py's buffer and the socket's)."""
        try:
            session = self._inst.visalib.sessions[self._inst.session]
        except (AttributeError, KeyError, TypeError):
            return 0
        waiting = len(getattr(session, "_pending_buffer", b"") or b"")
        sock = _raw_socket(self._inst)
        if sock is not None:
            try:
                waiting += len(sock.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT))
            except OSError:
                pass
        return waiting

    def _call(self, what: str, fn, *args, **kwargs):
        if self._inst is None:
            raise self._not_open(what)
        where = self.resource
        try:
            return fn(*args, **kwargs)
        except visa_errors.VisaIOError as exc:
            if exc.error_code == pyvisa.constants.StatusCode.error_timeout:
                if self._peer_closed():
                    raise self._break(
                        InstrumentLost(
                            self.role, f"connection closed by the instrument ({where}) during {what!r}", command=what
                        )
                    ) from None
                raise self._break(
                    InstrumentTimeout(
                        self.role, f"no answer within {self.timeout_s:g} s to {what!r} ({where})", command=what
                    )
                ) from None
            raise self._break(
                InstrumentLost(
                    self.role, f"connection to {where} lost during {what!r} ({exc.abbreviation})", command=what
                )
            ) from None
        except InstrumentTimeout as exc:  # from the block reader: nothing came
            if self._peer_closed():
                raise self._break(
                    InstrumentLost(
                        self.role, f"connection closed by the instrument ({where}) during {what!r}", command=what
                    )
                ) from None
            raise self._break(exc) from None
        except (BlockLengthMismatch, GarbledReply) as exc:  # from the block reader: out of step
            raise self._break(exc) from None
        except (ConnectionResetError, ConnectionAbortedError) as exc:
            raise self._break(
                ConnectionReset(
                    self.role, f"{where} reset the connection during {what!r} ({exc.strerror or exc})", command=what
                )
            ) from None
        except (OSError, EOFError) as exc:
            raise self._break(
                InstrumentLost(self.role, f"connection to {where} lost during {what!r} ({exc})", command=what)
            ) from None
        except UnicodeDecodeError as exc:
            raw = bytes(exc.object[:40]) if isinstance(exc.object, (bytes, bytearray)) else b"?"
            raise GarbledReply(self.role, f"{what!r} → {raw!r}: not ASCII text ({where})", command=what) from None
        except (ValueError, TypeError) as exc:
            raise GarbledReply(self.role, f"unreadable answer to {what!r} from {where} ({exc})", command=what) from None

    # -- talking -------------------------------------------------------------------------------
    def write(self, command: str) -> None:
        self._call(command, lambda: self._inst.write(command))

    def query(self, command: str) -> str:
        return self._call(command, lambda: self._inst.query(command)).strip()

    def query_block(self, command: str, datatype: str, big_endian: bool) -> numpy.ndarray:
        """Send a query answered by an IEEE 488.2 definite-length block; return the values.

        ``datatype`` is a struct code ("B" unsigned byte, "H" uint16, "b", "h", "f" ...).
        """
        dtype = numpy.dtype(_DTYPES[datatype]).newbyteorder(">" if big_endian else "<")
        data = self.query_raw_block(command)
        if len(data) % dtype.itemsize:
            raise GarbledReply(
                self.role,
                f"{command!r}: a block of {len(data)} bytes is no whole number of "
                f"{dtype.itemsize}-byte values ({self.resource})",
                command=command,
            )
        return numpy.frombuffer(data, dtype=dtype).copy()

    def query_raw_block(self, command: str) -> bytes:
        """Send a query answered by a definite-length block; return the block's bytes."""

        def read(count: int) -> bytes | None:
            try:
                return bytes(self._inst.read_bytes(count))
            except visa_errors.VisaIOError as exc:
                if exc.error_code == pyvisa.constants.StatusCode.error_timeout:
                    return None
                raise

        def transfer():
            self._inst.write(command)
            return read_definite_block(
                read,
                self._waiting,
                role=self.role,
                command=command,
                where=self.resource,
                timeout_s=self.timeout_s,
                terminator=self.read_termination.encode("ascii"),
            )

        return self._call(command, transfer)
