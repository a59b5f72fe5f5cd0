"""Detection-matrix rows for the DC charger's own cases (testcases/dc)."""

from tests.matrix.harness import Row

ROWS: list[Row] = [
    Row("dc", "", None, frozenset()),
]
