"""Read a CAN trace written by any tool the bench accepts, as python-can Messages.

Formats, by suffix (each may also be gzip-compressed, ``<name>.<suffix>.gz``); the accepted
layouts are in ``docs/decode.md``:

* ``.log``: candump ``-L`` (python-can's reader);
* ``.asc``: Vector ASC (python-can's reader); bytes that are not UTF-8 (a GBK comment) are
  read as U+FFFD, never a refusal;
* ``.blf``: Vector BLF (python-can's reader);
* ``.trc``: PEAK TRC 1.0, 1.1, 1.3, 2.0 and 2.1, the versions python-can reads; error frames
  of 1.1/1.3 (``Error``) and 2.x (``ER``) are read as error frames, which python-can drops;
* ``.csv`` and ``.txt``: column tables (``trace_tables.py``): ZLG CANTest / CANPro exports
  (GBK), SavvyCAN / GVRET CSV and a generic ``time,id,data`` CSV, told apart by their header.

What is wrong with a file that still leaves the rest of it readable is handed to
``on_problem(kind, text, details)``, never raised: a line that cannot be parsed is skipped
(``line_skipped``, naming its line number) and the reading goes on; a file that ends before
its format says it should (no ``End TriggerBlock`` in an ASC file, a BLF file shorter than its
header says or never closed, a last line with no line end, a cut gzip stream) is
``file_truncated``, "file ends after N frames". A file that cannot be read at all (unknown
suffix, missing, a header python-can refuses, not one frame) raises ProtocolError naming the
file and the reason in the format's terms.
"""

from __future__ import annotations

import gzip
import re
import string
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO, cast

import can
from can.io.asc import ASCReader
from can.io.blf import BLFReader
from can.io.canutils import CanutilsLogReader
from can.io.trc import TRCFileVersion, TRCReader

from bench.core.errors import ProtocolError
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930 import trace_tables
from bench.protocols.gbt27930.trace_tables import NumberedLines, StreamCut, gzip_reason

READABLE = (".log", ".asc", ".blf", ".trc", ".csv", ".txt")
NAMES = "candump .log, .asc, .blf, .trc, ZLG .txt/.csv, SavvyCAN or time,id,data .csv; any of them .gz"
LINES_NAMED = 100  # skipped lines named one by one; the rest are counted in one more finding
ProblemSink = Callable[[str, str, dict[str, Any]], None]  # kind, text, details


def trace_suffix(path: Path) -> str:
    """The format's suffix: ``.asc`` for ``x.asc`` and for ``x.asc.gz``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        return suffixes[-2] if len(suffixes) > 1 else ""
    return suffixes[-1] if suffixes else ""


def read_trace(path: str | Path, on_problem: ProblemSink) -> Iterator[can.Message]:
    """Every frame of ``path`` in file order; problems to ``on_problem`` (see the module text)."""
    path = Path(path)
    suffix = trace_suffix(path)
    if suffix not in READABLE:
        shown = "".join(path.suffixes) or "files without a suffix"
        raise ProtocolError(f"{path}: cannot read {shown} ({NAMES})")
    if not path.is_file():
        raise ProtocolError(f"{path}: no such file")
    if suffix == ".blf":
        yield from _BinaryTrace(path, on_problem).frames()
    else:
        yield from _TextTrace(path, suffix, on_problem).frames()


def _open_binary(path: Path) -> BinaryIO:
    if path.suffix.lower() == ".gz":
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb")


# -- python-can's text readers, resumable after a line they cannot parse ----------------------
class HeaderError(Exception):
    """python-can refused the file's header: the file cannot be read at all."""


class ResumableASC(ASCReader):
    """ASCReader whose iteration can start again after a line it raised on (the header is
    read once)."""

    header_read = False

    def _extract_header(self) -> None:
        if self.header_read:
            return
        self.header_read = True
        try:
            super()._extract_header()
        except ValueError as exc:
            raise HeaderError(f"its header cannot be read ({_plain_reason(exc)})") from None


class ResumableCandump(CanutilsLogReader):
    """CanutilsLogReader reads no header: iterating again goes on with the next line."""


