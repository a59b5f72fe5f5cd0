"""The plant's record of discrete state changes, with bench timestamps.

``plant.history`` is a list of ``(time, actor, what, value)`` tuples in the order they
happened, e.g. ``(12.5, "ev", "k5k6", False)`` or ``(12.9, "battery", "output", False)``.
The safe-state order is verified from it (docs/design.md#safe-state). Values are plain
Python data (bool, float, str, tuples) so that two runs compare equal.

Actors: ``grid`` (AC source), ``ev`` (EV simulator / relay board), ``battery`` (battery
simulator), ``load`` (DC electronic load), ``pile`` (AC pile), ``charger`` (DC charger),
``platform`` (commands received and applied, events uploaded).

Bound: when it exceeds ``MAX_ENTRIES`` the oldest half is dropped from memory (a long run
must not grow without limit; tests look at minutes, not hours). ``stream_to(path)`` writes
every entry to a file as it is recorded (one JSON line ``[time, actor, what, value]``,
flushed at once, so a crash keeps it): then ``entries()`` and the queries that reach back
past what memory holds read the file (values as JSON has them: a tuple comes back a list).
``last_value`` never looks back: the latest value of every (actor, what) is kept.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

MAX_ENTRIES = 50_000

Entry = tuple[float, str, str, object]


class StateHistory(list):
    """A list of (time, actor, what, value) with a recorder and simple queries.

    The list holds the latest entries (at most ``MAX_ENTRIES``); with ``stream_to`` the file
    holds them all."""

    def __init__(self, clock):
        super().__init__()
        self._clock = clock
        self._lock = threading.Lock()  # front ends record from the socket hub's thread too
        self._latest: dict[tuple[str, str], object] = {}
        self._dropped = 0  # entries no longer in memory
        self._dropped_max = -math.inf  # the latest time among them
        self._path: Path | None = None
        self._file = None

    def record(self, actor: str, what: str, value: object) -> None:
        entry = (self._clock.now(), actor, what, value)
        with self._lock:
            self.append(entry)
            self._latest[(actor, what)] = value
            if self._file is not None:
                self._file.write(_line(entry))
                self._file.flush()
            if len(self) > MAX_ENTRIES:
                half = MAX_ENTRIES // 2
                self._dropped_max = max(self._dropped_max, max(e[0] for e in self[:half]))
                self._dropped += half
                del self[:half]

    # -- the file ----------------------------------------------------------------------------
    def stream_to(self, path: str | Path) -> None:
        """From now on every entry goes to ``path`` as it is recorded; the entries held so far
        are written first (call it before anything is dropped to have the whole history)."""
        with self._lock:
            self._close_stream()
            self._path = Path(path)
            self._file = self._path.open("w", encoding="utf-8")
            self._file.writelines(_line(e) for e in self)
            self._file.flush()

    def close_stream(self) -> None:
        with self._lock:
            self._close_stream()

    def _close_stream(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def entries(self) -> list[Entry]:
        """Every entry, oldest first: from the file when memory no longer holds them all."""
        return list(self._all())

    def _all(self) -> Iterator[Entry]:
        with self._lock:
            if not self._dropped or self._path is None:
                return iter(list(self))
            if self._file is not None:
                self._file.flush()
            count = self._dropped + len(self)
        return _read(self._path, count)

    def _since(self, after: float) -> Iterator[Entry]:
        """Entries that may be at or after ``after``: memory when it reaches back that far."""
        if after > self._dropped_max:
            return iter(list(self))
        return self._all()

    # -- queries -----------------------------------------------------------------------------
    def of(self, actor: str | None = None, what: str | None = None) -> list[Entry]:
        """Entries of one actor (and one kind of change), oldest first."""
        return [e for e in self._all() if (actor is None or e[1] == actor) and (what is None or e[2] == what)]

    def first(self, actor: str, what: str, value: object = None, after: float = float("-inf")) -> float | None:
        """Bench time of the first matching change at or after ``after`` (any value if None)."""
        for t, a, w, v in self._since(after):
            if t >= after and a == actor and w == what and (value is None or v == value):
                return t
        return None

    def last_value(self, actor: str, what: str, default: object = None) -> object:
        return self._latest.get((actor, what), default)


def _line(entry: Entry) -> str:
    return json.dumps(list(entry), default=str) + "\n"


def _read(path: Path, count: int) -> Iterator[Entry]:
    """The first ``count`` entries of a history file."""
    with path.open(encoding="utf-8") as f:
        for _, line in zip(range(count), f):
            t, actor, what, value = json.loads(line)
            yield t, actor, what, value


def changed(history: StateHistory, actor: str, what: str, old: object, new: object) -> bool:
    """Record ``new`` if it differs from ``old``; True when it did."""
    if old == new:
        return False
    history.record(actor, what, new)
    return True


class RecordedSettings:
    """Mix-in for a port whose settings are recorded under one actor; ``on_change(what)``
    tells the plant which setting moved."""

    _actor = ""

    def __init__(self, history: StateHistory, on_change):
        self._history = history
        self._on_change = on_change

    def _set(self, attr: str, what: str, value) -> None:
        if changed(self._history, self._actor, what, getattr(self, attr), value):
            setattr(self, attr, value)
            self._on_change(what)


def as_rows(entries: Iterable[Entry]) -> list[str]:
    """One readable line per entry (for failure messages)."""
    return [f"{t:10.4f}  {actor:<9} {what:<22} {value!r}" for t, actor, what, value in entries]
