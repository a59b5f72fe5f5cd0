"""SAE J1939-21 transport protocol on the bench Clock (no threads, no library timers).

* ``TransportEndpoint``: one node. Sends messages (one frame up to 8 bytes, RTS/CTS to a
  node, BAM to everyone) and receives RTS/CTS and BAM transfers addressed to it, with the
  J1939 timeouts (``timing.TP_*``) and Conn_Abort.
* ``TransportObserver``: a bystander (monitor, trace decoder) that reassembles every
  transfer it sees in both directions and never sends.

Anything irregular — a wrong or missing sequence number, sizes that disagree, a transfer
that never completes (its buffer is released), an unexpected CTS or DT, an abort — is a
Finding of a specific kind, never an exception.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import can

from bench.core.canbus import ClockedBus
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930 import timing
from bench.protocols.gbt27930.catalogue import TP_CM_PGN, TP_DT_PGN, TP_PRIORITY
from bench.protocols.gbt27930.deadline import Deadline
from bench.protocols.gbt27930.findings import Finding
from bench.protocols.gbt27930.ids import GLOBAL_ADDRESS, frame_id

RTS, CTS, EOMA, BAM, ABORT = 0x10, 0x11, 0x13, 0x20, 0xFF
MAX_SIZE = 1785  # 255 packets × 7 bytes (J1939-21)
BAM_PACKET_GAP_S = 0.05  # J1939-21: BAM packets 50 … 200 ms apart
ABORT_BUSY, ABORT_RESOURCES, ABORT_TIMEOUT = 1, 2, 3
ABORT_BAD_SEQUENCE = 7  # J1939-21 Conn_Abort reasons

MessageSink = Callable[[int, bytes, int, int, float, float], None]  # pgn, data, src, dest, start, end


def packets_for(size: int) -> int:
    return (size + 6) // 7


def _pgn_bytes(pgn: int) -> bytes:
    return pgn.to_bytes(3, "little")


def rts(size: int, pgn: int, max_per_cts: int = 0xFF) -> bytes:
    return bytes((RTS,)) + size.to_bytes(2, "little") + bytes((packets_for(size), max_per_cts)) + _pgn_bytes(pgn)


def cts(count: int, next_seq: int, pgn: int) -> bytes:
    return bytes((CTS, count, next_seq, 0xFF, 0xFF)) + _pgn_bytes(pgn)


def eoma(size: int, pgn: int) -> bytes:
    return bytes((EOMA,)) + size.to_bytes(2, "little") + bytes((packets_for(size), 0xFF)) + _pgn_bytes(pgn)


def bam(size: int, pgn: int) -> bytes:
    return bytes((BAM,)) + size.to_bytes(2, "little") + bytes((packets_for(size), 0xFF)) + _pgn_bytes(pgn)


def abort(reason: int, pgn: int) -> bytes:
    return bytes((ABORT, reason, 0xFF, 0xFF, 0xFF)) + _pgn_bytes(pgn)


def dt_packets(data: bytes) -> list[bytes]:
    """TP.DT payloads: sequence number 1… then 7 data bytes, the last padded with 0xFF."""
    return [bytes((i + 1,)) + data[i * 7 : i * 7 + 7].ljust(7, b"\xff") for i in range(packets_for(len(data)))]


class Reassembly:
    """The receive buffer of one transfer."""

    __slots__ = (
        "pgn",
        "size",
        "packets",
        "src",
        "dest",
        "bam",
        "buffer",
        "next_seq",
        "window_end",
        "window",
        "held",
        "start",
        "last",
        "deadline",
    )

    def __init__(self, pgn: int, size: int, packets: int, src: int, dest: int, t: float, bam: bool = False):
        self.pgn, self.size, self.packets = pgn, size, packets
        self.src, self.dest, self.bam = src, dest, bam
        self.buffer = bytearray()
        self.next_seq = 1
        self.window_end = packets  # last sequence number of the current CTS window
        self.window = packets  # packets asked for per CTS
        self.held = False  # the last CTS was CTS(0): the receiver holds the connection
        self.start = self.last = t
        self.deadline = 0.0  # observer only: trace time after which the transfer is dead

    @property
    def complete(self) -> bool:
        return self.next_seq > self.packets

    def accept(self, data: bytes, t: float) -> tuple[str, str] | None:
        """Take one DT packet; a (finding kind, text) when it does not fit."""
        seq = data[0] if data else 0
        if len(data) != 8:
            return fk.TP_BAD_SEQUENCE, f"TP.DT of {len(data)} bytes (packet {seq}), 8 expected"
        if seq == self.next_seq and seq <= self.window_end:
            self.buffer += data[1:]
            self.next_seq += 1
            self.last = t
            return None
        if 0 < seq < self.next_seq:
            return fk.TP_BAD_SEQUENCE, f"packet {seq} repeated (expected {self.next_seq})"
        if self.next_seq < seq <= self.window_end:
            return fk.TP_MISSING_PACKET, f"packet {self.next_seq} missing (got {seq})"
        return fk.TP_BAD_SEQUENCE, f"packet number {seq} outside 1 … {self.window_end}"

    def is_repeat(self, data: bytes) -> bool:
        """A packet already received (harmless: ignored, but reported)."""
        return bool(data) and 0 < data[0] < self.next_seq

    def rewind(self, next_seq: int) -> None:
        """The receiver asked for packets again from ``next_seq`` (retransmission)."""
        if 1 <= next_seq < self.next_seq:
            del self.buffer[(next_seq - 1) * 7 :]
            self.next_seq = next_seq

    def data(self) -> bytes:
        return bytes(self.buffer[: self.size])


def parse_cm(data: bytes) -> tuple[int, int, int, int, int] | None:
    """(control, size or count, packets or next, max per CTS, pgn) of a TP.CM, None if short."""
    if len(data) != 8:
        return None
    control = data[0]
    pgn = data[5] | (data[6] << 8) | (data[7] << 16)
    if control in (RTS, EOMA, BAM):
        return control, data[1] | (data[2] << 8), data[3], data[4], pgn
    return control, data[1], data[2], data[3], pgn


def check_announcement(size: int, packets: int) -> str | None:
    """Text of the size problem of an RTS/BAM, None when size and packet count agree."""
    if size > MAX_SIZE or packets_for(size) != packets or packets == 0:
        return f"{size} bytes announced in {packets} packets ({packets_for(size)} needed, at most {MAX_SIZE} bytes)"
    return None


class _Party:
    """What the endpoint and the observer share: reading TP.CM frames, reporting findings."""

    on_finding: Callable[[Finding], object]  # its result is ignored
    # Each party reads the frames its own way (defined by the subclasses).
    _on_dt: Callable[[bytes, int, int, float], None]
    _on_cm: Callable[[int, int, int, int, int, int, int, float], None]

    def _take(self, pgn: int, data: bytes, src: int, dest: int, t: float) -> None:
        """Route a TP.DT to ``_on_dt`` and a well-formed TP.CM to ``_on_cm``."""
        if pgn == TP_DT_PGN:
            self._on_dt(data, src, dest, t)
            return
        cm = parse_cm(data)
        if cm is None:
            self._finding(fk.TP_BAD_CONTROL, t, f"TP.CM of {len(data)} bytes from {src:#04x}", None)
            return
        self._on_cm(*cm, src, dest, t)

    def _bad_control(self, control: int, src: int, t: float, pgn: int) -> None:
        self._finding(fk.TP_BAD_CONTROL, t, f"TP.CM control byte {control:#04x} from {src:#04x}", pgn)

    def _finding(self, kind: str, t: float, message: str, pgn: int | None, **details: Any) -> None:
        self.on_finding(Finding(kind, t, message, pgn, details))


class TransportEndpoint(_Party):
    """J1939 transport for one node on a ClockedBus."""

    def __init__(
        self,
        bus: ClockedBus,
        address: int,
        on_message: MessageSink,
        on_finding: Callable[[Finding], object],
        *,
        dt_interval_s: float = 0.0,
        max_packets_per_cts: int = 0xFF,
    ):
        self.bus = bus
        self.clock = bus.clock
        self.address = address
        self.on_message = on_message
        self.on_finding = on_finding
        self.dt_interval_s = dt_interval_s
        self.max_packets_per_cts = max_packets_per_cts
        self._rx: dict[tuple[int, int], tuple[Reassembly, Deadline]] = {}  # (src, dest) → transfer
        self._tx: dict[int, _Outgoing] = {}  # dest → transfer
        self._queue: dict[int, deque[tuple[int, bytes]]] = {}

    # -- sending ----------------------------------------------------------------------------
    def send(self, pgn: int, data: bytes, dest: int, priority: int) -> None:
        """One frame up to 8 bytes; else RTS/CTS to ``dest`` (queued behind a transfer in
        progress to the same node) or BAM when ``dest`` is the global address."""
        if len(data) <= 8:
            self._frame(frame_id(priority, pgn, dest, self.address), data)
        elif dest == GLOBAL_ADDRESS:
            self._send_bam(pgn, data)
        elif dest in self._tx:
            self._queue.setdefault(dest, deque()).append((pgn, data))
        else:
            self._start(pgn, data, dest)

    @property
    def busy(self) -> bool:
        return bool(self._tx) or any(self._queue.values())

    def _frame(self, can_id: int, data: bytes) -> None:
        self.bus.send(can.Message(arbitration_id=can_id, data=data, is_extended_id=True))

    def _cm(self, dest: int, data: bytes) -> None:
        self._frame(frame_id(TP_PRIORITY, TP_CM_PGN, dest, self.address), data)

    def _dt(self, dest: int, data: bytes) -> None:
        self._frame(frame_id(TP_PRIORITY, TP_DT_PGN, dest, self.address), data)

    def _start(self, pgn: int, data: bytes, dest: int) -> None:
        out = _Outgoing(pgn, data, dest, Deadline(self.clock, lambda: self._sender_timeout(dest)))
        self._tx[dest] = out
        self._cm(dest, rts(len(data), pgn))
        out.deadline.arm(timing.TP_T3_S)

    def _send_bam(self, pgn: int, data: bytes) -> None:
        self._cm(GLOBAL_ADDRESS, bam(len(data), pgn))
        for i, packet in enumerate(dt_packets(data)):
            self.clock.call_later((i + 1) * BAM_PACKET_GAP_S, self._dt, GLOBAL_ADDRESS, packet)

    def _on_cts(self, src: int, count: int, next_seq: int, pgn: int, t: float) -> None:
        out = self._tx.get(src)
        if out is None or out.pgn != pgn:
            self._finding(fk.TP_UNEXPECTED_CTS, t, f"CTS from {src:#04x} with no transfer of PGN {pgn:#06x} open", pgn)
            return
        if count == 0:  # hold the connection
            out.deadline.arm(timing.TP_T4_S)
            return
        last = min(next_seq + count - 1, len(out.packets))
        if next_seq < 1 or next_seq > last:
            self._finding(
                fk.TP_BAD_SEQUENCE, t, f"CTS from {src:#04x} asks for packet {next_seq} of {len(out.packets)}", pgn
            )
            return
        out.deadline.cancel()
        packets = out.packets[next_seq - 1 : last]
        if self.dt_interval_s <= 0:
            for packet in packets:
                self._dt(src, packet)
            out.deadline.arm(timing.TP_T3_S)
        else:
            for i, packet in enumerate(packets):
                self.clock.call_later(i * self.dt_interval_s, self._dt, src, packet)
            self.clock.call_later((len(packets) - 1) * self.dt_interval_s, out.deadline.arm, timing.TP_T3_S)

    def _on_eoma(self, src: int, pgn: int) -> None:
        out = self._tx.get(src)
        if out is not None and out.pgn == pgn:
            self._finish_tx(src)

    def _sender_timeout(self, dest: int) -> None:
        out = self._tx.get(dest)
        if out is None:
            return
        self._finding(
            fk.TP_TIMEOUT,
            self.clock.now(),
            f"transfer of PGN {out.pgn:#06x} to {dest:#04x}: no CTS or EndOfMsgAck in time; aborted",
            out.pgn,
        )
        self._cm(dest, abort(ABORT_TIMEOUT, out.pgn))
        self._finish_tx(dest)

    def _finish_tx(self, dest: int) -> None:
        out = self._tx.pop(dest, None)
        if out is not None:
            out.deadline.cancel()
        queue = self._queue.get(dest)
        if queue:
            self._start(*queue.popleft(), dest)

    # -- receiving --------------------------------------------------------------------------
    def handle(self, pgn: int, data: bytes, src: int, dest: int, t: float) -> None:
        """A TP.CM or TP.DT frame addressed to this node (or to everyone)."""
        if dest in (self.address, GLOBAL_ADDRESS):
            self._take(pgn, data, src, dest, t)

    def _on_cm(self, control: int, a: int, b: int, c: int, msg_pgn: int, src: int, dest: int, t: float) -> None:
        if control == RTS and dest == self.address:
            self._on_rts(src, a, b, c, msg_pgn, t)
        elif control == BAM and dest == GLOBAL_ADDRESS:
            self._on_bam(src, a, b, msg_pgn, t)
        elif control == CTS:
            self._on_cts(src, a, b, msg_pgn, t)
        elif control == EOMA:
            self._on_eoma(src, msg_pgn)
        elif control == ABORT:
            self._finding(
                fk.TP_ABORT_RECEIVED,
                t,
                f"Conn_Abort from {src:#04x} (reason {a}) for PGN {msg_pgn:#06x}",
                msg_pgn,
                reason=a,
            )
            self._drop_rx((src, self.address))
            self._finish_tx(src)
        else:
            self._bad_control(control, src, t, msg_pgn)

    def _on_rts(self, src: int, size: int, packets: int, max_per_cts: int, pgn: int, t: float) -> None:
        key = (src, self.address)
        if key in self._rx:
            self._finding(
                fk.TP_DUPLICATE_RTS,
                t,
                f"RTS from {src:#04x} while its transfer of PGN "
                f"{self._rx[key][0].pgn:#06x} is open; the old one is dropped",
                pgn,
            )
            self._drop_rx(key)
        problem = check_announcement(size, packets)
        if problem:
            self._finding(
                fk.TP_SIZE_MISMATCH,
                t,
                f"RTS from {src:#04x} for PGN {pgn:#06x}: {problem}",
                pgn,
                size=size,
                packets=packets,
            )
            self._cm(src, abort(ABORT_RESOURCES, pgn))
            return
        asm = Reassembly(pgn, size, packets, src, self.address, t)
        deadline = Deadline(self.clock, lambda: self._receiver_timeout(key))
        self._rx[key] = (asm, deadline)
        asm.window = max(1, min(max_per_cts or 0xFF, self.max_packets_per_cts))
        self._send_cts(asm, deadline)

    def _send_cts(self, asm: Reassembly, deadline: Deadline) -> None:
        count = min(asm.window, asm.packets - asm.next_seq + 1)
        asm.window_end = asm.next_seq + count - 1
        self._cm(asm.src, cts(count, asm.next_seq, asm.pgn))
        deadline.arm(timing.TP_T2_S)

    def _on_bam(self, src: int, size: int, packets: int, pgn: int, t: float) -> None:
        key = (src, GLOBAL_ADDRESS)
        if key in self._rx:
            self._finding(fk.TP_DUPLICATE_RTS, t, f"BAM from {src:#04x} while its previous one is open", pgn)
            self._drop_rx(key)
        problem = check_announcement(size, packets)
        if problem:
            self._finding(fk.TP_SIZE_MISMATCH, t, f"BAM from {src:#04x} for PGN {pgn:#06x}: {problem}", pgn)
            return
        deadline = Deadline(self.clock, lambda: self._receiver_timeout(key))
        self._rx[key] = (Reassembly(pgn, size, packets, src, GLOBAL_ADDRESS, t, bam=True), deadline)
        deadline.arm(timing.TP_T1_S)

    def _on_dt(self, data: bytes, src: int, dest: int, t: float) -> None:
        key = (src, dest)
        entry = self._rx.get(key)
        if entry is None:
            self._finding(fk.TP_UNEXPECTED_DATA, t, f"TP.DT from {src:#04x} with no transfer open", None)
            return
        asm, deadline = entry
        problem = asm.accept(data, t)
        if problem is not None:
            kind, text = problem
            self._finding(kind, t, f"transfer of PGN {asm.pgn:#06x} from {src:#04x}: {text}", asm.pgn)
            if not asm.is_repeat(data):  # a gap or garbage: the transfer cannot complete
                if not asm.bam:
                    self._cm(src, abort(ABORT_BAD_SEQUENCE, asm.pgn))
                self._drop_rx(key)
            return
        if asm.complete:
            self._drop_rx(key)
            if not asm.bam:
                self._cm(src, eoma(asm.size, asm.pgn))
            self.on_message(asm.pgn, asm.data(), src, dest, asm.start, t)
        elif asm.next_seq > asm.window_end:
            self._send_cts(asm, deadline)
        else:
            deadline.arm(timing.TP_T1_S)

    def _receiver_timeout(self, key: tuple[int, int]) -> None:
        entry = self._rx.pop(key, None)
        if entry is None:
            return
        asm = entry[0]
        self._finding(
            fk.TP_TIMEOUT,
            self.clock.now(),
            f"transfer of PGN {asm.pgn:#06x} from {asm.src:#04x} "
            f"stopped after {asm.next_seq - 1} of {asm.packets} packets; buffer released",
            asm.pgn,
        )
        if not asm.bam:
            self._cm(asm.src, abort(ABORT_TIMEOUT, asm.pgn))

    def _drop_rx(self, key: tuple[int, int]) -> None:
        entry = self._rx.pop(key, None)
        if entry is not None:
            entry[1].cancel()

    def close(self) -> None:
        for key in list(self._rx):
            self._drop_rx(key)
        for out in self._tx.values():
            out.deadline.cancel()
        self._tx.clear()
        self._queue.clear()


class _Outgoing:
    __slots__ = ("pgn", "data", "dest", "packets", "deadline")

    def __init__(self, pgn: int, data: bytes, dest: int, deadline: Deadline):
        self.pgn, self.data, self.dest, self.deadline = pgn, data, dest, deadline
        self.packets = dt_packets(data)


class TransportObserver(_Party):
    """Reassembles every transfer seen on a bus without taking part; time comes from frames.

    Call ``feed`` for each TP.CM/TP.DT frame and ``expire(t)`` now and then (and at the
    end) so that transfers that never complete are reported and released.
    """

    def __init__(self, on_message: MessageSink, on_finding: Callable[[Finding], object]):
        self.on_message = on_message
        self.on_finding = on_finding
        self._open: dict[tuple[int, int], Reassembly] = {}  # (src, dest) → transfer

    def feed(self, pgn: int, data: bytes, src: int, dest: int, t: float) -> None:
        """Any TP.CM or TP.DT frame seen on the bus."""
        self._take(pgn, data, src, dest, t)

    def _on_cm(self, control: int, a: int, b: int, _: int, msg_pgn: int, src: int, dest: int, t: float) -> None:
        if control in (RTS, BAM):
            self._on_announce(control, src, dest, a, b, msg_pgn, t)
        elif control == CTS:
            asm = self._open.get((dest, src))
            if asm is None or asm.bam or asm.pgn != msg_pgn:
                self._finding(
                    fk.TP_UNEXPECTED_CTS,
                    t,
                    f"CTS {src:#04x}→{dest:#04x} for PGN {msg_pgn:#06x} with no transfer open",
                    msg_pgn,
                )
                return
            if t - asm.last > timing.TP_TR_S and not asm.held:
                self._finding(
                    fk.TP_LATE_RESPONSE,
                    t,
                    f"CTS {src:#04x}→{dest:#04x} {1000 * (t - asm.last):.0f} ms "
                    f"after the RTS or last packet (Tr {1000 * timing.TP_TR_S:.0f} ms)",
                    msg_pgn,
                )
            asm.held = a == 0  # CTS(0): the receiver holds the connection
            if a:
                asm.rewind(b)
                asm.window_end = min(b + a - 1, asm.packets)
            asm.last = t
            asm.deadline = t + (timing.TP_T2_S if a else timing.TP_T4_S)
        elif control == ABORT:
            self._finding(
                fk.TP_ABORT_RECEIVED,
                t,
                f"Conn_Abort {src:#04x}→{dest:#04x} (reason {a}) for PGN {msg_pgn:#06x}",
                msg_pgn,
                reason=a,
            )
            self._open.pop((src, dest), None)
            self._open.pop((dest, src), None)
        elif control != EOMA:
            self._bad_control(control, src, t, msg_pgn)

    def _on_announce(self, control: int, src: int, dest: int, size: int, packets: int, pgn: int, t: float) -> None:
        key = (src, dest)
        old = self._open.pop(key, None)
        if old is not None:
            self._finding(
                fk.TP_DUPLICATE_RTS,
                t,
                f"{'BAM' if control == BAM else 'RTS'} {src:#04x}→{dest:#04x} "
                f"while the transfer of PGN {old.pgn:#06x} is open; the old one is dropped",
                pgn,
            )
        problem = check_announcement(size, packets)
        if problem:
            self._finding(
                fk.TP_SIZE_MISMATCH,
                t,
                f"{src:#04x}→{dest:#04x} PGN {pgn:#06x}: {problem}",
                pgn,
                size=size,
                packets=packets,
            )
            return
        asm = Reassembly(pgn, size, packets, src, dest, t, bam=control == BAM)
        if control == RTS:
            asm.window_end = 0  # nothing may come before the first CTS
            asm.deadline = t + timing.TP_T3_S
        else:
            asm.deadline = t + timing.TP_T1_S
        self._open[key] = asm

    def _on_dt(self, data: bytes, src: int, dest: int, t: float) -> None:
        key = (src, dest)
        asm = self._open.get(key)
        if asm is None:
            self._finding(fk.TP_UNEXPECTED_DATA, t, f"TP.DT {src:#04x}→{dest:#04x} with no transfer open", None)
            return
        problem = asm.accept(data, t)
        if problem is not None:
            kind, text = problem
            self._finding(kind, t, f"transfer of PGN {asm.pgn:#06x} {src:#04x}→{dest:#04x}: {text}", asm.pgn)
            if not asm.is_repeat(data):
                del self._open[key]  # a gap or garbage: the transfer cannot complete
            return
        if asm.complete:
            del self._open[key]
            self.on_message(asm.pgn, asm.data(), src, dest, asm.start, t)
        else:
            asm.deadline = t + (timing.TP_T1_S if asm.next_seq <= asm.window_end else timing.TP_T3_S)

    def expire(self, t: float) -> None:
        """Report and release transfers whose deadline has passed by trace time ``t``."""
        if not self._open:
            return
        for key, asm in list(self._open.items()):
            if t > asm.deadline:
                del self._open[key]
                self._finding(
                    fk.TP_TIMEOUT,
                    asm.deadline,
                    f"transfer of PGN {asm.pgn:#06x} {asm.src:#04x}→"
                    f"{asm.dest:#04x} stopped after {asm.next_seq - 1} of {asm.packets} packets; "
                    "buffer released",
                    asm.pgn,
                )

    @property
    def open_transfers(self) -> int:
        return len(self._open)
