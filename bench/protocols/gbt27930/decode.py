"""Decode a recorded GB/T 27930 session (any format of ``trace_formats.py``) into a report.

The report holds the phases with their times, each message once per change of value (TP
transfers reassembled), per-message statistics and the findings of ``ConformanceMonitor``,
with what is wrong with the file itself (skipped lines, an early end, unusable timestamps) as
findings too. Times are seconds from the first frame. A file that cannot be read at all gives
one ProtocolError naming the file and the reason, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.core.errors import ProtocolError
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930.catalogue import CURRENT_OFFSET_A, MESSAGES
from bench.protocols.gbt27930.findings import Finding
from bench.protocols.gbt27930.monitor import DEFAULT_PERIOD_TOLERANCE, ConformanceMonitor, MessageEvent
from bench.protocols.gbt27930.trace_formats import read_trace

UNITS = {m.name: {f.name: f.unit for f in m.fields + (m.repeat.fields if m.repeat else ())} for m in MESSAGES}
# Currents in the standard's sign (negative: into the battery, docs/limits.md §3), which the
# text report follows with the magnitude people expect: "−20.0 A (20.0 A charging)".
CURRENTS = {
    m.name: frozenset(f.name for f in m.fields if f.unit == "A" and f.offset == CURRENT_OFFSET_A) for m in MESSAGES
}
MINUS = "\u2212"  # the minus sign, as the issue and a printed report write it
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
    timestamps_usable: bool = True  # False: they never advance or go backwards, no period measured

    @property
    def complete(self) -> bool:
        """The whole file was read: no line skipped, it does not end early, its times are usable."""
        return not any(f.kind in fk.FILE_KINDS for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "frames": self.frames,
            "complete": self.complete,
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
                    "via_bam": e.via_bam,
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
    events: list[MessageEvent] = []
    monitor = ConformanceMonitor(
        relative_time=True,
        on_change=events.append,
        period_tolerance=period_tolerance,
        extension_dbc_path=extension_dbc_path,
    )
    file_findings: list[Finding] = []

    def on_problem(kind: str, text: str, details: dict[str, Any]) -> None:
        # at the time of the frame before it (seconds from the first frame)
        finding = Finding(kind, monitor.last_time, text, None, details)
        file_findings.append(finding)
        monitor.log.report(finding)

    feed = monitor.feed
    for msg in read_trace(path, on_problem):
        feed(msg)
    if monitor.frames == 0 and path.stat().st_size > 0:
        # The ASC reader passes over lines it does not understand, as Vector's tools do.
        first = next((f.message for f in file_findings if f.kind == fk.LINE_SKIPPED), None)
        why = f": {first}" if first else f" (is it a {''.join(path.suffixes)} file?)"
        raise ProtocolError(f"{path}: no CAN frame could be read from it{why}")
    return TraceReport(
        str(path),
        monitor.frames,
        monitor.origin,
        monitor.last_time,
        monitor.phases,
        events,
        monitor.findings,
        monitor.stats(),
        timestamps_usable=monitor.timestamps_usable,
    )


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
        how = f" {'BAM' if e.via_bam else 'TP'} {e.length} B" if e.via_tp else ""
        lines.append(f"  {e.time:10.3f}  {e.name:<4} {e.src:02X}→{e.dest:02X}{how}  {format_values(e.name, e.values)}")
    lines += ["", "Statistics (period from receive times)"]
    for name, s in sorted(report.statistics.items()):
        period = (
            f"mean {1000 * s['mean_period_s']:.1f} ms, worst ±{1000 * s['worst_deviation_s']:.1f} ms"
            if s["mean_period_s"] is not None
            else "no period measured"
            if report.timestamps_usable
            else "no period (timestamps unusable)"
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
    currents = CURRENTS.get(name, frozenset())
    parts = []
    for key, value in values.items():
        if key in currents and isinstance(value, (int, float)):
            parts.append(f"{key}={format_current(float(value))}")
            continue
        if isinstance(value, list):
            shown = ", ".join(_plain(v) for v in value[:LIST_PREVIEW])
            more = f", … ({len(value)})" if len(value) > LIST_PREVIEW else ""
            parts.append(f"{key}=[{shown}{more}]{_unit(units.get(key))}")
        elif value is None:
            parts.append(f"{key}=–")
        else:
            parts.append(f"{key}={_plain(value)}{_unit(units.get(key))}")
    return " ".join(parts)


def format_current(amps: float) -> str:
    """The standard's signed current and, after it, its magnitude and direction for people."""
    if amps == 0:
        return "0.0 A"
    shown = f"{MINUS}{-amps:.1f} A" if amps < 0 else f"{amps:.1f} A"
    return f"{shown} ({abs(amps):.1f} A {'charging' if amps < 0 else 'discharging'})"


def _plain(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + value.hex()
    return str(value)


def _unit(unit: str | None) -> str:
    return f" {unit}" if unit else ""
