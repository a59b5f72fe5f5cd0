"""Conformance monitor: watches GB/T 27930 traffic and reports every deviation as a Finding.

Per message (and direction) it records the count, payload lengths, the measured period
(mean and worst deviation, from receive timestamps; for TP messages the RTS time) and the
decoded values; it follows the phases of the session and reports: wrong lengths, values
out of range, wrong priority or direction, foreign frames, transport anomalies (and a BAM
where the standard expects RTS/CTS), phases out of order, charging messages that stop for
longer than their timeout, BEM/CEM, and mean periods outside the tolerance. Error frames,
remote frames, CAN FD frames and 11-bit frames with a wider id are findings and never
decoded, counted as a message or allowed to start a phase. Timestamps that never advance or
go backwards are a finding, and then no period is measured. The same class watches a live ClockedBus or is fed frames
from a trace file (``decode.py``).

Frame order matters (a CTS before the packets it asks for). On a ClockedBus shared with an
actor (the BMS emulator on the bench's one interface), create the monitor *before* the
actor: listeners run in the order they were registered, and an actor's replies to a frame
would otherwise reach the monitor before the frame. On the virtual bus an endpoint of its
own works too.

The hot path is lean on purpose (``bench decode`` reads 100 k frames/s): routes are cached
by CAN ID and a payload is decoded only when it differs from the previous one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple, cast

import can

from bench.core.canbus import ClockedBus
from bench.core.clock import Handle
from bench.protocols.gbt27930 import extension as extension_dbc
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930.catalogue import (
    BY_PGN,
    CHARGER,
    CHARGING,
    ERROR,
    PHASES,
    TP_CM_PGN,
    TP_DT_PGN,
    MessageSpec,
)
from bench.protocols.gbt27930.codec import CODEC, Problem
from bench.protocols.gbt27930.extension import ExtensionMessage
from bench.protocols.gbt27930.findings import Finding, FindingLog
from bench.protocols.gbt27930.ids import BMS_ADDRESS, CHARGER_ADDRESS, GLOBAL_ADDRESS, parse_id
from bench.protocols.gbt27930.transport import TransportObserver

# docs/limits.md §7: the measured mean period within ±10 % of the nominal (U; the bench
# passes its limits-table value).
DEFAULT_PERIOD_TOLERANCE = 0.10
# Bench choices (U): judge a mean period only over this many intervals, and treat a gap
# longer than PAUSE_FACTOR periods as a pause (the message stopped and restarted), not an interval.
MIN_INTERVALS = 5
PAUSE_FACTOR = 3.0
CHECK_INTERVAL_S = 0.1  # how often (in trace time) stale messages and transfers are looked at
# Charging messages whose silence the receiver must notice (docs/limits.md §3 timeouts).
WATCHED = frozenset({"BCL", "BCS", "CCS"})
STOP_MESSAGES = frozenset({"BST", "CST"})
# After an error or a wake-up the session may restart with these.
RESTART_MESSAGES = frozenset({"CHM", "BHM", "CRM", "BRM"})
_PHASE_INDEX: dict[str | None, int] = {phase: i for i, phase in enumerate(PHASES)}
FOREIGN = object()  # route of frames that are not charger<->BMS GB/T 27930 traffic


class MessageEvent(NamedTuple):
    """A message whose payload changed: what ``bench decode`` prints."""

    time: float
    name: str
    pgn: int
    src: int
    dest: int
    length: int
    values: dict[str, Any]
    via_tp: bool
    via_bam: bool = False  # a TP transfer broadcast to the global address (dest is then 0xFF)


class Stream:
    """One message in one direction: counters, period statistics, last payload."""

    __slots__ = (
        "name",
        "pgn",
        "src",
        "dest",
        "spec",
        "phase_index",
        "nominal",
        "pause_limit",
        "timeout",
        "count",
        "intervals",
        "total",
        "worst",
        "last_start",
        "last_time",
        "last_data",
        "lengths",
        "problem_keys",
        "watch",
        "watched",
        "stale",
        "extension",
    )

    def __init__(
        self,
        name: str,
        pgn: int,
        src: int,
        dest: int,
        spec: MessageSpec | None,
        period: float | None,
        phase: str | None,
        timeout: float | None,
        extension: ExtensionMessage | None = None,
    ):
        self.name, self.pgn, self.src, self.dest, self.spec = name, pgn, src, dest, spec
        self.extension = extension
        self.phase_index = _PHASE_INDEX.get(phase, -1) if phase != ERROR else -2
        self.nominal = period or 0.0
        self.pause_limit = PAUSE_FACTOR * period if period else math.inf
        self.timeout = timeout
        self.count = self.intervals = 0
        self.total = self.worst = 0.0
        self.last_start: float | None = None
        self.last_time: float | None = None
        self.last_data: bytes | None = None
        self.lengths: set[int] = set()
        self.problem_keys: tuple[Hashable, ...] = ()
        self.watch = name in WATCHED
        self.watched = self.stale = False

    def summary(self) -> dict[str, Any]:
        mean = self.total / self.intervals if self.intervals else None
        return {
            "count": self.count,
            "lengths": sorted(self.lengths),
            "nominal_period_s": self.nominal or None,
            "mean_period_s": mean,
            "worst_deviation_s": self.worst if self.intervals else None,
            "intervals": self.intervals,
            "src": self.src,
            "dest": self.dest,
        }


class ConformanceMonitor:
    def __init__(
        self,
        bus: ClockedBus | None = None,
        *,
        period_tolerance: float = DEFAULT_PERIOD_TOLERANCE,
        min_intervals: int = MIN_INTERVALS,
        charger_address: int = CHARGER_ADDRESS,
        bms_address: int = BMS_ADDRESS,
        extension_dbc_path: str | None = None,
        relative_time: bool = False,
        on_change: Callable[[MessageEvent], None] | None = None,
    ):
        self.period_tolerance = period_tolerance
        self.min_intervals = min_intervals
        self.charger_address = charger_address
        self.bms_address = bms_address
        self.extension = extension_dbc.load(extension_dbc_path)
        self.relative_time = relative_time
        self.origin: float | None = None if relative_time else 0.0
        self.on_change = on_change
        self.log = FindingLog()
        self.observer = TransportObserver(self._on_transfer, self.log.report)
        self.streams: dict[tuple[int, int, int], Stream] = {}
        self.phases: list[tuple[float, str]] = []
        self.frames = 0
        self.last_time = 0.0
        self.backwards = 0  # frames whose timestamp is earlier than the frame before
        self._first_backwards: tuple[float, float] | None = None  # (time, the time before)
        self._first_time = 0.0
        self._routes: dict[int, Stream | tuple[int, int, int] | object] = {}  # object: FOREIGN
        self._phase_index = -1
        self._error_since_phase = False
        self._watching = False
        self._watched: list[Stream] = []
        self._next_check = 0.0
        self.bus = bus
        self._handles: list[Handle] = []
        if bus is not None:
            self._handles = [bus.on_receive(self.feed), bus.on_send(self.feed)]

    # == intake ============================================================================
    def feed(self, msg: can.Message) -> None:
        if self.origin is None:
            self.origin = msg.timestamp
        t = msg.timestamp - self.origin
        if not self.frames:
            self._first_time = t
        self.frames += 1
        if t < self.last_time:
            self._went_back(t)
        self.last_time = t
        if t >= self._next_check:
            self._checks(t)
        if msg.is_error_frame or msg.is_remote_frame or msg.is_fd:
            self._odd_frame(msg, t)
            return
        key = msg.arbitration_id if msg.is_extended_id else ~msg.arbitration_id
        route: Any = self._routes.get(key)  # a Stream, a TP (pgn, src, dest), FOREIGN or None
        if route is None:
            route = self._routes[key] = self._route(msg, t)
            if route is FOREIGN:
                return
        if route.__class__ is Stream:
            self._on_stream(route, msg.data, t, t, False)
        elif route is not FOREIGN:  # a transport frame: (pgn, src, dest)
            self.observer.feed(route[0], bytes(msg.data), route[1], route[2], t)
        else:
            self.log.bump(("foreign", key), t)

    def _odd_frame(self, msg: can.Message, t: float) -> None:
        """An error, remote or CAN FD frame: a finding (counted per kind and id), never a message."""
        can_id = msg.arbitration_id
        shown = f"{can_id:#010x}" if msg.is_extended_id else f"{can_id:#05x}"
        if msg.is_error_frame:
            carried = f" (its record carries the id {shown})" if can_id else ""
            self._report(fk.BUS_ERROR, t, f"error frame on the bus{carried}", None, key=(fk.BUS_ERROR,))
            return
        pgn = self._pgn_of(msg)
        if msg.is_fd:
            self._report(
                fk.CAN_FD_FRAME,
                t,
                f"CAN FD frame {shown}{self._named(pgn)}: GB/T 27930-2015 runs on classic CAN; not decoded",
                pgn,
                key=(fk.CAN_FD_FRAME, msg.is_extended_id, can_id),
            )
            return
        self._report(
            fk.REMOTE_FRAME,
            t,
            f"remote frame {shown}{self._named(pgn)}: GB/T 27930 uses no remote frames; not decoded",
            pgn,
            key=(fk.REMOTE_FRAME, msg.is_extended_id, can_id),
        )

    @staticmethod
    def _pgn_of(msg: can.Message) -> int | None:
        return parse_id(msg.arbitration_id)[1] if msg.is_extended_id else None

    @staticmethod
    def _named(pgn: int | None) -> str:
        spec = BY_PGN.get(pgn) if pgn is not None else None
        return f" ({spec.name}'s id)" if spec is not None else ""

    def _went_back(self, t: float) -> None:
        self.backwards += 1
        if self._first_backwards is None:
            self._first_backwards = (t, self.last_time)

    @property
    def timestamps_usable(self) -> bool:
        """False when the timestamps went backwards or, over two frames or more, never advanced."""
        return not self.backwards and not (self.frames > 1 and self.last_time <= self._first_time)

    def _timestamp_findings(self) -> list[Finding]:
        if self.timestamps_usable:
            return []
        if self.backwards:
            assert self._first_backwards is not None  # set with the first backward step
            at, before = self._first_backwards
            text = (
                f"timestamps go backwards {self.backwards} times (first from {before:.6f} s to {at:.6f} s): "
                "no period is measured"
            )
            return [Finding(fk.BAD_TIMESTAMPS, at, text, None, {"backwards": self.backwards})]
        text = f"the timestamps of all {self.frames} frames are the same: no period is measured"
        return [Finding(fk.BAD_TIMESTAMPS, self._first_time, text, None, {"backwards": 0})]

    def _route(self, msg: can.Message, t: float) -> Stream | tuple[int, int, int] | object:
        """What frames with this ID are: a Stream, a TP (pgn, src, dest), or FOREIGN."""
        if not msg.is_extended_id and msg.arbitration_id > 0x7FF:
            self._report(
                fk.BAD_FRAME_ID,
                t,
                f"a frame marked 11-bit carries the id {msg.arbitration_id:#x}, wider than 11 bits; not decoded",
                None,
                key=("foreign", ~msg.arbitration_id),
            )
            return FOREIGN
        if not msg.is_extended_id:
            self._foreign(~msg.arbitration_id, t, f"11-bit frame {msg.arbitration_id:#05x}: not GB/T 27930 traffic")
            return FOREIGN
        priority, pgn, dest, src = parse_id(msg.arbitration_id)
        pair = {src, dest}
        ext = self.extension.by_pgn.get(pgn)
        transport = pgn in (TP_CM_PGN, TP_DT_PGN)
        if src not in (self.charger_address, self.bms_address) or (
            pair != {self.charger_address, self.bms_address} and not ((ext or transport) and dest == GLOBAL_ADDRESS)
        ):
            self._foreign(
                msg.arbitration_id,
                t,
                f"frame {msg.arbitration_id:#010x} ({src:#04x}→{dest:#04x}): not between the charger and the BMS",
            )
            return FOREIGN
        if transport:
            if priority != 7:
                self._report(
                    fk.WRONG_PRIORITY,
                    t,
                    f"TP frame {msg.arbitration_id:#010x} with priority {priority} (7 expected)",
                    pgn,
                    key=(fk.WRONG_PRIORITY, pgn),
                )
            return (pgn, src, dest)
        stream = self._stream(pgn, src, dest, t)
        if stream is None:
            self._report(
                fk.UNKNOWN_MESSAGE,
                t,
                f"frame {msg.arbitration_id:#010x}: PGN {pgn:#06x} is not a GB/T 27930 message",
                pgn,
                key=("foreign", msg.arbitration_id),
            )
            return FOREIGN
        expected = stream.spec.priority if stream.spec else cast(ExtensionMessage, stream.extension).priority
        if priority != expected:
            self._report(
                fk.WRONG_PRIORITY,
                t,
                f"{stream.name} sent with priority {priority} ({expected} expected)",
                pgn,
                key=(fk.WRONG_PRIORITY, msg.arbitration_id),
            )
        return stream

    def _stream(self, pgn: int, src: int, dest: int, t: float) -> Stream | None:
        key = (pgn, src, dest)
        stream = self.streams.get(key)
        if stream is not None:
            return stream
        spec = BY_PGN.get(pgn)
        if spec is not None:
            sender = self.charger_address if spec.sender == CHARGER else self.bms_address
            name = spec.name
            if src != sender:
                name = f"{spec.name} {src:#04x}→{dest:#04x}"
                self._report(
                    fk.WRONG_DIRECTION,
                    t,
                    f"{spec.name} is sent by the "
                    f"{'charger' if spec.sender == CHARGER else 'BMS'}, seen from {src:#04x}",
                    pgn,
                    key=(fk.WRONG_DIRECTION, key),
                )
            stream = Stream(
                name, pgn, src, dest, spec, spec.period_s, spec.phase, spec.timeout_s if spec.name in WATCHED else None
            )
        else:
            ext = self.extension.by_pgn.get(pgn)
            if ext is None or src != self.bms_address:
                return None
            stream = Stream(ext.name, pgn, src, dest, None, ext.period_s, None, None, extension=ext)
        self.streams[key] = stream
        return stream

    def _on_transfer(self, pgn: int, data: bytes, src: int, dest: int, start: float, end: float) -> None:
        bam = dest == GLOBAL_ADDRESS
        spec = BY_PGN.get(pgn)
        if bam and spec is not None:
            # GB/T 27930 sends every multi-packet message by RTS/CTS to its peer (docs/limits.md §3);
            # a BAM is still reassembled and decoded, as the peer's message.
            self._report(
                fk.TP_BAM_USED,
                end,
                f"{spec.name} broadcast by BAM from {src:#04x} to {dest:#04x}: GB/T 27930 transfers it by RTS/CTS",
                pgn,
                key=(fk.TP_BAM_USED, pgn, src),
            )
            dest = self.bms_address if src == self.charger_address else self.charger_address
        stream = self._stream(pgn, src, dest, end)
        if stream is None:
            self._report(
                fk.UNKNOWN_MESSAGE,
                end,
                f"TP transfer {src:#04x}→{dest:#04x} of PGN {pgn:#06x}: not a GB/T 27930 message",
                pgn,
                key=(fk.UNKNOWN_MESSAGE, pgn, src, dest),
            )
            return
        self._on_stream(stream, data, start, end, True, bam)

    # == per message =======================================================================
    def _on_stream(
        self, stream: Stream, data: bytes | bytearray, start: float, t: float, via_tp: bool, bam: bool = False
    ) -> None:
        stream.count += 1
        last = stream.last_start
        if last is not None:
            dt = start - last
            if dt <= stream.pause_limit:
                stream.intervals += 1
                stream.total += dt
                dev = abs(dt - stream.nominal)
                if dev > stream.worst:
                    stream.worst = dev
        stream.last_start = start
        stream.last_time = t
        if stream.phase_index != self._phase_index:
            self._phase_of(stream, t)
        if stream.watch:
            if stream.stale:
                stream.stale = False
            if self._watching and not stream.watched:
                stream.watched = True
                self._watched.append(stream)
        if data != stream.last_data:
            self._changed(stream, bytes(data), t, via_tp, bam)
        elif stream.problem_keys:
            for key in stream.problem_keys:
                self.log.bump(key, t)

    def _changed(self, stream: Stream, data: bytes, t: float, via_tp: bool, bam: bool = False) -> None:
        stream.last_data = data
        stream.lengths.add(len(data))
        decoded: tuple[object, dict[str, Any], tuple[Problem, ...]] | None
        if stream.spec is not None:
            decoded = CODEC.decode(stream.pgn, data)
        else:
            decoded = self.extension.decode(stream.pgn, data)
        assert decoded is not None  # a stream's PGN is the catalogue's or the extension's
        _, values, problems = decoded
        keys: list[Hashable] = []
        for kind, text, field in problems:
            key = (kind, stream.name, field)
            self.log.report(Finding(kind, t, text, stream.pgn, {"length": len(data)} if field is None else {}), key)
            keys.append(key)
        stream.problem_keys = tuple(keys)
        if stream.phase_index == -2:
            flags = sorted(k for k, v in values.items() if v == "timeout")
            self._report(
                fk.TIMEOUT_REPORTED,
                t,
                f"{stream.name} reports a timeout: {', '.join(flags) or 'none set'}",
                stream.pgn,
                key=(fk.TIMEOUT_REPORTED, stream.name, tuple(flags)),
                flags=flags,
            )
        if stream.name in STOP_MESSAGES:
            self._watching = False
        if self.on_change is not None:
            dest = GLOBAL_ADDRESS if bam else stream.dest
            self.on_change(MessageEvent(t, stream.name, stream.pgn, stream.src, dest, len(data), values, via_tp, bam))

    # == phases ============================================================================
    def _phase_of(self, stream: Stream, t: float) -> None:
        new = stream.phase_index
        if new == -1:  # an extension message: belongs to no phase
            return
        if new == -2:
            self._error_since_phase = True
            self._enter(t, ERROR, self._phase_index)
            return
        current = self._phase_index
        name = stream.name
        if current == -1:
            if new != 0:
                self._report(
                    fk.PHASE_ORDER,
                    t,
                    f"the session starts with {name} ({PHASES[new]}), not the handshake",
                    stream.pgn,
                    key=(fk.PHASE_ORDER, "start"),
                )
        elif new < current:
            restart = name in RESTART_MESSAGES and (name == "CHM" or self._error_since_phase or current == 3)
            if not restart and self._awaiting_first_bcl(name, current):
                return  # the charger's CRO goes on until its first BCL: no phase change yet
            if not restart:
                self._report(
                    fk.PHASE_ORDER,
                    t,
                    f"{name} ({PHASES[new]}) after the {PHASES[current]} phase began",
                    stream.pgn,
                    key=(fk.PHASE_ORDER, name, PHASES[current]),
                )
                return
            new = 0
        elif new > current + 1:
            self._report(
                fk.PHASE_ORDER,
                t,
                f"{name} starts the {PHASES[new]} phase: {', '.join(PHASES[current + 1 : new])} skipped",
                stream.pgn,
                key=(fk.PHASE_ORDER, "skip", PHASES[current], PHASES[new]),
            )
        self._enter(t, PHASES[new], new)

    def _awaiting_first_bcl(self, name: str, current: int) -> bool:
        """CRO after the BMS began charging (its BCS, BSM) but before the charger's first CCS:
        the charger goes on with CRO until the vehicle's first BCL (GB/T 27930-2015; a BMS whose
        BCL is missing keeps it there until the BCL timeout): no phase-order finding (issue 13)."""
        if name != "CRO" or PHASES[current] != CHARGING or not self.phases:
            return False
        charging_since = self.phases[-1][0]
        ccs = next((s for s in self.streams.values() if s.name == "CCS"), None)
        return ccs is None or ccs.last_time is None or ccs.last_time < charging_since

    def _enter(self, t: float, phase: str, index: int) -> None:
        if phase != ERROR:
            self._error_since_phase = False
        if self._phase_index != index or phase == ERROR:
            if not self.phases or self.phases[-1][1] != phase:
                self.phases.append((t, phase))
        self._phase_index = index
        self._watching = phase == CHARGING
        for stream in self._watched:
            stream.watched = False
        self._watched = []

    # == checks over time ==================================================================
    def _checks(self, t: float) -> None:
        self._next_check = t + CHECK_INTERVAL_S
        self.observer.expire(t)
        if not self._watching:
            return
        for stream in self._watched:
            assert stream.last_time is not None and stream.timeout is not None  # seen, and a watched message
            if not stream.stale and t - stream.last_time > stream.timeout:
                stream.stale = True
                self._report(
                    fk.MESSAGE_TIMEOUT,
                    stream.last_time + stream.timeout,
                    f"{stream.name} stopped for more than {stream.timeout:g} s while charging",
                    stream.pgn,
                    key=(fk.MESSAGE_TIMEOUT, stream.name, stream.last_time),
                )

    def period_findings(self) -> list[Finding]:
        out: list[Finding] = []
        if not self.timestamps_usable:
            return out
        for stream in self.streams.values():
            if stream.intervals < self.min_intervals or not stream.nominal:
                continue
            mean = stream.total / stream.intervals
            assert stream.last_time is not None  # it has intervals
            if abs(mean - stream.nominal) > self.period_tolerance * stream.nominal:
                out.append(
                    Finding(
                        fk.PERIOD_DEVIATION,
                        stream.last_time,
                        f"{stream.name}: mean period {1000 * mean:.1f} ms, nominal "
                        f"{1000 * stream.nominal:g} ms ± {100 * self.period_tolerance:g} %",
                        stream.pgn,
                        {
                            "mean_s": mean,
                            "nominal_s": stream.nominal,
                            "worst_deviation_s": stream.worst,
                            "intervals": stream.intervals,
                        },
                    )
                )
        return out

    @property
    def findings(self) -> list[Finding]:
        """Every finding so far, the period judgement included, in time order."""
        if self.bus is not None:
            self._checks(self.bus.clock.now())  # live: a bus gone quiet is judged now too
        else:
            self.observer.expire(self.last_time)  # a trace: its end is not a timeout
        judged = self.log.findings + self.period_findings() + self._timestamp_findings()
        return sorted(judged, key=lambda f: f.time)

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per message; with unusable timestamps (``timestamps_usable``) no period at all."""
        out = {s.name: s.summary() for s in self.streams.values()}
        if not self.timestamps_usable:
            for summary in out.values():
                summary.update(mean_period_s=None, worst_deviation_s=None, intervals=0)
        return out

    # == helpers ===========================================================================
    def _report(
        self, kind: str, t: float, message: str, pgn: int | None, key: Hashable | None = None, **details: Any
    ) -> None:
        self.log.report(Finding(kind, t, message, pgn, details), key)

    def _foreign(self, key: int, t: float, message: str) -> None:
        self.log.report(Finding(fk.FOREIGN_FRAME, t, message, None, {}), ("foreign", key))

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
