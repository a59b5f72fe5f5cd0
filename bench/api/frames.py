"""GB/T 27930 frames of one test with their bench times, decoded when a case asks for them:
single frames, J1939 TP transfers (BRM, BCP, the vehicle-model frame …) and the 4.2.7
extension messages of the profile's DBC.

A test may charge for hours (some 240 000 frames an hour), so memory holds only the latest
frames (``RECENT_FRAMES``) and transfers (``RECENT_TRANSFERS``), plus the latest frame of
each CAN ID; older ones are spooled to an anonymous temporary file (in ``directory``; the
system removes it when it is closed or the process ends) and read back when a case asks
about them. The test's evidence is its CAN trace (bench/protocols/gbt27930/trace.py); this
is the working copy the cases query.
"""

from __future__ import annotations

import bisect
import math
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np

from bench.core.errors import BenchError
from bench.protocols.gbt27930 import extension as extension_dbc
from bench.protocols.gbt27930.catalogue import BY_NAME, TP_CM_PGN, TP_DT_PGN
from bench.protocols.gbt27930.codec import CODEC
from bench.protocols.gbt27930.ids import parse_id
from bench.protocols.gbt27930.transport import TransportObserver

# Frames and TP transfers kept in memory (about a minute of a charging session); each time
# as many again have come, the older ones go to the spool file.
RECENT_FRAMES = 4096
RECENT_TRANSFERS = 256
# Spooled frames: bench time, CAN ID, length, 8 data bytes (GB/T 27930 runs on classic CAN).
_FRAME = np.dtype([("t", "<f8"), ("id", "<u4"), ("n", "u1"), ("data", "u1", (8,))])
_FRAME_PACK = struct.Struct("<dIB8s")
assert _FRAME.itemsize == _FRAME_PACK.size
# Spooled transfers: end time, PGN, length, then the data.
_TRANSFER_HEAD = struct.Struct("<dIH")
_READ_FRAMES = 1 << 16  # frames per read of the spool

_time = itemgetter(0)
Entry = tuple[float, int, bytes]  # (bench time, CAN ID or PGN, data)


@dataclass(frozen=True)
class Frame:
    time: float  # bench time (a TP message: when its last packet arrived)
    name: str
    values: dict


