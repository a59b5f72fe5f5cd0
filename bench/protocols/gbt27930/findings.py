"""Findings: deviations from GB/T 27930 / J1939 seen on the bus, never exceptions.

A finding has a kind from the fixed vocabulary below, the bench time it was seen, a
one-line message, the PGN it concerns (if any) and details. Tests and the bench turn
findings into checks; the protocol stack only reports them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

# -- frame and message content (codec) -----------------------------------------------------
WRONG_LENGTH = "wrong_length"  # DLC / reassembled size differs from the standard
MISSING_VALUE = "missing_value"  # a mandatory field sent as all-ones or cut off
VALUE_OUT_OF_RANGE = "value_out_of_range"  # outside the standard's range or enumeration
BAD_BCD = "bad_bcd"  # a BCD digit above 9 (CTS)
RESERVED_BITS = "reserved_bits"  # bits no field uses not sent as ones (docs/limits.md §3)
WRONG_PRIORITY = "wrong_priority"
WRONG_DIRECTION = "wrong_direction"  # e.g. a charger message sent by the BMS address
UNKNOWN_MESSAGE = "unknown_message"  # charger<->BMS frame with a PGN the standard lacks
FOREIGN_FRAME = "foreign_frame"  # not charger<->BMS traffic (other addresses, 11-bit)
# -- frame kinds GB/T 27930 does not use (never decoded as messages) -------------------------
BUS_ERROR = "bus_error"  # an error frame
REMOTE_FRAME = "remote_frame"  # an RTR frame: never counted, never starts a phase
CAN_FD_FRAME = "can_fd_frame"  # a CAN FD frame: GB/T 27930-2015 runs on classic CAN
BAD_FRAME_ID = "bad_frame_id"  # an id wider than 11 bits in a frame marked 11-bit
# -- J1939 transport -----------------------------------------------------------------------
TP_BAD_SEQUENCE = "tp_bad_sequence"  # a DT packet out of order or repeated
TP_MISSING_PACKET = "tp_missing_packet"  # a gap in the sequence numbers
TP_SIZE_MISMATCH = "tp_size_mismatch"  # RTS/BAM size and packet count disagree
TP_TIMEOUT = "tp_timeout"  # a transfer never completed; its buffer was released
TP_UNEXPECTED_CTS = "tp_unexpected_cts"  # CTS with no transfer open towards its sender
TP_UNEXPECTED_DATA = "tp_unexpected_data"  # DT with no transfer open
TP_ABORT_RECEIVED = "tp_abort_received"  # Conn_Abort seen
TP_BAD_CONTROL = "tp_bad_control"  # TP.CM with an unknown control byte or bad length
TP_DUPLICATE_RTS = "tp_duplicate_rts"  # RTS while a transfer from that sender is open
TP_LATE_RESPONSE = "tp_late_response"  # CTS later than Tr after RTS / the last packet
TP_BAM_USED = "tp_bam_used"  # a standard message broadcast by BAM where RTS/CTS is expected
# -- session conformance (monitor) ----------------------------------------------------------
PERIOD_DEVIATION = "period_deviation"  # mean period outside the tolerance
MESSAGE_TIMEOUT = "message_timeout"  # a periodic message stopped longer than its timeout
PHASE_ORDER = "phase_order"  # a message of an earlier phase, or a phase skipped
TIMEOUT_REPORTED = "timeout_reported"  # a BEM or CEM was sent
# -- the trace file itself (bench decode) ---------------------------------------------------
LINE_SKIPPED = "line_skipped"  # a line that cannot be parsed; the decode goes on
FILE_TRUNCATED = "file_truncated"  # the file ends before its format says it should
BAD_TIMESTAMPS = "bad_timestamps"  # timestamps never advance or go backwards: no periods
# The kinds that say the file is damaged: the report is incomplete (bench decode exits 1).
FILE_KINDS = frozenset({LINE_SKIPPED, FILE_TRUNCATED, BAD_TIMESTAMPS})

KINDS = frozenset(
    {
        WRONG_LENGTH,
        MISSING_VALUE,
        VALUE_OUT_OF_RANGE,
        BAD_BCD,
        RESERVED_BITS,
        WRONG_PRIORITY,
        WRONG_DIRECTION,
        UNKNOWN_MESSAGE,
        FOREIGN_FRAME,
        BUS_ERROR,
        REMOTE_FRAME,
        CAN_FD_FRAME,
        BAD_FRAME_ID,
        TP_BAD_SEQUENCE,
        TP_MISSING_PACKET,
        TP_SIZE_MISMATCH,
        TP_TIMEOUT,
        TP_UNEXPECTED_CTS,
        TP_UNEXPECTED_DATA,
        TP_ABORT_RECEIVED,
        TP_BAD_CONTROL,
        TP_DUPLICATE_RTS,
        TP_LATE_RESPONSE,
        TP_BAM_USED,
        PERIOD_DEVIATION,
        MESSAGE_TIMEOUT,
        PHASE_ORDER,
        TIMEOUT_REPORTED,
        LINE_SKIPPED,
        FILE_TRUNCATED,
        BAD_TIMESTAMPS,
    }
)


@dataclass
class Finding:
    kind: str
    time: float  # bench seconds (or trace seconds when decoding a file)
    message: str
    pgn: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown finding kind {self.kind!r}")

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "time": self.time, "message": self.message, "pgn": self.pgn, "details": self.details}


FindingSink = Callable[[Finding], None]


class FindingLog:
    """Collects findings; a repeated deviation is one finding with a count.

    ``report(key, ...)`` records the first occurrence of ``key`` and counts the rest in
    ``details["count"]``, so a trace with 400 short CCS frames gives one finding, not 400.
    """

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self._by_key: dict[Hashable, Finding] = {}

    def report(self, finding: Finding, key: Hashable | None = None) -> Finding:
        if key is not None:
            seen = self._by_key.get(key)
            if seen is not None:
                seen.details["count"] = seen.details.get("count", 1) + 1
                seen.details["last_time"] = finding.time
                return seen
            self._by_key[key] = finding
        self.findings.append(finding)
        return finding

    def bump(self, key: Hashable, t: float) -> None:
        """Count one more occurrence of an already reported ``key`` (no new object)."""
        seen = self._by_key.get(key)
        if seen is not None:
            seen.details["count"] = seen.details.get("count", 1) + 1
            seen.details["last_time"] = t

    def __call__(self, finding: Finding) -> None:
        self.report(finding)

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def __len__(self) -> int:
        return len(self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)
