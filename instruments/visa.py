"""The VISA transport: opens a pyvisa resource and turns its failures into bench errors.

pyvisa-py (``@py``) is the default backend; a lab with NI-VISA sets ``visa_backend = "@ivi"``.
A closed socket or a reply that never comes is an InstrumentLost naming the role and the
resource; nothing else of pyvisa's leaks out.
"""

from __future__ import annotations

import socket

import numpy
import pyvisa
from pyvisa import errors as visa_errors

from bench.core.errors import InstrumentError, InstrumentLost


def resource_manager(backend: str) -> pyvisa.ResourceManager:
    """pyvisa keeps one ResourceManager per VISA library and hands it out again while it is
    open; asking each time (rather than caching it here) survives someone closing it."""
    return pyvisa.ResourceManager(backend)


def _no_delay(inst) -> None:
    """Switch Nagle's algorithm off on a pyvisa-py raw socket.

    A setting is followed at once by the error query; with Nagle and delayed ACK each such
    pair stalls ~40 ms. pyvisa-py 0.8 does not implement VI_ATTR_TCPIP_NODELAY, so set the
    option on its socket directly (other backends and resource kinds are left as they are).
    """
    try:
        interface = inst.visalib.sessions[inst.session].interface
        interface.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, KeyError, OSError, TypeError):
        pass


class VisaLink:
    """One open VISA session, line-terminated, with bench errors."""

    def __init__(self, role: str, resource: str, backend: str, timeout_s: float,
                 read_termination: str = "\n", write_termination: str = "\n"):
        self.role = role
        self.resource = resource
        self.backend = backend
        self.timeout_s = timeout_s
        self.read_termination = read_termination
        self.write_termination = write_termination
        self._inst = None

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

    def _call(self, what: str, fn, *args, **kwargs):
        if self._inst is None:
            raise InstrumentLost(self.role, f"{self.resource} is not open (while sending {what!r})")
        try:
            return fn(*args, **kwargs)
        except visa_errors.VisaIOError as exc:
            self.close()
            if exc.error_code == pyvisa.constants.StatusCode.error_timeout:
                raise InstrumentLost(self.role, f"no answer from {self.resource} within {self.timeout_s:g} s to {what!r}") from None
            raise InstrumentLost(self.role, f"connection to {self.resource} lost during {what!r} ({exc.abbreviation})") from None
        except (OSError, EOFError) as exc:
            self.close()
            raise InstrumentLost(self.role, f"connection to {self.resource} lost during {what!r} ({exc})") from None
        except (ValueError, TypeError) as exc:
            raise InstrumentError(self.role, f"unreadable answer to {what!r} from {self.resource} ({exc})") from None

    def write(self, command: str) -> None:
        self._call(command, lambda: self._inst.write(command))

    def query(self, command: str) -> str:
        return self._call(command, lambda: self._inst.query(command)).strip()

    def query_block(self, command: str, datatype: str, big_endian: bool) -> numpy.ndarray:
        """Send a query answered by an IEEE 488.2 definite-length block; return the values.

        ``datatype`` is a struct code ("B" unsigned byte, "H" uint16, "b", "h", "f" ...).
        """
        return self._call(command, lambda: self._inst.query_binary_values(
            command, datatype=datatype, is_big_endian=big_endian, container=numpy.array))

    def query_raw_block(self, command: str) -> bytes:
        """Send a query answered by a definite-length block; return the block's bytes."""

        def read():
            self._inst.write(command)
            head = self._inst.read_bytes(2)
            if head[:1] != b"#":
                raise ValueError(f"expected a definite-length block, got {head!r}")
            digits = int(head[1:2])
            length = int(self._inst.read_bytes(digits))
            data = self._inst.read_bytes(length)
            self._inst.read_bytes(1)  # the trailing LF
            return data

        return self._call(command, read)
