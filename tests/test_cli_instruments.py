"""`bench instruments` on both simulated profiles lists every instrument with its identity,
reached through pyvisa-py (SCPI), pymodbus (EV simulator) and python-can (CAN)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.core.profile import load_profile
from instruments import registry

ROOT = Path(__file__).resolve().parents[1]


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("name", ["sim-ac-7kw", "sim-dc-60kw"])
def test_every_instrument_answers_with_its_identity(name):
    result = bench("instruments", "--profile", f"profiles/{name}.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    profile = load_profile(ROOT / f"profiles/{name}.toml", registry.transports())
    for role, config in profile.instruments.items():
        assert f"  {role:<9} {config.driver}" in result.stdout
        assert config.serial in result.stdout  # the identity the instrument itself reported
    assert result.stdout.count("model: matches") == len(profile.instruments)
    assert result.stdout.count("calibration: valid until") == len(profile.instruments)
    if profile.can is not None:
        assert "  can       python-can" in result.stdout and "250000 bit/s" in result.stdout


def test_a_broken_profile_is_one_line_and_opens_nothing(tmp_path):
    broken = tmp_path / "broken.toml"
    text = (ROOT / "profiles/sim-ac-7kw.toml").read_text(encoding="utf-8")
    text = text.replace('map = "../', f'map = "{ROOT.as_posix()}/')  # the copy lives elsewhere
    broken.write_text(text.replace('driver = "yokogawa-wt"', 'driver = "yokogawa-wt5000"'), encoding="utf-8")
    result = bench("instruments", "--profile", str(broken))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "instruments.analyzer.driver: unknown driver 'yokogawa-wt5000'" in lines[0]
