"""GB/T 27930 frames of one test with their bench times, decoded when a case asks for them:
single frames, J1939 TP transfers (BRM, BCP, the vehicle-model frame …) and the 4.2.7
extension messages of the profile's DBC."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bench.core.errors import BenchError
from bench.protocols.gbt27930 import extension as extension_dbc
from bench.protocols.gbt27930.catalogue import BY_NAME, TP_CM_PGN, TP_DT_PGN
from bench.protocols.gbt27930.codec import CODEC
from bench.protocols.gbt27930.ids import parse_id
from bench.protocols.gbt27930.transport import TransportObserver


@dataclass(frozen=True)
class Frame:
    time: float  # bench time (a TP message: when its last packet arrived)
    name: str
    values: dict



class FrameLog:
    """Every GB/T 27930 frame of a test with its bench time, decoded when asked for: single
    frames, J1939 TP transfers (BRM, BCP, the vehicle-model frame …) and the 4.2.7 extension
    messages of the profile's DBC."""

    def __init__(self, bus, extension=None):
        self.extension = extension if extension is not None else extension_dbc.load(None)
        self._raw: list[tuple[float, int, int, bytes]] = []
        self._transfers: list[tuple[float, int, bytes]] = []  # (end time, pgn, data)
        self._observer = TransportObserver(self._keep_transfer, lambda finding: None)
        self._fed = 0
        self._handles = [bus.on_send(self._keep), bus.on_receive(self._keep)]

    def _keep(self, msg) -> None:
        self._raw.append((msg.timestamp, msg.arbitration_id, len(msg.data), bytes(msg.data)))

    def _keep_transfer(self, pgn, data, src, dest, start, end) -> None:
        self._transfers.append((end, pgn, bytes(data)))

    def _decoder(self, name: str) -> tuple[int, Callable[[bytes], dict], bool]:
        spec = BY_NAME.get(name)
        if spec is not None:
            return spec.pgn, lambda data: (CODEC.decode(spec.pgn, data) or (None, {}))[1], spec.uses_transport
        for ext in self.extension.messages:
            if ext.name == name:
                return ext.pgn, lambda data: (self.extension.decode(ext.pgn, data) or (None, {}))[1], \
                    ext.text is not None or ext.message.length > 8
        raise BenchError(f"no GB/T 27930 or extension message called {name!r}")

    def _reassemble(self) -> None:
        for t, can_id, _, data in self._raw[self._fed:]:
            _, pgn, dest, src = parse_id(can_id)
            if pgn in (TP_CM_PGN, TP_DT_PGN):
                self._observer.feed(pgn, data, src, dest, t)
        self._fed = len(self._raw)

    def frames(self, name: str, since: float = 0.0) -> list[Frame]:
        """Messages called ``name`` (single frames and TP transfers) at or after ``since``."""
        pgn, decode, transported = self._decoder(name)
        found = [(t, data) for t, can_id, _, data in self._raw if t >= since and parse_id(can_id)[1] == pgn]
        if transported:
            self._reassemble()
            found += [(t, data) for t, p, data in self._transfers if t >= since and p == pgn]
            found.sort(key=lambda item: item[0])
        return [Frame(t, name, decode(data)) for t, data in found]

    def first(self, name: str, since: float = 0.0) -> Frame | None:
        frames = self.frames(name, since)
        return frames[0] if frames else None

    def last(self, name: str, since: float = 0.0) -> Frame | None:
        frames = self.frames(name, since)
        return frames[-1] if frames else None

    def last_time_from(self, address: int) -> float | None:
        """Bench time of the last frame sent from ``address`` (None: none in this test)."""
        return next((t for t, can_id, _, _ in reversed(self._raw) if parse_id(can_id)[3] == address), None)

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()
