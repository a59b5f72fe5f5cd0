"""The layer rules of docs/design.md#layers-and-the-import-contract as an import contract
(import-linter, [tool.importlinter] in pyproject.toml): primitives import nothing above them;
drivers never the simulated bench; the simulated bench never drivers, session or test cases;
the bench reaches the simulated bench only through its launcher; test cases use only the
session API and analysis."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = "from importlinter.cli import lint_imports_command; import sys; sys.exit(lint_imports_command())"


def lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, "-c", LINT], cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def test_the_layers_hold():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_a_simulator_importing_a_driver_breaks_the_contract(tmp_path):
    for package in ("bench", "instruments", "testcases"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    sim = tmp_path / "instruments" / "sim" / "bench.py"
    sim.write_text(
        "import instruments.scpi  # a shortcut past the wire\n" + sim.read_text(encoding="utf-8"), encoding="utf-8"
    )
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "The simulated bench never imports drivers, the session or test cases BROKEN" in result.stdout