class _Spool:
    """Entries in arrival order: the latest in memory, the older ones in a temporary file."""

    def __init__(self, keep: int, directory: Path | None):
        self.keep = keep
        self.directory = directory
        self.recent: list[Entry] = []
        self.spilled = 0  # entries only in the file
        self.spilled_max = -math.inf  # the latest time among them
        self.ordered = True  # every time so far at or after the one before
        self.last_t = -math.inf
        self.file = None
        self.closed = False

    def append(self, entry: Entry) -> None:
        if entry[0] < self.last_t:
            self.ordered = False
        self.last_t = entry[0]
        self.recent.append(entry)

    def full(self) -> bool:
        return len(self.recent) >= 2 * self.keep

    def spill(self, encode: Callable[[Entry], bytes]) -> None:
        """Write all but the latest ``keep`` entries to the file and drop them from memory."""
        out = self.recent[: len(self.recent) - self.keep]
        if not out:
            return
        if self.file is None:
            self._require_open()
            self.file = tempfile.TemporaryFile(prefix="frames-", dir=self.directory)
        self.file.seek(0, 2)
        self.file.write(b"".join(encode(e) for e in out))
        self.spilled += len(out)
        self.spilled_max = max(self.spilled_max, max(e[0] for e in out))
        del self.recent[: len(out)]

    def reaches_back(self, since: float) -> bool:
        """True when a spilled entry may be at or after ``since``."""
        return self.spilled > 0 and since <= self.spilled_max

    def recent_since(self, since: float) -> list[Entry]:
        if self.ordered:
            return self.recent[bisect.bisect_left(self.recent, since, key=_time) :]
        return [e for e in self.recent if e[0] >= since]

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes of the file from ``offset``."""
        self._require_open()
        self.file.flush()
        self.file.seek(offset)
        return self.file.read(size)

    def size(self) -> int:
        self._require_open()
        self.file.flush()
        return self.file.seek(0, 2)

    def _require_open(self) -> None:
        if self.closed:
            raise BenchError("the frame log of this test is closed (its test has ended)")

    def close(self) -> None:
        self.closed = True
        if self.file is not None:
            self.file.close()
            self.file = None


def _encode_frame(entry: Entry) -> bytes:
    t, can_id, data = entry
    return _FRAME_PACK.pack(t, can_id, len(data), data)


def _encode_transfer(entry: Entry) -> bytes:
    t, pgn, data = entry
    return _TRANSFER_HEAD.pack(t, pgn, len(data)) + data


class FrameLog:
    """Every GB/T 27930 frame of a test with its bench time, decoded when asked for: single
    frames, J1939 TP transfers (BRM, BCP, the vehicle-model frame …) and the 4.2.7 extension
    messages of the profile's DBC."""

    def __init__(self, bus, extension=None, directory: str | Path | None = None):
        self.extension = extension if extension is not None else extension_dbc.load(None)
        directory = Path(directory) if directory is not None else None
        self._frames = _Spool(RECENT_FRAMES, directory)
        self._transfers = _Spool(RECENT_TRANSFERS, directory)  # (end time, pgn, data)
        # The latest frame of each CAN ID with its arrival number, and of each transferred PGN.
        self._latest: dict[int, tuple[int, Entry]] = {}
        self._latest_transfer: dict[int, Entry] = {}
        self._count = 0  # frames so far
        self._observer = TransportObserver(self._keep_transfer, lambda finding: None)
        self._fed = 0  # frames handed to the TP observer
        self._handles = [bus.on_send(self._keep), bus.on_receive(self._keep)]

    def __len__(self) -> int:
        return self._count

    # -- recording ---------------------------------------------------------------------------
    def _keep(self, msg) -> None:
        entry = (msg.timestamp, msg.arbitration_id, bytes(msg.data))
        self._frames.append(entry)
        self._latest[entry[1]] = (self._count, entry)
        self._count += 1
        if self._frames.full():
            self._reassemble()  # the observer sees every TP frame before it leaves memory
            self._frames.spill(_encode_frame)

    def _keep_transfer(self, pgn, data, src, dest, start, end) -> None:
        entry = (end, pgn, bytes(data))
        self._transfers.append(entry)
        self._latest_transfer[pgn] = entry
        if self._transfers.full():
            self._transfers.spill(_encode_transfer)

    def _reassemble(self) -> None:
        frames = self._frames
        for t, can_id, data in frames.recent[self._fed - frames.spilled :]:
            _, pgn, dest, src = parse_id(can_id)
            if pgn in (TP_CM_PGN, TP_DT_PGN):
                self._observer.feed(pgn, data, src, dest, t)
        self._fed = self._count

    # -- reading ---------------------------------------------------------------------------
    def _decoder(self, name: str) -> tuple[int, Callable[[bytes], dict], bool]:
        spec = BY_NAME.get(name)
        if spec is not None:
            return spec.pgn, lambda data: (CODEC.decode(spec.pgn, data) or (None, {}))[1], spec.uses_transport
        for ext in self.extension.messages:
            if ext.name == name:
                return (
                    ext.pgn,
                    lambda data, pgn=ext.pgn: (self.extension.decode(pgn, data) or (None, {}))[1],
                    ext.text is not None or ext.message.length > 8,
                )
        raise BenchError(f"no GB/T 27930 or extension message called {name!r}")

    def _ids_of(self, pgn: int) -> set[int]:
        """The CAN IDs seen in this test that carry ``pgn``."""
        return {can_id for can_id in self._latest if parse_id(can_id)[1] == pgn}

    def _singles(self, pgn: int, since: float) -> Iterator[tuple[float, bytes]]:
        """Single frames of ``pgn`` at or after ``since``, in the order they came."""
        ids = self._ids_of(pgn)
        if not ids:
            return
        frames = self._frames
        if frames.reaches_back(since):
            yield from self._spooled_frames(ids, since)
        for t, can_id, data in frames.recent_since(since):
            if can_id in ids:
                yield t, data

    def _spooled_frames(self, ids: set[int], since: float) -> Iterator[tuple[float, bytes]]:
        frames, size = self._frames, _FRAME.itemsize
        first = self._first_spooled(since) if frames.ordered else 0
        wanted = np.fromiter(ids, dtype=np.uint32)
        for start in range(first, frames.spilled, _READ_FRAMES):
            count = min(_READ_FRAMES, frames.spilled - start)
            chunk = np.frombuffer(frames.read(start * size, count * size), dtype=_FRAME)
            for row in chunk[(chunk["t"] >= since) & np.isin(chunk["id"], wanted)]:
                yield float(row["t"]), row["data"][: row["n"]].tobytes()

    def _first_spooled(self, since: float) -> int:
        """The first spooled frame at or after ``since`` (the file is in time order): a binary
        search that reads one time per step."""
        frames, size = self._frames, _FRAME.itemsize
        lo, hi = 0, frames.spilled
        while lo < hi:
            mid = (lo + hi) // 2
            if struct.unpack("<d", frames.read(mid * size, 8))[0] < since:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _transferred(self, pgn: int, since: float) -> Iterator[tuple[float, bytes]]:
        """TP transfers of ``pgn`` that ended at or after ``since``, in the order they ended."""
        self._reassemble()
        transfers = self._transfers
        if transfers.reaches_back(since):
            for t, p, data in self._spooled_transfers():
                if p == pgn and t >= since:
                    yield t, data
        for t, p, data in transfers.recent_since(since):
            if p == pgn:
                yield t, data

    def _spooled_transfers(self) -> Iterator[Entry]:
        """The spooled transfers, read a chunk at a time."""
        transfers, head = self._transfers, _TRANSFER_HEAD.size
        end, position, buffer = transfers.size(), 0, b""
        while position < end or buffer:
            if position < end:
                buffer += transfers.read(position, _READ_FRAMES * _FRAME.itemsize)
                position = min(end, position + _READ_FRAMES * _FRAME.itemsize)
            offset = 0
            while offset + head <= len(buffer):
                t, p, length = _TRANSFER_HEAD.unpack_from(buffer, offset)
                if offset + head + length > len(buffer):
                    break
                yield t, p, buffer[offset + head : offset + head + length]
                offset += head + length
            buffer = buffer[offset:]
            if position >= end and buffer and offset == 0:
                break  # a cut record at the end (cannot happen: the file is written whole)

    def _found(self, pgn: int, transported: bool, since: float) -> list[tuple[float, bytes]]:
        found = list(self._singles(pgn, since))
        if transported:
            found += self._transferred(pgn, since)
            found.sort(key=_time)
        return found

    def _ordered(self) -> bool:
        return self._frames.ordered and self._transfers.ordered

    def frames(self, name: str, since: float = 0.0) -> list[Frame]:
        """Messages called ``name`` (single frames and TP transfers) at or after ``since``."""
        pgn, decode, transported = self._decoder(name)
        return [Frame(t, name, decode(data)) for t, data in self._found(pgn, transported, since)]

    def first(self, name: str, since: float = 0.0) -> Frame | None:
        pgn, decode, transported = self._decoder(name)
        single = next(self._singles(pgn, since), None)
        if transported and self._ordered():
            transfer = next(self._transferred(pgn, since), None)
            if transfer is not None and (single is None or transfer[0] < single[0]):
                single = transfer
        elif transported:
            found = self._found(pgn, transported, since)
            single = found[0] if found else None
        return Frame(single[0], name, decode(single[1])) if single is not None else None

    def last(self, name: str, since: float = 0.0) -> Frame | None:
        pgn, decode, transported = self._decoder(name)
        if not self._ordered():  # times went back once: look at every frame
            found = self._found(pgn, transported, since)
            return Frame(found[-1][0], name, decode(found[-1][1])) if found else None
        # In time order, the latest frame of a message is its last at or after any ``since``.
        latest = max((self._latest[can_id] for can_id in self._ids_of(pgn)), default=None)
        best = latest[1] if latest is not None else None
        if transported:
            self._reassemble()
            transfer = self._latest_transfer.get(pgn)
            if transfer is not None and (best is None or transfer[0] >= best[0]):
                best = transfer
        if best is None or best[0] < since:
            return None
        return Frame(best[0], name, decode(best[2]))

    def last_time_from(self, address: int) -> float | None:
        """Bench time of the last frame sent from ``address`` (None: none in this test)."""
        latest = max((seen for can_id, seen in self._latest.items() if can_id & 0xFF == address), default=None)
        return latest[1][0] if latest is not None else None

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._frames.close()
        self._transfers.close()
