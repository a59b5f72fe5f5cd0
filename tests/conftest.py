"""The project's own tests: figures measured by tests (tests/figures.py) are printed together
at the end of the run."""

from tests.figures import figures, pytest_configure, pytest_terminal_summary  # noqa: F401
