"""The plant's record of discrete state changes, with bench timestamps.

``plant.history`` is a list of ``(time, actor, what, value)`` tuples in the order they
happened, e.g. ``(12.5, "ev", "k5k6", False)`` or ``(12.9, "battery", "output", False)``.
The safe-state order is verified from it (DESIGN.md "Safe state"). Values are plain
Python data (bool, float, str, tuples) so that two runs compare equal.

Actors: ``grid`` (AC source), ``ev`` (EV simulator / relay board), ``battery`` (battery
simulator), ``load`` (DC electronic load), ``pile`` (AC pile), ``charger`` (DC charger),
``platform`` (commands received and applied, events uploaded).

Bound: when it exceeds ``MAX_ENTRIES`` the oldest half is dropped (a long ``bench sim``
session must not grow without limit; tests look at minutes, not hours).
"""

from __future__ import annotations

from typing import Iterable

MAX_ENTRIES = 50_000

Entry = tuple[float, str, str, object]


class StateHistory(list):
    """A list of (time, actor, what, value) with a recorder and simple queries."""

    def __init__(self, clock):
        super().__init__()
        self._clock = clock

    def record(self, actor: str, what: str, value: object) -> None:
        self.append((self._clock.now(), actor, what, value))
        if len(self) > MAX_ENTRIES:
            del self[: MAX_ENTRIES // 2]

    def of(self, actor: str | None = None, what: str | None = None) -> list[Entry]:
        """Entries of one actor (and one kind of change), oldest first."""
        return [e for e in self if (actor is None or e[1] == actor) and (what is None or e[2] == what)]

    def first(self, actor: str, what: str, value: object = None, after: float = float("-inf")) -> float | None:
        """Bench time of the first matching change at or after ``after`` (any value if None)."""
        for t, a, w, v in self:
            if t >= after and a == actor and w == what and (value is None or v == value):
                return t
        return None

    def last_value(self, actor: str, what: str, default: object = None) -> object:
        for _, a, w, v in reversed(self):
            if a == actor and w == what:
                return v
        return default


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
