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

import pytest

from bench.core.errors import ProfileError

DEFAULT_PROFILE = "profiles/sim-ac-7kw.toml"


def pytest_addoption(parser):
    group = parser.getgroup("bench", "charger conformance bench")
    group.addoption("--profile", default=None, metavar="FILE",
                    help=f"bench profile (TOML); default {DEFAULT_PROFILE}")
    group.addoption("--sim-set", action="append", default=[], metavar="KEY=VALUE",
                    help="override one [sim] parameter for this run (repeatable)")
    group.addoption("--grid", choices=("quick", "full"), default="full",
                    help="operating-point grid: full (type test) or quick (detection matrix)")
    group.addoption("--report-dir", default="reports", metavar="DIR",
                    help="where run output goes: DIR/<run-id>/<profile>/ (default reports)")
    group.addoption("--run-id", default=None, help="name of this run's folder (default: date and time)")
    group.addoption("--clause", action="append", default=[], metavar="KEY",
                    help="run only cases of this clause or clause group, e.g. changji:4.2.10 (repeatable)")
    parser.addini("bench_profile", "default bench profile", default=DEFAULT_PROFILE)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.addinivalue_line("markers", "clause(key): the clause a case checks, e.g. changji:4.2.10.5")
    config.addinivalue_line("markers", "dut(kind): the kind of DUT a case applies to: ac or dc")
    config.addinivalue_line("markers", "operating_points(grid): parametrise operating_point from a grid")
    from bench.session.context import RunContext

    context = RunContext.from_config(config)
    config.stash[_CONTEXT] = context
    # Conformance runs write Allure results into the run folder unless told otherwise.
    if context.wants_bench and not getattr(config.option, "allure_report_dir", None):
        config.option.allure_report_dir = str(context.run_dir / "allure-results")


_CONTEXT = pytest.StashKey()


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
        return "-".join(f"{p:g}" for p in point)
    return f"{point:g}"


def pytest_collection_modifyitems(config, items):
    """Allure labels from each case's clause (epic = document, feature = clause group, story =
    clause), also for skipped cases; ``--clause changji:4.2.10`` keeps only matching cases."""
    from bench.session.evidence import clause_labels

    for item in items:
        for marker in list(item.iter_markers("clause")):
            for label_type, value in zip(("epic", "feature", "story"), clause_labels(marker.args[0])):
                item.add_marker(pytest.mark.allure_label(value, label_type=label_type))
    wanted = config.getoption("--clause")
    if not wanted:
        return
    keep, drop = [], []
    for item in items:
        clauses = [m.args[0] for m in item.iter_markers("clause")]
        (keep if any(c == w or c.startswith(w + ".") or c.startswith(w + ":") for c in clauses for w in wanted)
         else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_runtest_setup(item):
    kinds = [m.args[0] for m in item.iter_markers("dut")]
    if not kinds:
        return
    context = _context(item.config)
    profile = context.profile()
    if profile.dut.kind not in kinds:
        pytest.skip(f"{'/'.join(k.upper() for k in kinds)} case; the profile's DUT "
                    f"({profile.dut.model}) is a {profile.dut.kind.upper()} pile")


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    result = yield
    context = _context(pyfuncitem.config)
    if context.session is not None:
        failed = context.session.recorder.failures_of(pyfuncitem.nodeid)
        if failed:
            lines = "\n".join("  " + check.summary() for check in failed)
            raise AssertionError(f"{len(failed)} check(s) did not pass:\n{lines}")
    return result


def pytest_sessionfinish(session, exitstatus):
    context = session.config.stash.get(_CONTEXT, None)
    if context is not None:
        context.close()


# -- fixtures ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def bench_session(request):
    """The bench for this run, opened on first use and closed (safe state) at the end."""
    context = _context(request.config)
    try:
        return context.open_session()
    except ProfileError as exc:
        pytest.exit(f"bench: {exc}", returncode=2)


@pytest.fixture
def bench(request, bench_session):
    """The test's bench (AcBench or DcBench); teardown runs the safe-state sequence."""
    from bench.api import facade_for

    bench_session.begin_test(request.node)
    try:
        yield facade_for(bench_session, grid=request.config.getoption("--grid"))
    finally:
        bench_session.end_test(request.node)


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
