"""The limits table: every limit a case judges against is in it, with a source and a
confidence; judging follows simple acceptance; readings that are no number are invalid."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from bench.core.limits import load_limits

ROOT = Path(__file__).resolve().parents[1]
TABLE = load_limits()
KEY_IN_CODE = re.compile(r'"((?:changji|gbt18487\.1|gbt27930|nbt33001|gbt34657\.1):[^"\s]+:[a-z0-9_]+)"')


def keys_used_by_cases() -> set[str]:
    used = set()
    for path in list((ROOT / "testcases").rglob("*.py")) + list((ROOT / "bench" / "api").rglob("*.py")):
        used |= set(KEY_IN_CODE.findall(path.read_text(encoding="utf-8")))
    return used


def test_every_key_a_case_uses_is_in_the_table():
    missing = keys_used_by_cases() - set(TABLE.keys())
    assert not missing, f"limits used but not in bench/core/limits.toml: {sorted(missing)}"


def test_every_limit_has_a_source_and_a_confidence():
    for limit in TABLE.values():
        assert limit.source.strip() and limit.confidence in ("T", "I", "U"), limit.key
        if limit.confidence == "U":
            assert "docs/limits.md" in limit.source or limit.note, f"{limit.key}: a U figure says where it comes from"


def test_simple_acceptance_on_the_boundary_and_exclusive_bounds():
    power = TABLE["changji:4.2.10.5:power_error"]  # ±2 % of the set power (here 12 kW: ±240 W)
    assert (
        power.judge_reading(12240.0, reference=12000.0).verdict == "pass"
        and power.judge_reading(12240.012, reference=12000.0).verdict == "fail"
    )
    aux = TABLE["changji:4.2.10.4:aux_off_duration"]  # "more than 10 s"
    assert aux.judge(10.0).verdict == "fail" and aux.judge(10.01).verdict == "pass"


@pytest.mark.parametrize("reading", [None, math.nan, math.inf, 9.9e37, 9.91e37, "NAN"])
def test_a_reading_that_is_no_number_is_invalid_never_judged(reading):
    assert TABLE["nbt33001:output:voltage_error"].judge(reading, reference=500.0).verdict == "invalid"


def test_relative_limits_use_the_reference_and_the_floor():
    upload = TABLE["changji:4.2.4:upload_voltage_error"]  # max(±1 % of reading, ±0.5 V)
    assert upload.judge(0.45, reference=20.0).verdict == "pass"  # 1 % of 20 V = 0.2 V < floor
    assert upload.judge(2.1, reference=220.0).verdict == "pass"  # 1 % of 220 V = 2.2 V
    assert upload.judge(2.3, reference=220.0).verdict == "fail"