class ResumableTRC(TRCReader):
    """TRCReader that reads its header once, reports a short line instead of dropping it and
    reads the error frames of 1.1/1.3 (type ``Error``) and 2.x (type ``ER``)."""

    header_read = False

    def _extract_header(self) -> str | None:  # type: ignore[override]  # None: __iter__ parses no first line
        if self.header_read:
            return None
        self.header_read = True
        try:
            return str(super()._extract_header())
        except (ValueError, NotImplementedError) as exc:
            raise HeaderError(f"its header cannot be read ({_plain_reason(exc)})") from None

    def _parse_line(self, line: str) -> can.Message | None:
        # python-can logs a line with too few columns and drops it; here it is a skipped line.
        return self._parse_cols(tuple(line.split(maxsplit=self._num_columns)))

    def _error_frame(self, offset_ms: str) -> can.Message:
        return can.Message(timestamp=float(offset_ms) / 1000 + self._start_time, is_error_frame=True)

    def _parse_cols_v1_1(self, cols: tuple[str, ...]) -> can.Message | None:
        if cols[2] == "Error":
            return self._error_frame(cols[1])
        return super()._parse_cols_v1_1(cols)

    def _parse_cols_v1_3(self, cols: tuple[str, ...]) -> can.Message | None:
        if cols[3] == "Error":
            return self._error_frame(cols[1])
        return super()._parse_cols_v1_3(cols)

    def _parse_cols_v2_x(self, cols: tuple[str, ...]) -> can.Message | None:
        if cols[self.columns["T"]] == "ER":
            return self._error_frame(cols[self.columns["O"]])
        return super()._parse_cols_v2_x(cols)

    @property
    def version_name(self) -> str:
        version = self.file_version
        return "1.0" if version in (TRCFileVersion.UNKNOWN, TRCFileVersion.V1_0) else f"{version.value / 100:.1f}"


def _plain_reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text[:80] if text and not any(w in text for w in ("unpack", "invalid literal", "index")) else "malformed"


class _TextTrace:
    """A line-based trace: python-can's reader or a column table, one line at a time."""

    def __init__(self, path: Path, suffix: str, on_problem: ProblemSink):
        self.path, self.suffix, self.on_problem = path, suffix, on_problem
        self.count = 0
        self.skipped = 0
        self.first_unnamed: int | None = None
        self.last_unnamed = 0
        self.first_reason = ""

    def frames(self) -> Iterator[can.Message]:
        if self.suffix in (".csv", ".txt"):
            table = trace_tables.open_table(self.path, _open_binary(self.path))
            yield from self._table_frames(table)
            return
        lines = NumberedLines(_open_binary(self.path))
        text = cast(TextIO, lines)  # python-can's text readers only iterate over it and close it
        reader: Any
        if self.suffix == ".asc":
            # absolute times from the file's trigger-block date, like the other formats
            reader = ResumableASC(text, relative_timestamp=False)
        elif self.suffix == ".trc":
            reader = ResumableTRC(text)
        else:
            reader = ResumableCandump(text)
        try:
            while True:
                try:
                    for msg in reader:
                        self.count += 1
                        yield msg
                    break
                except HeaderError as exc:
                    raise ProtocolError(f"{self.path}: line {lines.number}: {exc}") from None
                except StreamCut as exc:
                    self._cut(f"{exc} after line {lines.number}")
                    return
                except Exception:  # noqa: BLE001 - python-can's line parsers raise anything on garbage
                    self._skip(lines.number, self._line_problem(reader, lines.line))
        finally:
            lines.close()
        self._ending(lines)

    def _table_frames(self, table: trace_tables.Table) -> Iterator[can.Message]:
        try:
            for row in table.rows():
                if isinstance(row, trace_tables.BadRow):
                    self._skip(row.line, row.reason)
                    continue
                self.count += 1
                yield row
        except StreamCut as exc:
            self._cut(f"{exc} after line {table.lines.number}")
            return
        finally:
            table.lines.close()
        self._ending(table.lines)

    def _line_problem(self, reader: Any, line: str) -> str:
        shown = line.strip()[:60]
        if self.suffix == ".log":
            return candump_line_problem(line)
        if self.suffix == ".trc":
            return f"{shown!r} is not a TRC {reader.version_name} message line"
        return f"{shown!r} is not an ASC frame line"

    def _skip(self, number: int, reason: str) -> None:
        self.skipped += 1
        if self.skipped <= LINES_NAMED:
            self.on_problem(fk.LINE_SKIPPED, f"line {number} skipped: {reason}", {"line": number})
            return
        if self.first_unnamed is None:
            self.first_unnamed, self.first_reason = number, reason
        self.last_unnamed = number

    def _cut(self, how: str) -> None:
        self._more_skipped()
        self.on_problem(fk.FILE_TRUNCATED, f"file ends after {self.count} frames: {how}", {"frames": self.count})

    def _ending(self, lines: NumberedLines) -> None:
        self._more_skipped()
        complete_asc = lines.last_nonblank.strip().lower().startswith("end triggerblock")
        if self.suffix == ".asc" and self.count and not complete_asc:
            self._cut("no 'End TriggerBlock' line, the last line of a complete ASC file")
        elif lines.ended_mid_line and self.suffix != ".asc":
            self._cut(f"line {lines.number} has no line end (the file may be cut in the middle of it)")

    def _more_skipped(self) -> None:
        if self.first_unnamed is None:
            return
        more = self.skipped - LINES_NAMED
        self.on_problem(
            fk.LINE_SKIPPED,
            f"{more} more lines skipped, lines {self.first_unnamed} … {self.last_unnamed} "
            f"(the first: {self.first_reason})",
            {"line": self.first_unnamed, "last_line": self.last_unnamed, "count": more},
        )
        self.first_unnamed = None


