"""The bench's pytest plugin (registered by the root conftest.py).

Options: ``--profile`` (default: the simulated AC pile), ``--sim-set key=value``
(repeatable), ``--grid quick|full`` (operating-point grids), ``--clause KEY`` (only the cases
of a clause or clause group), ``--report-dir``, ``--run-id``.

Fixtures: ``bench_session`` (the bench for the whole run: clock, instruments, CAN,
platform channel) and ``bench`` (the test's view of it, an AcBench or DcBench; its
teardown runs the safe-state sequence), plus one fixture per instrument role.

Markers: ``clause("<document>:<clause>")`` and ``dut("ac"|"dc")``. A case for the other kind
of DUT is skipped with a reason. Checks a test records decide its verdict: it fails at the
end with every check that did not pass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from pathlib import Path

import pytest

from bench.core.errors import BenchError, ProfileError

DEFAULT_PROFILE = "profiles/sim-ac-7kw.toml"


def pytest_addoption(parser):
    group = parser.getgroup("bench", "charger conformance bench")
    group.addoption("--profile", default=None, metavar="FILE", help=f"bench profile (TOML); default {DEFAULT_PROFILE}")
    group.addoption(
        "--sim-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one [sim] parameter for this run (repeatable)",
    )
    group.addoption(
        "--grid",
        choices=("quick", "full"),
        default="full",
        help="operating-point grid: full (type test) or quick (detection matrix)",
    )
    group.addoption(
        "--report-dir",
        default="reports",
        metavar="DIR",
        help="where run output goes: DIR/<run-id>/<profile>/ (default reports)",
    )
    group.addoption("--run-id", default=None, help="name of this run's folder (default: date and time)")
    group.addoption(
        "--clause",
        action="append",
        default=[],
        metavar="KEY",
        help="run only cases of this clause or clause group, e.g. changji:4.2.10 (repeatable)",
    )
    parser.addini("bench_profile", "default bench profile", default=DEFAULT_PROFILE)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.addinivalue_line("markers", "clause(key): the clause a case checks, e.g. changji:4.2.10.5")
    config.addinivalue_line("markers", "dut(kind): the kind of DUT a case applies to: ac or dc")
    config.addinivalue_line("markers", "judges(*keys): the limit keys a case judges (summary.json not_covered)")
    config.addinivalue_line("markers", "operating_points(grid): parametrise operating_point from a grid")
    from bench.session.context import RunContext
    from bench.session.shutdown import SHUTDOWN

    try:
        context = RunContext.from_config(config)
        if context.wants_bench and (hasattr(config, "workerinput") or config.getoption("numprocesses", None)):
            raise BenchError("the conformance suite runs in one process: a bench has one set of instruments (drop -n)")
        if context.wants_bench:
            context.start_record()
    except BenchError as exc:  # a profile mistake, a run folder that exists: one line, exit 2
        pytest.exit(f"bench: {exc}", returncode=2)
    config.stash[_CONTEXT] = context
    _ACTIVE["context"] = context  # for the report hooks, which get no config
    if not context.wants_bench:
        return
    SHUTDOWN.install()
    SHUTDOWN.watch_parent()
    _start_progress(config)
    # Conformance runs write Allure results into the run folder unless told otherwise.
    if not getattr(config.option, "allure_report_dir", None):
        config.option.allure_report_dir = str(context.run_dir / "allure-results")


_CONTEXT = pytest.StashKey()
_PROGRESS = pytest.StashKey()
_ACTIVE: dict = {}


def _start_progress(config) -> None:
    """Live progress of long waits (real hardware) on the real terminal or pipe.

    pytest captures file descriptor 1 during a test; a duplicate of it taken now (capture is
    paused during configure) is not redirected. An xdist worker has no terminal of its own."""
    if hasattr(config, "workerinput"):
        return
    from bench.session.progress import WaitProgress

    try:
        stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", errors="replace")
    except (AttributeError, OSError, ValueError):
        return
    config.stash[_PROGRESS] = WaitProgress.for_stream(stream)


def pytest_unconfigure(config):
    progress = config.stash.get(_PROGRESS, None)
    if progress is not None:
        progress.stream.close()


def _context(config):
    return config.stash[_CONTEXT]


def pytest_generate_tests(metafunc):
    """``@pytest.mark.operating_points("<grid name>")`` parametrises ``operating_point`` from
    bench/api/grids.toml with the run's --grid."""
    marker = metafunc.definition.get_closest_marker("operating_points")
    if marker is None or "operating_point" not in metafunc.fixturenames:
        return
    from bench.api.base import load_grid

    points = load_grid(marker.args[0], metafunc.config.getoption("--grid"))
    metafunc.parametrize("operating_point", points, ids=[_point_id(p) for p in points])


