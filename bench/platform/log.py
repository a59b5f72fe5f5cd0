"""The message log: every message between the bench and the pile, in both directions.

Records are kept in memory for the report and, when a path is given, written as they are
produced (one line per message, flushed at once: a crash loses nothing already measured).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

TO_PILE = "bench->pile"
FROM_PILE = "pile->bench"
NOTE = "note"  # connection events: a pile connected, refused, disconnected


@dataclass(frozen=True)
class LogRecord:
    bench_time: float  # clock.now(), bench seconds
    direction: str  # TO_PILE | FROM_PILE | NOTE
    protocol: str  # "modbus" | "ocpp16"
    text: str

    def line(self) -> str:
        return f"{self.bench_time:.6f}\t{self.direction}\t{self.protocol}\t{self.text}"


class MessageLog:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self._records: list[LogRecord] = []
        self._lock = threading.Lock()  # the OCPP thread and the bench thread both write
        self._file = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8")

    def add(self, bench_time: float, direction: str, protocol: str, text: str) -> LogRecord:
        record = LogRecord(float(bench_time), direction, protocol, text)
        with self._lock:
            self._records.append(record)
            if self._file is not None:
                self._file.write(record.line() + "\n")
                self._file.flush()
        return record

    @property
    def records(self) -> list[LogRecord]:
        with self._lock:
            return list(self._records)

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
            return len(self._records)
