"""`bench conformance`: run the conformance suite for one or more profiles and write the report.

Each profile is one pytest run of testcases/ (the same command a lab runs by hand) into
reports/<run-id>/<profile>/: allure-results, summary.json (the run record), instruments.json,
CAN traces and raw data per test. The run's index.json lists the profiles. At the end the
Allure 3 CLI (pinned in package.json, installed by ``npm ci``) builds reports/<run-id>/report.html,
and the clause-by-clause conformance-report.html (and .pdf where Chromium is present) is built
from the summaries.

Before anything starts every profile is read: a mistake is one line (file, key, what was
expected) and exit code 2. A run folder that exists is refused (a run folder is never reused).

SIGINT, SIGTERM and SIGHUP are passed on to the running pytest child, which interrupts its
test, runs the safe state and writes its record; no later profile is started. The child
watches this process: if it is killed outright (SIGKILL), the child stops itself the same way.

Exit codes:
  0  every case passed on every profile
  1  a case failed (the report says which)
  2  a profile mistake, a run folder that exists, or another usage error
  3  a type-test profile refused before energising (instrument model, serial or calibration)
  4  pytest itself failed (internal error, no tests collected, ...)
  128 + N  stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP); also when the pytest
     child was killed by signal N
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from bench.core.errors import BenchError
from bench.session.shutdown import PARENT_PID_ENV, SIGNALS

NAME = "conformance"
HELP = "run the conformance suite on one or more profiles and write the report"
DEFAULT_PROFILES = ("profiles/sim-ac-7kw.toml", "profiles/sim-dc-60kw.toml")
REFUSED = 3


def add_arguments(parser) -> None:
    parser.add_argument(
        "--profile",
        action="append",
        dest="profiles",
        metavar="FILE",
        help=f"profile to run (repeatable); default: {', '.join(DEFAULT_PROFILES)}",
    )
    parser.add_argument("--grid", choices=("quick", "full"), default="full", help="operating-point grid")
    parser.add_argument("--report-dir", default="reports", help="where runs go (default reports)")
    parser.add_argument("--run-id", default=None, help="run folder name (default: date and time); never reused")
    parser.add_argument(
        "--sim-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one [sim] parameter (simulated profiles)",
    )
    parser.add_argument("--no-html", action="store_true", help="skip the Allure HTML and the conformance report")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")


def run(args) -> int:
    profiles = list(args.profiles or DEFAULT_PROFILES)
    _check_profiles(profiles, args.sim_set)
    run_dir = _claim_run_dir(Path(args.report_dir), args.run_id)
    stopper = _Stopper()
    worst = 0
    with stopper:
        for profile in profiles:
            code = _run_profile(profile, run_dir, args, stopper)
            worst = _worse(worst, code)
            if stopper.signal is not None or code < 0 or code == REFUSED:
                break
    if stopper.signal is not None:
        print(
            f"bench conformance: stopped by {signal.Signals(stopper.signal).name}; the records are in {run_dir}",
            file=sys.stderr,
        )
        return 128 + stopper.signal
    if worst < 0:
        return 128 - worst
    _print_run_totals(run_dir)
    if not args.no_html:
        _reports(run_dir)
    return worst


def _print_run_totals(run_dir: Path) -> None:
    """The whole run in one line: checks, tests, wall time and the bench time covered."""
    from bench.report.totals import bench_time_text

    summaries = _summaries(run_dir)
    if not summaries:
        return
    total = {key: sum(s["totals"][key] for s in summaries) for key in ("pass", "fail", "invalid", "tests")}
    print(
        f"bench conformance: {len(summaries)} profile(s): {total['pass']} checks passed, {total['fail']} failed, "
        f"{total['invalid']} invalid in {total['tests']} tests; wall {sum(s['wall_s'] for s in summaries):.1f} s; "
        f"bench time covered {bench_time_text(sum(s['bench_time_s'] for s in summaries))}"
    )


def _check_profiles(profiles: list[str], sim_sets: list[str]) -> None:
    """Every profile (with the --sim-set overrides) is read before anything runs."""
    from bench.core.profile import load_profile
    from bench.session.context import parse_sim_sets
    from instruments import registry

    overrides = parse_sim_sets(sim_sets)
    stems = [Path(p).stem for p in profiles]
    twice = sorted({stem for stem in stems if stems.count(stem) > 1})
    if twice:  # one sub-folder per profile name in the run folder
        raise BenchError(f"--profile: two profiles named {twice[0]!r}; each profile of a run needs its own name")
    for path in profiles:
        profile = load_profile(path, registry.transports())
        if overrides and profile.bench.simulated:
            profile.with_sim(overrides)


def _claim_run_dir(report_dir: Path, run_id: str | None) -> Path:
    from bench.session.context import RunFolderExists, new_run_id

    run_dir = report_dir / (run_id or new_run_id(report_dir))
    report_dir.mkdir(parents=True, exist_ok=True)
    try:
        run_dir.mkdir()
    except FileExistsError:
        raise RunFolderExists(run_dir) from None
    return run_dir


def _run_profile(profile: str, run_dir: Path, args, stopper: _Stopper) -> int:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "testcases",
        "--profile",
        profile,
        "--grid",
        args.grid,
        "--report-dir",
        str(run_dir.parent),
        "--run-id",
        run_dir.name,
        "-p",
        "no:hypothesispytest",
        *args.pytest_args,
    ]
    for item in args.sim_set:
        command += ["--sim-set", item]
    print(f"bench conformance: {' '.join(command[1:])}", flush=True)
    environment = dict(os.environ, **{PARENT_PID_ENV: str(os.getpid())})
    child = subprocess.Popen(command, env=environment)
    stopper.child = child
    if stopper.signal is not None:  # it came while the child was being started
        child.send_signal(stopper.signal)
    try:
        code = child.wait()  # a signal to this process is passed on; the child ends on its own
    finally:
        stopper.child = None
    if code < 0:
        print(
            f"bench conformance: pytest for {profile} was killed by {signal.Signals(-code).name}; "
            "its record is incomplete and no later profile runs",
            file=sys.stderr,
        )
    elif code == REFUSED:
        print(
            f"bench conformance: {profile}: type-test refused before energising; no later profile runs", file=sys.stderr
        )
    elif code not in (0, 1):
        print(f"bench conformance: pytest ended with code {code} for {profile}", file=sys.stderr)
    return code


def _worse(a: int, b: int) -> int:
    """The worse of two exit codes: a kill (negative) over everything, else the larger."""
    if a < 0 or b < 0:
        return min(a, b)
    return max(a, b)


class _Stopper:
    """Passes SIGINT, SIGTERM and SIGHUP on to the running child and remembers the first."""

    def __init__(self) -> None:
        self.child: subprocess.Popen | None = None
        self.signal: int | None = None
        self._previous: dict = {}

    def __enter__(self) -> _Stopper:
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def _on_signal(self, signum, frame) -> None:
        if self.signal is None:
            self.signal = signum
        child = self.child
        if child is not None and child.poll() is None:
            child.send_signal(signum)


def _reports(run_dir: Path) -> None:
    from bench.report.allure_html import build_allure_report
    from bench.report.conformance_report import write_conformance_report

    summaries = _summaries(run_dir)
    page = build_allure_report(run_dir, report_title(summaries))
    if page is not None:
        print(f"bench conformance: Allure report → {page}")
    try:
        html, pdf = write_conformance_report(run_dir)
    except BenchError as exc:
        print(f"bench conformance: no conformance report: {exc}", file=sys.stderr)
        return
    print(
        f"bench conformance: conformance report → {html}"
        + (f" and {pdf}" if pdf else " (no PDF: Chromium is not installed)")
    )


def _summaries(run_dir: Path) -> list[dict]:
    found = []
    for path in sorted(run_dir.glob("*/allure-results/../summary.json")):
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return found


def report_title(summaries: list[dict]) -> str:
    """The report's title names the DUTs: manufacturer, model and serial."""
    duts = []
    for summary in summaries:
        dut = summary["dut"]
        name = f"{dut['manufacturer']} {dut['model']}".strip()
        duts.append(name + (f" (S/N {dut['serial']})" if dut.get("serial") else ""))
    return "Conformance — " + (", ".join(dict.fromkeys(duts)) or "no DUT")
