"""Record every frame of a ClockedBus as .asc, .blf and candump .log (python-can writers).

Timestamps are the bench clock's: ``clock.epoch + bench time``, so a virtual run writes the
same files every time. Frames are handed to the writers as they come and the files are
flushed every ``flush_period_s`` of bench time, so a crash loses at most that much.
As with the monitor: on a bus shared with an actor, create the recorder before the actor so
that frames are written in bus order.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import can
from can.io.asc import ASCWriter
from can.io.blf import BLFWriter
from can.io.canutils import CanutilsLogWriter
from can.io.generic import FileIOMessageWriter
from can.typechecking import StringPathLike

from bench.core.canbus import ClockedBus

FLUSH_PERIOD_S = 1.0  # bench choice (U): at most this much raw data waits in memory


class BenchASCWriter(ASCWriter):
    """An ASC writer whose header date is the bench clock's, not the computer's: a virtual
    run writes the same bytes every time (python-can stamps the header with datetime.now())."""

    def __init__(self, file: StringPathLike | TextIO, start: datetime, **kwargs: Any) -> None:
        self._header_date: datetime | None = start
        super().__init__(file, **kwargs)

    def _format_header_datetime(self, dt: datetime) -> str:
        if self._header_date is not None:  # only the first call, from __init__
            dt, self._header_date = self._header_date, None
        return super()._format_header_datetime(dt)


class TraceRecorder:
    SUFFIXES = ("asc", "blf", "log")

    def __init__(self, bus: ClockedBus, directory: str | Path, stem: str, *, flush_period_s: float = FLUSH_PERIOD_S):
        self.bus = bus
        self.clock = bus.clock
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.paths = {suffix: directory / f"{stem}.{suffix}" for suffix in self.SUFFIXES}
        self._blf = BLFWriter(self.paths["blf"])
        start = datetime.fromtimestamp(self.clock.wall_time())
        self.writers: list[FileIOMessageWriter[Any]] = [
            BenchASCWriter(self.paths["asc"], start),
            self._blf,
            CanutilsLogWriter(self.paths["log"], channel=bus.name),
        ]
        self.frames = 0
        self.closed = False
        self._scratch = can.Message()
        self._handles = [bus.on_send(self._record), bus.on_receive(self._record)]
        self._flush_timer = self.clock.every(flush_period_s, self.flush, first_delay=flush_period_s)

    def _record(self, msg: can.Message) -> None:
        # One scratch message, refilled per frame: the writers format it at once and keep no
        # reference. No channel: the writers use their own (a virtual channel's name is no
        # BLF channel number).
        stamped = self._scratch
        stamped.timestamp = self.clock.epoch + msg.timestamp
        stamped.arbitration_id = msg.arbitration_id
        stamped.is_extended_id = msg.is_extended_id
        stamped.is_remote_frame = msg.is_remote_frame
        stamped.is_error_frame = msg.is_error_frame
        stamped.dlc = msg.dlc
        stamped.data = msg.data
        stamped.is_rx = msg.is_rx
        for writer in self.writers:
            writer.on_message_received(stamped)
        self.frames += 1

    def flush(self) -> None:
        if self.closed:
            return
        self._blf._flush()  # BLFWriter keeps a container in memory until it is full
        for writer in self.writers:
            writer.file.flush()

    def close(self) -> None:
        """Stop recording, flush and close the files (idempotent)."""
        if self.closed:
            return
        self._flush_timer.cancel()
        for handle in self._handles:
            handle.remove()
        for writer in self.writers:
            writer.stop()
        self.closed = True

    def __enter__(self) -> TraceRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
