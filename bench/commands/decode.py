"""`bench decode FILE`: print a recorded GB/T 27930 session (formats: bench/protocols/gbt27930/trace_formats.py).

Exit codes (docs/decode.md "Exit codes"): 0 the whole file was decoded (protocol findings, if
any, are in the report); 1 decoded, but the file is damaged: a line was skipped, it ends early
or its timestamps are unusable, so the report is incomplete; 2 nothing decoded: no such file,
a format the bench does not read, not one frame, or a wrong argument; 130 interrupted.
"""

from __future__ import annotations

from bench.protocols.gbt27930.decode import decode_trace, format_text
from bench.protocols.gbt27930.trace_formats import NAMES

NAME = "decode"
HELP = f"decode a GB/T 27930 CAN trace ({NAMES}): phases, messages, findings"
COMPLETE, DAMAGED = 0, 1  # 2 (unreadable) and 130 (interrupted) come from bench.cli


def add_arguments(parser) -> None:
    parser.add_argument("file", help="the trace file")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    parser.add_argument(
        "--extension-dbc", default=None, help="the profile's extension DBC (default: the bench's extension.dbc)"
    )
    parser.epilog = (
        "exit 0: decoded; 1: decoded, but the file is damaged (lines skipped, ends early, unusable "
        "timestamps); 2: not decoded"
    )


def run(args) -> int:
    report = decode_trace(args.file, extension_dbc_path=args.extension_dbc)
    print(report.to_json() if args.json else format_text(report))
    return COMPLETE if report.complete else DAMAGED
