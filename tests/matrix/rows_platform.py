"""Detection-matrix rows for the platform cases (testcases/platform), AC and DC."""

from tests.matrix.harness import Row

ROWS: list[Row] = []
