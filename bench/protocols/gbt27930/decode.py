"""Decode a recorded GB/T 27930 session (candump .log, .asc, .blf) into a report.

The report holds the phases with their times, each message once per change of value (TP
transfers reassembled), per-message statistics and the findings of ``ConformanceMonitor``.
Times are seconds from the first frame. A file python-can cannot read gives one
ProtocolError naming the file and the frame (and line, for candump), never a traceback.
"""

from __future__ import annotations

import json
import re
import string
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import can

from bench.core.errors import ProtocolError
from bench.protocols.gbt27930.catalogue import MESSAGES
from bench.protocols.gbt27930.findings import Finding
from bench.protocols.gbt27930.monitor import DEFAULT_PERIOD_TOLERANCE, ConformanceMonitor, MessageEvent

READABLE = (".log", ".asc", ".blf")
UNITS = {m.name: {f.name: f.unit for f in m.fields + (m.repeat.fields if m.repeat else ())} for m in MESSAGES}
LIST_PREVIEW = 8  # elements of a BMV/BMT list shown in the text report


@dataclass
class TraceReport:
    path: str
    frames: int
    start_time: float | None  # Unix time of the first frame
    duration_s: float
    phases: list[tuple[float, str]]
    messages: list[MessageEvent]
    findings: list[Finding]
    statistics: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "frames": self.frames,
            "start_time": self.start_time,
            "duration_s": self.duration_s,
            "phases": [{"time": t, "phase": p} for t, p in self.phases],
            "messages": [
                {
                    "time": e.time,
                    "name": e.name,
                    "pgn": e.pgn,
                    "src": e.src,
                    "dest": e.dest,
                    "length": e.length,
                    "via_tp": e.via_tp,
                    "values": e.values,
                }
                for e in self.messages
            ],
            "statistics": self.statistics,
            "findings": [f.as_dict() for f in self.findings],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=1, default=_json_default, ensure_ascii=False)


def _json_default(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def decode_trace(
    path: str | Path, *, extension_dbc_path: str | None = None, period_tolerance: float = DEFAULT_PERIOD_TOLERANCE
) -> TraceReport:
    path = Path(path)
    if path.suffix.lower() not in READABLE:
        raise ProtocolError(
            f"{path}: cannot read {path.suffix or 'files without a suffix'} (candump .log, .asc or .blf)"
        )
    if not path.is_file():
        raise ProtocolError(f"{path}: no such file")
    events: list[MessageEvent] = []
    monitor = ConformanceMonitor(
        relative_time=True,
        on_change=events.append,
        period_tolerance=period_tolerance,
        extension_dbc_path=extension_dbc_path,
    )
    frames = 0
    try:
        # ASC: absolute times from the file's trigger-block date, like the other formats
        options = {"relative_timestamp": False} if path.suffix.lower() == ".asc" else {}
        with can.LogReader(str(path), **options) as reader:
            feed = monitor.feed
            for msg in reader:
                frames += 1
                feed(msg)
    except Exception as exc:  # noqa: BLE001 - python-can's readers raise anything on garbage
        raise ProtocolError(
            f"{path}: {_where(path, frames + 1)} cannot be read: {unreadable_reason(path, frames + 1, exc)}"
        ) from None
    if frames == 0 and path.stat().st_size > 0:
        # The ASC reader skips lines it does not understand, as Vector's tools do.
        raise ProtocolError(f"{path}: no CAN frame could be read from it (is it a {path.suffix} file?)")
    return TraceReport(
        str(path), frames, monitor.origin, monitor.last_time, monitor.phases, events, monitor.findings, monitor.stats()
    )


def unreadable_reason(path: Path, frame: int, exc: Exception) -> str:
    """Why python-can could not read frame ``frame`` of ``path``, in the terms of the format
    (never a bare Python message such as "not enough values to unpack")."""
    suffix = path.suffix.lower()
    if suffix == ".log":
        line = _nth_frame_line(path, frame)
        return candump_line_problem(line) if line is not None else "the candump file ends in the middle of a line"
    if suffix == ".blf":
        if isinstance(exc, struct.error) or "unpack" in str(exc) or "buffer" in str(exc):
            return "a BLF object is cut short (the file is truncated or corrupt)"
        if isinstance(exc, zlib.error):
            return "a compressed BLF container is corrupt"
        return "not a BLF log: its header or an object header is not what BLF defines"
    return "an ASC frame line does not follow the ASC format"


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


def _nth_frame_line(path: Path, frame: int) -> str | None:
    with open(path, errors="replace") as handle:
        seen = 0
        for line in handle:
            if line.strip():
                seen += 1
                if seen == frame:
                    return line
    return None


def _where(path: Path, frame: int) -> str:
    """'frame N' plus, for a candump file (one frame a non-empty line), its line number."""
    if path.suffix.lower() != ".log":
        return f"frame {frame}"
    with open(path, errors="replace") as handle:
        seen = 0
        for number, line in enumerate(handle, 1):
            if line.strip():
                seen += 1
                if seen == frame:
                    return f"line {number} (frame {frame})"
    return f"frame {frame}"


# -- text report ------------------------------------------------------------------------------
def format_text(report: TraceReport) -> str:
    start = (
        datetime.fromtimestamp(report.start_time, tz=UTC).isoformat(timespec="milliseconds")
        if report.start_time is not None
        else "no frames"
    )
    lines = [
        f"GB/T 27930 session: {report.path}",
        f"  {report.frames} frames, first at {start}, {report.duration_s:.3f} s",
        "",
        "Phases",
    ]
    lines += [f"  {t:10.3f}  {phase}" for t, phase in report.phases]
    lines += ["", "Messages (each once per change of value; times in s from the first frame)"]
    for e in report.messages:
        how = f" TP {e.length} B" if e.via_tp else ""
        lines.append(f"  {e.time:10.3f}  {e.name:<4} {e.src:02X}→{e.dest:02X}{how}  {format_values(e.name, e.values)}")
    lines += ["", "Statistics (period from receive times)"]
    for name, s in sorted(report.statistics.items()):
        period = (
            f"mean {1000 * s['mean_period_s']:.1f} ms, worst ±{1000 * s['worst_deviation_s']:.1f} ms"
            if s["mean_period_s"] is not None
            else "no period measured"
        )
        nominal = f" (nominal {1000 * s['nominal_period_s']:g} ms)" if s["nominal_period_s"] else ""
        lines.append(f"  {name:<4} ×{s['count']:<5} {period}{nominal}, lengths {s['lengths']}")
    lines += ["", f"Findings ({len(report.findings)})"]
    for f in report.findings:
        count = f.details.get("count")
        lines.append(f"  {f.time:10.3f}  {f.kind:<18} {f.message}{f'  (×{count})' if count else ''}")
    return "\n".join(lines)


def format_values(name: str, values: Mapping[str, object]) -> str:
    units = UNITS.get(name, {})
    parts = []
    for key, value in values.items():
        if isinstance(value, list):
            shown = ", ".join(_plain(v) for v in value[:LIST_PREVIEW])
            more = f", … ({len(value)})" if len(value) > LIST_PREVIEW else ""
            parts.append(f"{key}=[{shown}{more}]{_unit(units.get(key))}")
        elif value is None:
            parts.append(f"{key}=–")
        else:
            parts.append(f"{key}={_plain(value)}{_unit(units.get(key))}")
    return " ".join(parts)


def _plain(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + value.hex()
    return str(value)


def _unit(unit: str | None) -> str:
    return f" {unit}" if unit else ""
