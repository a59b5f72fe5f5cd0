"""Each case declares the limit keys it judges (``@pytest.mark.judges``). A case that ends
without judging a declared key fails, naming the key; so does one that judges a key it did
not declare. Every case of the suite declares its keys, and only keys of the limits table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bench.core.limits import load_limits
from tests.support.runs import run_case_file

ROOT = Path(__file__).resolve().parents[1]

CASE = """
import pytest

pytestmark = pytest.mark.dut("ac")


@pytest.mark.judges({declared})
def test_case(bench):
    {body}
"""
VARIANTS = {
    "judges what it declares": (
        '"changji:4.2.9.5:pwm_frequency"',
        'bench.check("changji:4.2.9.5:pwm_frequency", 1000.0)',
        0,
        None,
    ),
    "returns early without judging": (
        '"changji:4.2.9.5:pwm_frequency"',
        "return",
        1,
        "declared limit key(s) not judged: changji:4.2.9.5:pwm_frequency",
    ),
    "judges an undeclared key": (
        '"changji:4.2.9.5:pwm_frequency"',
        'bench.check("changji:4.2.9.5:pwm_frequency", 1000.0); bench.check("gbt18487.1:A:cp_state1_voltage", 12.0)',
        1,
        "judged without being declared (@pytest.mark.judges): gbt18487.1:A:cp_state1_voltage",
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_case_judges_exactly_what_it_declares(tmp_path, variant):
    declared, body, code, says = VARIANTS[variant]
    case = tmp_path / "test_declared.py"
    case.write_text(CASE.format(declared=declared, body=body), encoding="utf-8")
    done = run_case_file(case, "profiles/sim-ac-7kw.toml", tmp_path / "reports", "d")
    assert done.returncode == code, done.stdout[-2000:]
    if says:
        assert says in done.stdout


def test_every_case_of_the_suite_declares_known_keys():
    keys = set(load_limits().keys())
    for path in sorted((ROOT / "testcases").rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                declared = [
                    arg.value
                    for deco in node.decorator_list
                    if isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "judges"
                    for arg in deco.args
                ]
                assert declared, f"{path.name}::{node.name} declares no limit keys"
                assert set(declared) <= keys, f"{path.name}::{node.name}: {set(declared) - keys} not in the table"