def _point_id(point) -> str:
    if isinstance(point, (list, tuple)):
        return "-".join(_point_id(p) for p in point)
    return point if isinstance(point, str) else f"{point:g}"


def pytest_collection_modifyitems(config, items):
    """Allure labels from each case's clause (epic = document, feature = clause group, story =
    clause), also for skipped cases; ``--clause changji:4.2.10`` keeps only matching cases."""
    from bench.session.evidence import clause_labels

    for item in items:
        for marker in list(item.iter_markers("clause")):
            for label_type, value in zip(("epic", "feature", "story"), clause_labels(marker.args[0])):
                item.add_marker(pytest.mark.allure_label(value, label_type=label_type))
    wanted = config.getoption("--clause")
    keep, drop = list(items), []
    if wanted:
        keep = []
        for item in items:
            clauses = [m.args[0] for m in item.iter_markers("clause")]
            (
                keep
                if any(c == w or c.startswith(w + ".") or c.startswith(w + ":") for c in clauses for w in wanted)
                else drop
            ).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    _context(config).note_cases([_case_info(item, True) for item in keep] + [_case_info(item, False) for item in drop])


def pytest_deselected(items):
    """-k and -m deselect after this plugin's collection hook: their cases are not selected."""
    if not items:
        return
    context = _context(items[0].config)
    if context.record is None or context.record.cases is None:  # --clause: noted with the cases
        return
    gone = {item.nodeid for item in items}
    context.note_cases(
        [dataclasses.replace(c, selected=False) if c.nodeid in gone else c for c in context.record.cases]
    )


def _case_info(item, selected: bool):
    from bench.report.coverage import CaseInfo

    return CaseInfo(
        nodeid=item.nodeid,
        clauses=tuple(m.args[0] for m in item.iter_markers("clause")),
        kinds=tuple(m.args[0] for m in item.iter_markers("dut")),
        judges=tuple(k for m in item.iter_markers("judges") for k in m.args),
        selected=selected,
    )


def _clause_of(item) -> str | None:
    clauses = [m.args[0] for m in item.iter_markers("clause")]
    return ", ".join(clauses) if clauses else None


def pytest_runtest_setup(item):
    kinds = [m.args[0] for m in item.iter_markers("dut")]
    context = _context(item.config)
    profile = context.profile()
    if kinds and profile.dut.kind not in kinds:
        pytest.skip(
            f"{'/'.join(k.upper() for k in kinds)} case; the profile's DUT "
            f"({profile.dut.model}) is a {profile.dut.kind.upper()} pile"
        )
    _skip_unknown_figures(item, profile.dut.standard_edition)


def _skip_unknown_figures(item, edition_name: str) -> None:
    """A case that judges a limit whose figure the DUT's edition does not give is not run
    (bench/core/editions.py): never a verdict from another edition's figure."""
    from bench.core.limits import limits_for

    limits = limits_for(edition_name)
    declared = sorted({key for marker in item.iter_markers("judges") for key in marker.args})
    unknown = [key for key in declared if key in limits.unknown]
    if unknown:
        pytest.skip(
            f"{limits.edition.pair}: the bench does not know the figure of {', '.join(unknown)} for this edition "
            "(the limits table gives it for the 2015/2017 pair only): not judged"
        )


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    from bench.core.editions import FigureNotKnown

    _name_parameters(pyfuncitem)
    try:
        result = yield
    except FigureNotKnown as exc:  # a figure looked up on the way, not one the case declares
        pytest.skip(str(exc))
    context = _context(pyfuncitem.config)
    if context.session is not None:
        from bench.session.protocol_checks import judge_protocol

        judge_protocol(context.session)  # the charger's frames in this test, before its verdict
        failed = context.session.recorder.failures_of(pyfuncitem.nodeid)
        if failed:
            lines = "\n".join("  " + check.summary() for check in failed)
            # The checks are the verdict: no traceback of this plugin's source.
            pytest.fail(f"{len(failed)} check(s) did not pass:\n{lines}", pytrace=False)
        _check_declarations(pyfuncitem, context.session.recorder.keys_of(pyfuncitem.nodeid))
    return result


