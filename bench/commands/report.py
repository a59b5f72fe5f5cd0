"""`bench report RUN_DIR [--no-pdf]`: rebuild the clause-by-clause conformance report.

Reads every ``<profile>/summary.json`` of the run folder (or the ``summary.json`` of a single
profile folder), checks each against the shipped schema, and writes
``conformance-report.html`` into RUN_DIR; where Chromium is installed (and without
``--no-pdf``) it also prints ``conformance-report.pdf`` beside it. Prints one line with the
path(s) written.

Exit codes:
  0  the report was written (with or without its PDF; the line says why there is no PDF)
  2  a BenchError, one line on stderr: RUN_DIR missing, no summary.json in it, a profile the
     run's index.json lists without its summary.json, or a summary.json that is no JSON or
     breaks the schema (the line names the file)
"""

from __future__ import annotations

from pathlib import Path

from bench.report import chromium
from bench.report.conformance_report import write_conformance_report

NAME = "report"
HELP = "rebuild the clause-by-clause conformance report (HTML, PDF) of a run from its summary.json files"


def add_arguments(parser) -> None:
    parser.add_argument(
        "run_dir", metavar="RUN_DIR", help="a run folder reports/<run-id>/ (or one profile folder holding summary.json)"
    )
    parser.add_argument("--no-pdf", action="store_true", help="write the HTML only, do not print the PDF")


def run(args) -> int:
    html, pdf = write_conformance_report(Path(args.run_dir), pdf=not args.no_pdf)
    if pdf is not None:
        print(f"bench report: {html} {pdf}")
    elif args.no_pdf:
        print(f"bench report: {html}")
    elif chromium.find_chromium() is None:
        print(f"bench report: {html} (no PDF: no Chromium on this machine)")
    else:
        print(f"bench report: {html} (no PDF: Chromium could not print it)")
    return 0
