"""The detection matrix: every conformance case fails against a simulated pile that breaks its
rule and passes against one just inside it (tests/matrix/harness.py).

Rows live next to the cases they exercise: rows_ac.py, rows_dc.py, rows_platform.py. Run in
parallel with pytest-xdist (-n 2); each row is its own pytest process, on the case files its
parameter concerns (``BENCH_MATRIX=full``: the whole suite; harness.case_files).
"""

from __future__ import annotations

import pytest

from bench.core import sim_parameters
from tests.matrix import rows_ac, rows_dc, rows_platform
from tests.matrix.harness import case_files, declarations, explain, run_row

ROWS = rows_ac.ROWS + rows_dc.ROWS + rows_platform.ROWS
DECLARED = declarations()


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_row(row, tmp_path):
    outcome = run_row(row, tmp_path, case_files(row, ROWS, DECLARED))
    assert outcome.verdicts, f"the run produced no checks:\n{outcome.output[-3000:]}"
    failing = outcome.failing() - row.invalid
    missing, extra = row.fails - failing, failing - row.fails
    not_invalid = {key for key in row.invalid if outcome.verdicts.get(key) != {"invalid"}}
    assert not not_invalid, f"{row.id}: expected only invalid checks of:\n{explain(outcome, not_invalid)}"
    assert not missing and not extra, (
        f"{row.id}: expected to fail {sorted(row.fails)}, failed {sorted(failing)}\n"
        f"missing:\n{explain(outcome, missing)}\nunexpected:\n{explain(outcome, extra)}\n"
        f"--- run output (tail) ---\n{outcome.output[-2000:]}"
    )
    # A row only proves something if the keys it names were judged at all.
    assert row.fails <= set(outcome.verdicts), f"keys never judged: {sorted(row.fails - set(outcome.verdicts))}"


def test_every_rule_breaker_has_a_row_past_and_a_row_inside():
    breakers = {name for name, p in sim_parameters.PARAMETERS.items() if p.breaks}
    past = {row.parameter for row in ROWS if row.fails}
    inside = {row.parameter for row in ROWS if row.parameter and not row.fails}
    assert breakers - past == set(), f"no row past the limit for {sorted(breakers - past)}"
    assert breakers - inside == set(), f"no row inside the limit for {sorted(breakers - inside)}"