def _name_parameters(item) -> None:
    """The Allure parameters of a grid point by name and unit ("current limit = 16 A"), in place
    of pytest's bare "operating_point: '16.0'"."""
    marker = item.get_closest_marker("operating_points")
    callspec = getattr(item, "callspec", None)
    if marker is None or callspec is None or "operating_point" not in callspec.params:
        return
    from bench.api.base import point_parameters
    from bench.session.evidence import name_parameters

    name_parameters(point_parameters(marker.args[0], callspec.params["operating_point"]))


def _check_declarations(item, judged: set[str]) -> None:
    """A case judges exactly the limit keys it declares (``judges``): one that ends without
    judging a declared key, or judges an undeclared one, fails, naming the key."""
    from bench.session.protocol_checks import PROTOCOL_KEYS

    declared = {key for marker in item.iter_markers("judges") for key in marker.args}
    # The bench judges the charger's frames in every DC session: those keys need no declaration.
    missing, undeclared = sorted(declared - judged), sorted(judged - declared - set(PROTOCOL_KEYS))
    if missing:
        pytest.fail(f"declared limit key(s) not judged: {', '.join(missing)}", pytrace=False)
    if undeclared:
        pytest.fail(
            f"limit key(s) judged without being declared (@pytest.mark.judges): {', '.join(undeclared)}", pytrace=False
        )


