"""Figures the project's tests measure (reaction times, faults injected, fuzz cases tried, soak
memory), printed together at the end of the test run.

Speed and memory goals are shown by figures, not by timed assertions. A test records a figure
with the ``figures`` fixture; under pytest-xdist each worker appends to one shared file (its
path handed down in an environment variable), and the controller prints them all in the
terminal summary, so they show in CI's log whatever the capture.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

FIGURES_ENV = "BENCH_TEST_FIGURES"


class Figures:
    def __init__(self, path: Path):
        self.path = path

    def add(self, topic: str, name: str, value: str) -> None:
        """One figure: ``topic`` groups them ("watchdog reaction", "fuzz cases tried", …)."""
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps([topic, name, value], ensure_ascii=False) + "\n")


def pytest_configure(config):
    if not hasattr(config, "workerinput") and FIGURES_ENV not in os.environ:
        handle, path = tempfile.mkstemp(prefix="bench-test-figures-", suffix=".jsonl")
        os.close(handle)
        os.environ[FIGURES_ENV] = path  # inherited by xdist workers, started after configure
        config._bench_figures_path = path


@pytest.fixture(scope="session")
def figures() -> Figures:
    return Figures(Path(os.environ[FIGURES_ENV]))


def record(topic: str, name: str, value: str) -> None:
    """``figures.add`` without the fixture (helpers deep in a test module); printed instead
    when the tests run without this conftest (a single file run from elsewhere)."""
    path = os.environ.get(FIGURES_ENV)
    if path:
        Figures(Path(path)).add(topic, name, value)
    else:
        print(f"{topic}: {name}: {value}")


def pytest_terminal_summary(terminalreporter, config):
    path = getattr(config, "_bench_figures_path", None)
    if path is None or not os.path.exists(path):
        return
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    os.unlink(path)
    if not rows:
        return
    terminalreporter.section("figures measured by the tests")
    for topic in dict.fromkeys(topic for topic, _, _ in rows):
        terminalreporter.write_line(f"{topic}:")
        for _, name, value in (r for r in rows if r[0] == topic):
            terminalreporter.write_line(f"  {name}: {value}")
