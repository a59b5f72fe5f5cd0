"""OCPP transaction ids the Central System hands out, unique across the sessions of a run.

A run (``bench conformance``) opens one bench session per profile, each in its own process,
one after the other, and a lab may point two profiles at the same pile; a pile keeps the ids of
its transactions (in its offline queue, in its own log), so an id handed out twice in a run can
tie one session's StopTransaction to another's start. With a file (the run folder's
``ocpp_transaction_ids.json``) every session of the run draws from one counter; without one
(tools, the project's tests) the ids count from 1 for this object.

The file holds ``{"next": <int>}`` and is rewritten atomically after every id (a temporary
file, then a rename), under an exclusive lock where the platform has ``fcntl``.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: sessions of a run are one after the other anyway
    fcntl = None  # type: ignore[assignment]

FILE_NAME = "ocpp_transaction_ids.json"
MAX_ID = 2**31 - 1  # OCPP integers are 32-bit signed on most piles


class TransactionIds:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self._next = 1
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            if self.path is None:
                issued, self._next = self._next, _following(self._next)
                return issued
            with _locked(self.path):
                issued = _read(self.path)
                _write(self.path, _following(issued))
                return issued


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+b") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _read(path: Path) -> int:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))["next"]
    except FileNotFoundError:
        return 1
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a transaction id counter ({type(exc).__name__})") from None
    if type(value) is not int or not 1 <= value <= MAX_ID:
        raise ValueError(f"{path}: 'next' must be an integer 1 … {MAX_ID}, got {value!r}")
    return value


def _write(path: Path, value: int) -> None:
    temporary = path.with_suffix(".tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump({"next": value}, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def _following(value: int) -> int:
    return value + 1 if value < MAX_ID else 1
