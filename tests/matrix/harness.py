"""Detection-matrix harness: run one DUT kind's conformance cases against one simulated pile
with one ``[sim]`` override, and read back the verdict of every check by limit key.

A row names, before the run, the limit keys it must fail. A row just past a rule's limit
must fail exactly those keys; a row just inside must fail nothing (it sits further inside
than the check's uncertainty). Each row runs the real cases on the quick operating-point grid
in its own process, as a lab would run them, and the verdicts come from the run's summary.json.

Which cases a row runs (``case_files``): the whole suite for a conforming baseline; otherwise
every case file that declares (``@pytest.mark.judges``) a key the row's parameter breaks or
leaves unjudged in any of its rows, so a row and its sibling just inside run the same files.
That keeps the test command inside its 10 minutes. ``BENCH_MATRIX=full`` runs every row on the
whole suite instead, which also shows that a parameter breaks nothing outside its own files
(a slow pile's session reaching into a later case, say); CI runs it as its own step.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.report.schema import schema_errors

ROOT = Path(__file__).resolve().parents[2]
PROFILES = {"ac": "profiles/sim-ac-7kw.toml", "dc": "profiles/sim-dc-60kw.toml"}
ROW_TIMEOUT_S = 120


@dataclass(frozen=True)
class Row:
    kind: str
    parameter: str  # a [sim] parameter, or "" for the conforming baseline
    value: object
    fails: frozenset[str]  # limit keys that must fail; empty: nothing may fail
    profile: str = ""
    # Keys whose every check must be invalid (not judged), never a fail: a pile the method
    # cannot judge at that point (e.g. the BMS request, not the power control, governs).
    invalid: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        name = Path(self.profile).stem if self.profile else self.kind
        return f"{name}-{self.parameter or 'conforming'}={_text(self.value)}"

    @property
    def overrides(self) -> dict[str, str]:
        return {self.parameter: _text(self.value)} if self.parameter else {}

    def profile_path(self) -> str:
        return self.profile or PROFILES[self.kind]


def past(kind: str, parameter: str, value, *keys: str, profile: str = "") -> Row:
    """A row just past the limit: it must fail exactly ``keys``."""
    assert keys, "a row past the limit names the keys it breaks"
    return Row(kind, parameter, value, frozenset(keys), profile)


def unjudged(kind: str, parameter: str, value, *keys: str, profile: str = "") -> Row:
    """A row the method cannot judge: every check of ``keys`` must be invalid, none may fail."""
    assert keys, "an unjudged row names the keys that must come out invalid"
    return Row(kind, parameter, value, frozenset(), profile, invalid=frozenset(keys))


def inside(kind: str, parameter: str, value, profile: str = "") -> Row:
    """A row just inside the limit: no check may fail."""
    return Row(kind, parameter, value, frozenset(), profile)


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(value)
    return str(value)


@dataclass
class Outcome:
    verdicts: dict[str, set[str]]
    wall_s: float
    output: str
    returncode: int
    checks: list = field(default_factory=list)

    def failing(self) -> set[str]:
        return {key for key, verdicts in self.verdicts.items() if verdicts - {"pass"}}


def declarations() -> dict[str, set[str]]:
    """``file::case`` → the limit keys it declares (read from the source: no collection)."""
    found = {}
    for path in sorted((ROOT / "testcases").rglob("test_*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                keys = {
                    arg.value
                    for deco in node.decorator_list
                    if isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "judges"
                    for arg in deco.args
                }
                found[f"{path.relative_to(ROOT)}::{node.name}"] = keys
    return found


WHOLE_SUITE = ("testcases",)
FULL_MODE_ENV = "BENCH_MATRIX"  # = "full": every row runs the whole suite


def case_files(row: Row, rows: list[Row], declared: dict[str, set[str]]) -> tuple[str, ...]:
    """The case files ``row`` runs (see the module's docstring)."""
    if not row.parameter or os.environ.get(FULL_MODE_ENV) == "full":
        return WHOLE_SUITE
    keys = {key for other in rows if other.parameter == row.parameter for key in other.fails | other.invalid}
    files = sorted({case.split("::")[0] for case, declares in declared.items() if declares & keys})
    return tuple(files) or WHOLE_SUITE


def run_row(row: Row, workdir: Path, cases: tuple[str, ...] = WHOLE_SUITE) -> Outcome:
    """Run ``cases`` for ``row`` and collect its checks."""
    run_id = "row"
    command = [
        sys.executable,
        "-m",
        "pytest",
        *cases,
        "--profile",
        row.profile_path(),
        "--grid",
        "quick",
        "--report-dir",
        str(workdir),
        "--run-id",
        run_id,
        "-q",
        "-p",
        "no:hypothesispytest",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:unraisableexception",
        "-o",
        "addopts=",
    ]
    for key, value in row.overrides.items():
        command += ["--sim-set", f"{key}={value}"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=ROW_TIMEOUT_S)
    wall = time.perf_counter() - start
    summary_path = workdir / run_id / Path(row.profile_path()).stem / "summary.json"
    verdicts: dict[str, set[str]] = defaultdict(set)
    checks = []
    if summary_path.exists():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        problems = schema_errors(summary)  # every record a row produces follows the shipped schema
        if problems:
            raise AssertionError(f"{summary_path}: not a valid summary: {problems[:3]}")
        checks = summary["checks"]
        for check in checks:
            verdicts[check["key"]].add(check["verdict"])
    return Outcome(dict(verdicts), wall, result.stdout + result.stderr, result.returncode, checks)


def explain(outcome: Outcome, keys: set[str]) -> str:
    """The checks of ``keys`` (for an assertion message)."""
    lines = [
        f"{c['key']}: {c['value']!r} [{c['low']}, {c['high']}] → {c['verdict']} ({c['test'].split('::')[-1]})"
        for c in outcome.checks
        if c["key"] in keys
    ]
    return "\n".join(lines) or "(no checks of those keys)"
