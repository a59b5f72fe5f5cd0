"""The run record of one profile: summary.json, written so that it survives a crash.

It is written when the profile's run starts (``complete: false``), rewritten atomically
(temporary file, fsync, rename) after every test, and closed at the end with
``complete: true`` when every collected test ran. A SIGKILL at any moment leaves the last
rewrite, which parses and lists every finished test and its checks. The format is the
JSON Schema shipped in ``bench/report/summary.schema.json`` (documented in
``bench/report/SUMMARY.md``).

The record does not measure anything itself: the bench session (when one is opened) gives
it the instruments, checks, safe-state sequences and bench time; pytest gives it the tests.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report.coverage import CaseInfo, not_covered
from bench.report.schema import SCHEMA_VERSION

SUMMARY = "summary.json"
INDEX = "index.json"
OUTCOMES = ("passed", "failed", "skipped", "error")


@dataclass
class TestEntry:
    nodeid: str
    clause: str | None
    outcome: str = "passed"
    duration_s: float = 0.0
    bench_time_s: float = 0.0
    reason: str | None = None
    phases: list[str] = field(default_factory=list)  # setup, call, teardown as pytest reported them

    @property
    def finished(self) -> bool:
        return "teardown" in self.phases

    def to_dict(self, checks: int) -> dict:
        return {
            "nodeid": self.nodeid,
            "clause": self.clause,
            "outcome": self.outcome,
            "duration_s": round(self.duration_s, 6),
            "bench_time_s": round(self.bench_time_s, 6),
            "checks": checks,
            "reason": self.reason,
        }


@dataclass
class RunRecord:
    profile: Any  # bench.core.profile.Profile
    run_dir: Path
    run_id: str
    cases: list[CaseInfo] | None = None  # what was collected (for not_covered); None before collection
    session: Any = None  # the BenchSession, once opened
    problems: list[dict] = field(default_factory=list)  # instrument problems (development: flagged)
    end_reason: str | None = None
    complete: bool = False

    def __post_init__(self) -> None:
        self.run_dir = Path(self.run_dir)
        self.started = _now()
        self.finished: str | None = None
        self._t0 = time.monotonic()
        self._wall_s = 0.0
        self.tests: dict[str, TestEntry] = {}
        self.meta = _meta(self.profile)
        self._hashes = _HashCache()

    # -- what the run tells it ---------------------------------------------------------------
    def test_report(
        self, nodeid: str, clause: str | None, when: str, outcome: str, duration: float, reason: str | None
    ) -> None:
        """One phase (setup, call, teardown) of a test, as pytest reports it."""
        entry = self.tests.setdefault(nodeid, TestEntry(nodeid, clause))
        entry.phases.append(when)
        entry.duration_s += duration
        if outcome == "skipped" and entry.outcome == "passed":
            entry.outcome, entry.reason = "skipped", reason
        elif outcome == "failed":
            if when == "call" and entry.outcome == "passed":
                entry.outcome, entry.reason = "failed", reason
            elif entry.outcome not in ("failed", "error"):
                entry.outcome, entry.reason = "error", f"{when}: {reason}"

    def test_bench_time(self, nodeid: str, seconds: float) -> None:
        entry = self.tests.get(nodeid)
        if entry is not None:
            entry.bench_time_s += seconds

    # -- writing -------------------------------------------------------------------------------
    def write(self) -> dict:
        """Rewrite summary.json (atomically) and the run's index.json; return the summary."""
        summary = self.build()
        lines = self.session.recorder.lines[: len(summary["checks"])] if self.session is not None else []
        _write_text_atomic(self.run_dir / SUMMARY, summary_text(summary, lines))
        _update_index(self.run_dir.parent, self.run_dir.name, summary)
        return summary

    def all_finished(self) -> bool:
        """Every selected case has been reported through its teardown."""
        if self.cases is None:
            return False
        return all(
            nodeid in self.tests and self.tests[nodeid].finished
            for nodeid in (c.nodeid for c in self.cases if c.selected)
        )

    def close(self, end_reason: str, complete: bool) -> dict:
        for entry in self.tests.values():  # a test the stop cut short did not pass
            if not entry.finished and entry.outcome not in ("failed", "error"):
                entry.outcome = "error"
                entry.reason = f"{end_reason} during {entry.phases[-1] if entry.phases else 'setup'}"
        self.end_reason = end_reason
        self.complete = complete
        self.finished = _now()
        self._wall_s = time.monotonic() - self._t0
        return self.write()

    def build(self) -> dict:
        s = self.session
        checks = list(s.recorder.records) if s is not None else []
        counts: dict[str, int] = {}
        for check in checks:
            counts[check["test"]] = counts.get(check["test"], 0) + 1
        tests = [entry.to_dict(counts.get(nodeid, 0)) for nodeid, entry in self.tests.items()]
        profile = self.profile
        dut = profile.dut
        wall = self._wall_s if self.finished else time.monotonic() - self._t0
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_id,
            **self.meta,
            "started": self.started,
            "finished": self.finished,
            "complete": self.complete,
            "end_reason": self.end_reason,
            "wall_s": round(wall, 3),
            "bench_time_s": round(s.clock.now(), 6) if s is not None else 0.0,
            "dut": {
                "kind": dut.kind,
                "model": dut.model,
                "manufacturer": dut.manufacturer,
                "serial": dut.serial,
                "firmware": dut.firmware,
            },
            "sim": dict(profile.sim) if profile.bench.simulated else None,
            "totals": _totals(checks, tests, self.problems),
            "problems": list(self.problems),
            "instruments": list(s.identities.values()) if s is not None else [],
            "tests": tests,
            "checks": checks,
            "not_covered": not_covered(
                self.cases,
                {c["key"] for c in checks},
                dut.kind,
                {t["nodeid"]: (t["outcome"], t["reason"]) for t in tests},
            ),
            "safe_state": list(s.safe_state_reports) if s is not None else [],
            "lost_instruments": dict(s.lost) if s is not None else {},
            "evidence": self._evidence(),
        }

    def _evidence(self) -> list[dict]:
        """Every file of the run folder but the record itself, with its hash and its test."""
        tests_by_folder = self.session.evidence.test_folders if self.session is not None else {}
        entries = []
        # Plain strings and os.walk, not pathlib: this runs after every test over every file.
        for relative in sorted(_files_under(str(self.run_dir)), key=lambda r: r.split("/")):
            if relative == SUMMARY or relative.endswith(".tmp"):
                continue
            digest, size = self._hashes.get(os.path.join(self.run_dir, relative))
            parts = relative.split("/")
            test = tests_by_folder.get(parts[1]) if len(parts) > 2 and parts[0] == "tests" else None
            entries.append({"file": relative, "sha256": digest, "bytes": size, "test": test})
        return entries