# -- the run record: after every test, and at the end -------------------------------------
def pytest_runtest_logreport(report):
    context = _ACTIVE.get("context")
    if context is None or context.record is None:
        return
    reason = None
    if report.skipped:
        reason = _skip_reason(report)
    elif report.failed:
        reason = _failure_line(report)
    item_clause = getattr(report, "bench_clause", None)
    context.record.test_report(report.nodeid, item_clause, report.when, report.outcome, report.duration, reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    report.bench_clause = _clause_of(item)
    return report


def pytest_sessionstart(session):
    _ACTIVE["session"] = session


def pytest_collection_finish(session):
    context = session.config.stash.get(_CONTEXT, None)
    if context is not None and context.record is not None:
        context.record.write()  # the cases are known: a crash from here on says which were not run


@pytest.hookimpl(trylast=True)
def pytest_runtest_logfinish(nodeid, location):
    from bench.session.shutdown import SHUTDOWN

    context = _ACTIVE.get("context")
    if context is not None and context.record is not None:
        context.record.write()  # atomically, after every test: a crash keeps every finished test
    session = _ACTIVE.get("session")
    if SHUTDOWN.requested and session is not None:  # a stop between tests: no further test starts
        session.shouldstop = f"stopped by {SHUTDOWN.requested}"


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    """After pytest's own teardown of the fixtures (so the last safe state is in the record)."""
    from bench.session.shutdown import SHUTDOWN

    context = session.config.stash.get(_CONTEXT, None)
    if context is None:
        return
    context.close_session()  # the safe state; a stop request during it waits for it to finish
    if context.record is None:
        return
    if SHUTDOWN.requested:
        reason = f"interrupted ({SHUTDOWN.requested})"
        session.exitstatus = pytest.ExitCode.INTERRUPTED
    elif context.record.end_reason:  # refused (type-test guard), or the bench could not be opened
        reason = context.record.end_reason
    elif int(exitstatus) in (0, 1) and context.record.all_finished():
        reason = "finished"
    else:
        reason = f"ended early (pytest exit status {int(exitstatus)})"
    summary = context.close_record(reason, complete=reason == "finished")
    context.summary = summary
    results = getattr(session.config.option, "allure_report_dir", None)
    if summary is not None and results:
        _write_allure_environment(Path(results), summary, context)
    SHUTDOWN.uninstall()


def _write_allure_environment(results: Path, summary: dict, context) -> None:
    """The Allure environment of the run (DUT, profile hash, instruments), then the record once
    more, so that summary.json's evidence lists the environment file too."""
    try:
        from bench.report.allure_environment import write_environment
    except ImportError:
        return
    results.mkdir(parents=True, exist_ok=True)
    write_environment(results, summary)
    context.summary = context.record.write()


def pytest_terminal_summary(terminalreporter):
    context = terminalreporter.config.stash.get(_CONTEXT, None)
    summary = getattr(context, "summary", None) if context is not None else None
    if summary is None:
        return
    from bench.report.totals import totals_line

    terminalreporter.write_line(totals_line(summary, context.run_dir / "summary.json"))


@contextlib.contextmanager
def _uncaptured(config):
    """Write to the real terminal from inside a test (pytest captures its output)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        yield
        return
    with capture.global_and_fixture_disabled():
        yield


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        text = str(longrepr[2])
    else:
        text = str(longrepr)
    return text.removeprefix("Skipped: ").strip()


def _failure_line(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else report.longreprtext
    return (text.strip().splitlines() or [""])[0][:300]


# -- fixtures ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def bench_session(request):
    """The bench for this run, opened on first use and closed (safe state) at the end."""
    from bench.session.instrument_guard import REFUSED_EXIT_CODE, TypeTestRefused
    from bench.session.session import EnergiseRefused

    context = _context(request.config)
    try:
        return context.open_session()
    except ProfileError as exc:
        pytest.exit(f"bench: {exc}", returncode=2)
    except TypeTestRefused as refused:
        _refuse(request.config, context, refused)
    except EnergiseRefused as refused:  # E-stop input open, inlet live: nothing was switched on
        if context.record is not None:
            context.record.end_reason = str(refused)
        pytest.exit(f"bench: {refused}", returncode=REFUSED_EXIT_CODE)
    except BenchError as exc:  # an instrument that does not answer: once, not once per test
        if context.record is not None:
            context.record.end_reason = f"the bench could not be opened: {exc}"
        pytest.exit(f"bench: the bench could not be opened: {exc}", returncode=2)


def _refuse(config, context, refused) -> None:
    """A type test refused before energising: one line per problem, exit code 3."""
    from bench.session.instrument_guard import REFUSED_EXIT_CODE

    with _uncaptured(config):
        for problem in refused.problems:
            sys.stderr.write(f"bench: type-test refused: {problem.line()}\n")
    if context.record is not None:
        context.record.end_reason = f"refused: {len(refused.problems)} instrument problem(s) (type-test)"
    pytest.exit(
        f"bench: type-test refused before energising ({len(refused.problems)} instrument problem(s))",
        returncode=REFUSED_EXIT_CODE,
    )


@pytest.fixture
def bench(request, bench_session):
    """The test's bench (AcBench or DcBench); teardown runs the safe-state sequence."""
    from bench.api import facade_for
    from bench.session.progress import case_label

    progress = request.config.stash.get(_PROGRESS, None)
    bench_session.clock.progress = progress  # a virtual clock never reports
    if progress is not None:
        progress.case = case_label([m.args[0] for m in request.node.iter_markers("clause")], request.node.name)
    bench_session.begin_test(request.node)
    try:
        yield facade_for(bench_session, grid=request.config.getoption("--grid"))
    finally:
        try:
            bench_session.end_test(request.node)  # the safe state's waits still carry the case
        finally:
            if progress is not None:
                progress.case = ""


def _role_fixture(role):
    @pytest.fixture
    def fixture(bench_session):
        return bench_session.instrument(role)

    fixture.__doc__ = f"The bench's {role} driver (skips when the profile has none)."
    return fixture


scope = _role_fixture("scope")
analyzer = _role_fixture("analyzer")
load = _role_fixture("load")
battery = _role_fixture("battery")
ev = _role_fixture("ev")
grid = _role_fixture("grid")
