"""`bench decode FILE`: print a recorded GB/T 27930 session (candump .log, .asc, .blf)."""

from __future__ import annotations

from bench.protocols.gbt27930.decode import decode_trace, format_text

NAME = "decode"
HELP = "decode a GB/T 27930 CAN trace (candump .log, .asc, .blf): phases, messages, findings"


def add_arguments(parser) -> None:
    parser.add_argument("file", help="the trace file")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    parser.add_argument(
        "--extension-dbc", default=None, help="the profile's extension DBC (default: the bench's extension.dbc)"
    )


def run(args) -> int:
    report = decode_trace(args.file, extension_dbc_path=args.extension_dbc)
    print(report.to_json() if args.json else format_text(report))
    return 0
