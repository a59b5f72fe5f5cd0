"""The detection matrix reads the cases' declarations (``@pytest.mark.judges``): every key a
row must fail is declared by a case, and every case has a row that breaks one of its keys, so
no case goes unproven. Declared keys that no row breaks yet are listed as a figure."""

from __future__ import annotations

from tests.figures import record
from tests.matrix import rows_ac, rows_dc, rows_platform
from tests.matrix.harness import declarations

ROWS = rows_ac.ROWS + rows_dc.ROWS + rows_platform.ROWS


def test_rows_break_only_declared_keys_and_every_case_has_a_row():
    declared = declarations()
    every_key = set().union(*declared.values())
    broken = {key for row in ROWS for key in row.fails}
    assert broken <= every_key, f"rows name keys no case declares: {sorted(broken - every_key)}"
    unproven = [case for case, keys in declared.items() if not keys & broken]
    assert not unproven, f"cases no row makes fail: {unproven}"
    record("detection matrix", "declared keys no row breaks yet", ", ".join(sorted(every_key - broken)) or "none")