def _files_under(root: str) -> list[str]:
    """The files below ``root``, as paths relative to it with "/"."""
    found = []
    for folder, _dirs, files in os.walk(root):
        prefix = os.path.relpath(folder, root).replace(os.sep, "/")
        found += [name if prefix == "." else f"{prefix}/{name}" for name in files]
    return found


class _HashCache:
    """sha256 per file, recomputed only when its size or modification time changed."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[int, int, str]] = {}

    def get(self, path: str) -> tuple[str, int]:
        stat = os.stat(path)
        known = self._known.get(path)
        if known is not None and known[:2] == (stat.st_size, stat.st_mtime_ns):
            return known[2], stat.st_size
        digest = file_sha256(path)
        self._known[path] = (stat.st_size, stat.st_mtime_ns, digest)
        return digest, stat.st_size


def file_sha256(path: Path | str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _totals(checks: list[dict], tests: list[dict], problems: list[dict]) -> dict:
    totals = {"pass": 0, "fail": 0, "invalid": 0}
    for check in checks:
        totals[check["verdict"]] += 1
    outcomes = {outcome: sum(1 for t in tests if t["outcome"] == outcome) for outcome in OUTCOMES}
    return {
        **totals,
        "tests": len(tests),
        "passed": outcomes["passed"],
        "failed": outcomes["failed"],
        "skipped": outcomes["skipped"],
        "errors": outcomes["error"],
        "problems": len(problems),
    }


def _meta(profile) -> dict:
    return {
        "profile": str(profile.path),
        "profile_sha256": file_sha256(profile.path),
        "bench_version": bench_version(),
        "git_commit": git_commit(),
        "mode": profile.bench.mode,
        "simulated": profile.bench.simulated,
    }


def bench_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("charger-bench")
    except PackageNotFoundError:
        return "unknown"


def git_commit() -> str | None:
    """The bench checkout's commit (with ``-dirty`` when its tracked files differ); None outside git."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def summary_text(summary: dict, check_lines: list[str]) -> str:
    """summary.json's text: a line per field and a line per item of its lists, each check the
    very line checks.jsonl got. Encoded in one pass of json's C encoder (an indented dump is
    pure Python): the record is rewritten after every test, with thousands of checks."""
    fields = []
    for key, value in summary.items():
        name = _json(key)
        if key == "checks" and len(check_lines) == len(value):
            items = check_lines
        elif isinstance(value, list):
            items = [_json(item) for item in value]
        else:
            fields.append(f"{name}: {_json(value)}")
            continue
        fields.append(f"{name}: [" + ",".join(f"\n  {item}" for item in items) + ("\n ]" if items else "]"))
    return "{\n " + ",\n ".join(fields) + "\n}\n"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _write_json_atomic(path: Path, data: Any) -> None:
    _write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=1, default=str))


def _write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader (or a crash) sees the old file or the new one."""
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _update_index(run_root: Path, profile_name: str, summary: dict) -> None:
    """index.json lists the profiles of a run; two runs writing it at once take turns (a lock)."""
    path = run_root / INDEX
    with open(run_root / (INDEX + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            index = {"profiles": {}}
        index["profiles"][profile_name] = {
            "summary": f"{profile_name}/{SUMMARY}",
            "dut": summary["dut"],
            "complete": summary["complete"],
            "totals": summary["totals"],
            "lost_instruments": summary["lost_instruments"],
        }
        _write_json_atomic(path, index)
