"""Running the conformance suite in a child process the way a lab does, and reading back what
it left: the run record, the simulated plant's history, the processes still alive."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTEST_ARGS = ["-p", "no:hypothesispytest", "-p", "no:cacheprovider", "-o", "addopts="]
# (actor, what) of the simulated plant that mean "switched on" when their value is true.
ENERGISING = {
    ("grid", "output"),
    ("battery", "output"),
    ("load", "input"),
    ("ev", "k5k6"),
    ("ev", "s2"),
    ("charger", "k1k2"),
    ("charger", "aux"),
    ("pile", "contactor"),
}


def profile_copy(tmp_path: Path, name: str, **changes: str) -> Path:
    """A copy of profiles/<name>.toml in ``tmp_path`` with its relative paths made absolute and
    ``changes`` applied as regex substitutions ``{pattern: replacement}`` given as pairs."""
    text = (ROOT / "profiles" / f"{name}.toml").read_text(encoding="utf-8")
    text = text.replace('"../', f'"{ROOT.as_posix()}/')
    for pattern, replacement in changes.items():
        text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        assert count, f"{pattern!r} not found in {name}.toml"
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def pytest_command(profile: Path | str, report_dir: Path, run_id: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "testcases",
        "--profile",
        str(profile),
        "--report-dir",
        str(report_dir),
        "--run-id",
        run_id,
        "-q",
        *PYTEST_ARGS,
        *extra,
    ]


def run_case_file(
    case: Path, profile: str, report_dir: Path, run_id: str, *extra: str, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run one hand-written case file with the bench's plugin on a simulated profile, as the
    conformance suite runs (its own run folder, no cache, no other plugins' options)."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(case),
        "-p",
        "bench.plugin",
        "--profile",
        profile,
        "--report-dir",
        str(report_dir),
        "--run-id",
        run_id,
        "-q",
        *PYTEST_ARGS,
        *extra,
        "--rootdir",
        str(ROOT),
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def conformance_command(report_dir: Path, run_id: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bench.cli",
        "conformance",
        "--report-dir",
        str(report_dir),
        "--run-id",
        run_id,
        "--no-html",
        *extra,
    ]


def start(command: list[str], log: Path) -> subprocess.Popen:
    out = log.open("w", encoding="utf-8")
    return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def read_summary(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def wait_for_tests(
    summary_path: Path, count: int, process: subprocess.Popen, timeout: float = 90.0, *, ran: bool = False
) -> dict:
    """Wait until the record lists ``count`` finished tests (0: until it exists); with ``ran``,
    ``count`` tests that ran (not skipped: the bench was energised for them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        summary = read_summary(summary_path)
        tests = [] if summary is None else summary["tests"]
        if ran:
            tests = [test for test in tests if test["outcome"] != "skipped"]
        if summary is not None and len(tests) >= count:
            return summary
        if process.poll() is not None:
            raise AssertionError(f"the run ended (code {process.returncode}) before {count} tests")
        time.sleep(0.01)
    raise AssertionError(f"{summary_path}: not {count} tests within {timeout:g} s")


def kill(process: subprocess.Popen, signum: int = signal.SIGKILL) -> None:
    os.kill(process.pid, signum)


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """Live processes whose command line mentions ``text`` (e.g. the run's report folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().split(") ", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append((int(entry.name), cmdline.strip()))
    return found


def wait_no_process(text: str, timeout: float = 30.0) -> list[tuple[int, str]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = processes_mentioning(text)
        if not left:
            return []
        time.sleep(0.05)
    return processes_mentioning(text)


def sim_history(run_dir: Path) -> list[list]:
    path = run_dir / "sim_history.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def checks_written(run_dir: Path) -> list[dict]:
    """checks.jsonl: every check, one line each, as it was made."""
    path = run_dir / "checks.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    checks = []
    for line in lines:
        try:
            checks.append(json.loads(line))
        except json.JSONDecodeError:  # the line a kill cut short
            continue
    return checks