# -- BLF ---------------------------------------------------------------------------------------
class MeasuredBLF(BLFReader):
    """BLFReader that remembers where the file ended (python-can stops in silence when the
    last container is cut short)."""

    end = 0

    def stop(self) -> None:
        if not self.file.closed:
            self.end = self.file.tell()
        super().stop()

    @property
    def cut_object(self) -> bool:
        """An object begun in the last container never completed."""
        return bool(self._tail)


class _BinaryTrace:
    def __init__(self, path: Path, on_problem: ProblemSink):
        self.path, self.on_problem = path, on_problem

    def frames(self) -> Iterator[can.Message]:
        raw = _open_binary(self.path)
        count = 0
        try:
            reader = MeasuredBLF(raw)
        except Exception as exc:  # noqa: BLE001 - the header: struct, gzip or BLF errors
            raw.close()
            raise ProtocolError(f"{self.path}: frame 1 cannot be read: {blf_problem(exc)}") from None
        try:
            for msg in reader:
                count += 1
                yield msg
        except Exception as exc:  # noqa: BLE001 - python-can's BLF reader raises anything on garbage
            reader.stop()
            if count == 0:
                raise ProtocolError(f"{self.path}: frame 1 cannot be read: {blf_problem(exc)}") from None
            self._cut(count, blf_problem(exc))
            return
        if reader.cut_object:
            self._cut(count, "its last object is cut short")
        elif reader.file_size <= 144 or reader.object_count == 0:  # header written before any object
            self._cut(count, "its header was never completed (the recording did not close the file)")
        elif reader.end < reader.file_size:
            self._cut(count, f"the BLF header says {reader.file_size} bytes, the file holds {reader.end}")

    def _cut(self, count: int, how: str) -> None:
        self.on_problem(fk.FILE_TRUNCATED, f"file ends after {count} frames: {how}", {"frames": count})


def blf_problem(exc: Exception) -> str:
    """Why python-can could not read a BLF object, in the terms of the format."""
    if isinstance(exc, EOFError) or isinstance(exc, gzip.BadGzipFile):
        return gzip_reason(exc)
    if isinstance(exc, struct.error) or "unpack" in str(exc) or "buffer" in str(exc):
        return "a BLF object is cut short (the file is truncated or corrupt)"
    if isinstance(exc, zlib.error):
        return "a compressed BLF container is corrupt"
    return "not a BLF log: its header or an object header is not what BLF defines"


# -- candump -----------------------------------------------------------------------------------
CANDUMP_LINE = re.compile(r"^\s*\((?P<time>[^)]*)\)\s+(?P<channel>\S+)\s+(?P<frame>\S+)(?:\s+\S+)?\s*$")


def candump_line_problem(line: str) -> str:
    """What is wrong with one candump line ``(seconds) channel ID#DATA``."""
    shown = line.strip()[:60]
    match = CANDUMP_LINE.match(line)
    if match is None:
        return f"{shown!r} is not a candump frame '(seconds) channel ID#DATA'"
    try:
        float(match["time"])
    except ValueError:
        return f"the timestamp {match['time'][:30]!r} is not a number of seconds"
    frame = match["frame"]
    if "#" not in frame:
        return f"the frame {frame[:40]!r} has no '#' between the CAN id and the data"
    can_id, _, data = frame.partition("#")
    if not can_id or any(c not in string.hexdigits for c in can_id):
        return f"the CAN id {can_id[:20]!r} is not hexadecimal"
    if len(can_id) > 8 or int(can_id, 16) >= 1 << 29:
        return f"the CAN id {can_id[:20]!r} is longer than 29 bits"
    fd = data.startswith("#")
    if fd:
        data = data[2:]  # CAN FD: ##<flags><data>
    if data.upper().startswith("R"):
        return "a remote frame with a malformed length"
    if any(c not in string.hexdigits for c in data):
        return f"the data {data[:40]!r} is not hexadecimal bytes"
    if len(data) % 2:
        return f"the data {data[:40]!r} has an odd number of hex digits"
    if len(data) > (128 if fd else 16):
        return f"{len(data) // 2} data bytes, more than a {'CAN FD' if fd else 'CAN'} frame holds"
    return "the line is not a frame python-can's candump reader accepts"
