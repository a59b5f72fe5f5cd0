"""Check a filed run against its record: every summary.json follows the shipped schema, and
every evidence file is there with the bytes and sha256 the record gives."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bench.report.schema import SummaryInvalid, read_summary


def run_summaries(run_dir: Path) -> list[Path]:
    """One profile folder's summary.json, or each profile's of a run folder."""
    run_dir = Path(run_dir)
    if (run_dir / "summary.json").is_file():
        return [run_dir / "summary.json"]
    found = sorted(run_dir.glob("*/summary.json"))
    found = [p for p in found if p.parent.name != "allure-report"]  # the Allure CLI's own summary
    if not found:
        raise SummaryInvalid(f"{run_dir}: no summary.json (neither summary.json nor <profile>/summary.json)")
    return found


def evidence_problems(summary_path: Path, summary: dict) -> list[str]:
    """Every evidence entry whose file is missing or differs from the record."""
    folder = summary_path.parent
    problems = []
    for entry in summary["evidence"]:
        path = folder / entry["file"]
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        data = path.read_bytes()
        if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            problems.append(f"{path}: differs from the record ({len(data)} bytes, {entry['bytes']} recorded)")
    return problems


def verify_run(run_dir: Path) -> tuple[list[dict], list[str]]:
    """(the summaries, every problem found); raises SummaryInvalid for a summary that breaks the schema."""
    summaries, problems = [], []
    for path in run_summaries(run_dir):
        summary = read_summary(path)
        summaries.append(summary)
        problems += evidence_problems(path, summary)
    return summaries, problems
