"""`bench verify RUN_DIR`: check a filed run against its own record.

Every summary.json must follow the shipped JSON Schema (bench/report/summary.schema.json),
and every evidence file must be there with the size and sha256 the record gives.

Exit codes:
  0  every summary is valid and every evidence file matches
  1  an evidence file is missing or differs (one line each)
  2  no summary, or a summary that is no JSON or breaks the schema (one line)
"""

from __future__ import annotations

from pathlib import Path

NAME = "verify"
HELP = "check a run's summary.json files against the schema and its evidence files against their hashes"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", help="a run folder (reports/<run-id>) or one profile's folder")


def run(args) -> int:
    from bench.report.verify import verify_run

    summaries, problems = verify_run(Path(args.run_dir))
    for problem in problems:
        print(f"bench verify: {problem}")
    files = sum(len(s["evidence"]) for s in summaries)
    incomplete = [s["run_id"] + "/" + Path(s["profile"]).stem for s in summaries if not s["complete"]]
    print(
        f"bench verify: {len(summaries)} summaries valid; {files - len(problems)} of {files} evidence files match"
        + (f"; INCOMPLETE: {', '.join(incomplete)}" if incomplete else "")
    )
    return 1 if problems else 0
