"""The message log: every message between the bench and the pile, in both directions.

With a path, every record is written as it is produced (one line per message, flushed at
once: a crash loses nothing already measured) and the file is the log: memory keeps only a
count and the last ``RECENT_RECORDS`` records, so a run of any length holds a bounded amount.
Readers that reach further back read the file: ``records`` (the whole log), and ``since``
(the records after a ``mark``, e.g. the platform messages of one test). Records read back
carry the bench time as the file has it (to the microsecond).

Without a path (tests, tools) only the last ``RECENT_RECORDS`` records are kept.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

TO_PILE = "bench->pile"
FROM_PILE = "pile->bench"
NOTE = "note"  # connection events: a pile connected, refused, disconnected
DIRECTIONS = (TO_PILE, FROM_PILE, NOTE)
# Records kept in memory (a Modbus pile is polled about twice a second: some minutes).
RECENT_RECORDS = 1000


@dataclass(frozen=True)
class LogRecord:
    bench_time: float  # clock.now(), bench seconds
    direction: str  # TO_PILE | FROM_PILE | NOTE
    protocol: str  # "modbus" | "ocpp16"
    text: str

    def line(self) -> str:
        return f"{self.bench_time:.6f}\t{self.direction}\t{self.protocol}\t{self.text}"


@dataclass(frozen=True)
class LogMark:
    """A position in the log: ``count`` records were written, ``offset`` bytes of the file."""

    count: int
    offset: int


class MessageLog:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self._recent: deque[LogRecord] = deque(maxlen=RECENT_RECORDS)
        self._count = 0
        self._offset = 0  # bytes written to the file
        self._lock = threading.Lock()  # the OCPP thread and the bench thread both write
        self._file = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("wb")

    def add(self, bench_time: float, direction: str, protocol: str, text: str) -> LogRecord:
        record = LogRecord(float(bench_time), direction, protocol, text)
        line = (record.line() + "\n").encode("utf-8")
        with self._lock:
            self._recent.append(record)
            self._count += 1
            if self._file is not None:
                self._file.write(line)
                self._file.flush()
            self._offset += len(line)
        return record

    # -- reading ---------------------------------------------------------------------------
    def mark(self) -> LogMark:
        """The position after the last record written so far (for ``since``)."""
        with self._lock:
            return LogMark(self._count, self._offset)

    def since(self, mark: LogMark) -> list[LogRecord]:
        """The records written after ``mark``, oldest first: from memory while it still holds
        them all, else read back from the file."""
        recent, end = self._after(mark)
        return recent if recent is not None else _parse_lines(_read(self.path, mark.offset, end))

    def text_since(self, mark: LogMark) -> str:
        """The lines written after ``mark`` (one per record, each ending in a newline)."""
        recent, end = self._after(mark)
        if recent is not None:
            return "".join(r.line() + "\n" for r in recent)
        return _read(self.path, mark.offset, end)

    def _after(self, mark: LogMark) -> tuple[list[LogRecord] | None, int]:
        """(the records after ``mark`` when memory holds them all, else None; the file's end)."""
        with self._lock:
            wanted = self._count - mark.count
            if wanted <= len(self._recent) or self.path is None:
                held = list(self._recent)
                return (held[max(0, len(held) - wanted) :] if wanted > 0 else []), self._offset
            return None, self._offset

    @property
    def records(self) -> list[LogRecord]:
        """Every record, oldest first (without a path: the last ``RECENT_RECORDS``)."""
        return self.since(LogMark(0, 0))

    def text(self) -> str:
        """The whole log as text (for the report attachment)."""
        return "".join(r.line() + "\n" for r in self.records)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __len__(self) -> int:
        with self._lock:
            return self._count


def _read(path: Path, start: int, end: int) -> str:
    """Bytes ``start``..``end`` of a log file, as text."""
    with path.open("rb") as f:
        f.seek(start)
        return f.read(max(0, end - start)).decode("utf-8", errors="replace")


def _parse_lines(text: str) -> list[LogRecord]:
    """The records of log text. A line that does not begin like a record (bench time, a
    direction) continues the text of the record before it (a message with a newline)."""
    records: list[LogRecord] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines:
        record = _parse(line)
        if record is None and records:
            last = records[-1]
            records[-1] = LogRecord(last.bench_time, last.direction, last.protocol, last.text + "\n" + line)
        elif record is not None:
            records.append(record)
    return records


def _parse(line: str) -> LogRecord | None:
    parts = line.split("\t", 3)
    if len(parts) < 4 or parts[1] not in DIRECTIONS:
        return None
    try:
        bench_time = float(parts[0])
    except ValueError:
        return None
    return LogRecord(bench_time, parts[1], parts[2], parts[3])
