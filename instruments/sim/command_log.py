"""What a simulated instrument received, for tests that read the history back, bounded.

A long run (an 8-hour soak) sends millions of commands; the simulated bench keeps only the
latest ``KEEP`` of them, and the count of all. ``len()`` is the count of everything received
(so "nothing was sent" checks compare counts), indexing and slicing reach the retained tail.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

KEEP = 10_000  # commands kept per instrument (bench choice: every short test sees all of its own)

T = TypeVar("T")


class CommandLog(Generic[T]):
    def __init__(self, keep: int = KEEP):
        self._recent: deque[T] = deque(maxlen=keep)
        self._count = 0

    def append(self, item: T) -> None:
        self._recent.append(item)
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[T]:
        return iter(self._recent)

    def __getitem__(self, index):
        """Positions count from the first command ever received; only the retained tail exists."""
        dropped = self._count - len(self._recent)
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            if start < dropped:
                raise IndexError(
                    f"commands before #{dropped} are no longer kept (the log keeps the last {self._recent.maxlen})"
                )
            return list(self._recent)[start - dropped : stop - dropped : step]
        position = index + self._count if index < 0 else index
        if not dropped <= position < self._count:
            raise IndexError("command no longer kept" if position < dropped else "command log index out of range")
        return self._recent[position - dropped]
