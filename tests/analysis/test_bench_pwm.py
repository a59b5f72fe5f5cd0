"""`bench pwm FILE` on the vendors' export layouts (tests/data/scope/, written by make_exports.py
from one record with a known truth), the bench's own .npz, and files it cannot read."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.analysis.scope_exports import ScopeFileError, read_scope_export
from bench.commands import pwm

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "scope"
EXPORTS = {
    "keysight-infiniivision.csv": "keysight",
    "tektronix-tds2000.csv": "tektronix-tds",
    "tektronix-mdo3000.csv": "tektronix",
    "rigol-ds1000z.csv": "rigol",
    "siglent-sds1000x-e.csv": "siglent",
    "generic.csv": "generic",
    "bench-record.npz": "npz",
}
TRUTH = {"frequency_hz": (1000.0, 0.1), "duty_pct": (30.0, 0.05), "high_v": (9.0, 0.02), "low_v": (-12.0, 0.02)}


def bench_pwm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", "pwm", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_each_layout_gives_the_record_and_its_truth(name):
    record = read_scope_export(DATA / name)
    assert record.format == EXPORTS[name]
    assert len(record.volts) == 3500 and record.sample_interval_s == pytest.approx(1e-6, rel=1e-6)
    assert record.times[0] == pytest.approx(-0.5e-3, abs=1e-9)
    done = bench_pwm(str(DATA / name), "--json", "--judge")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["pwm"] and report["cycles"] == 3 and len(report["per_cycle"]["rows"]) == 3
    for figure, (value, tolerance) in TRUTH.items():
        assert report["figures"][figure]["value"] == pytest.approx(value, abs=tolerance), figure
        assert report["figures"][figure]["U"] > 0
    assert report["figures"]["rise_s"]["value"] == pytest.approx(1.6e-6, abs=0.2e-6)
    assert [v["verdict"] for v in report["verdicts"]] == ["pass"] * 5


def test_the_text_output_names_the_format_and_prints_the_table():
    done = bench_pwm(str(DATA / "rigol-ds1000z.csv"))
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].endswith("rigol export, CH1, 3500 samples at 1 µs (1 MS/s)")
    assert "3 full cycle(s)" in lines[1] and any(line.strip().startswith("duty (%)") for line in lines)
    assert "the duty offers 18.0 A" in done.stdout


def test_a_second_channel_is_read_by_its_number(tmp_path):
    record = read_scope_export(DATA / "keysight-infiniivision.csv", channel=2)
    assert record.channel == "channel 2" and np.allclose(record.volts, 0.1)
    with pytest.raises(ScopeFileError, match="channel 3: the file has 2"):
        read_scope_export(DATA / "keysight-infiniivision.csv", channel=3)


def test_a_noisy_flat_line_is_no_pwm(tmp_path):
    path = tmp_path / "flat.csv"
    rng = np.random.default_rng(5)
    path.write_text("".join(f"{i * 1e-6:.9f},{9 + rng.normal(0, 0.5):.4f}\n" for i in range(5000)))
    done = bench_pwm(str(path))
    assert done.returncode == 0 and "no PWM: a DC level of 9.0" in done.stdout


def test_a_pile_off_frequency_fails_its_verdict_with_exit_1(tmp_path):
    from tests.analysis.synthetic import cp_record

    times, volts = cp_record(30.0, frequency_hz=1040.0, rate=1e6, periods=4)
    path = tmp_path / "fast.csv"
    path.write_text("".join(f"{t:.9f},{v:.5f}\n" for t, v in zip(times, volts)))
    done = bench_pwm(str(path), "--judge")
    assert done.returncode == pwm.SOME_NOT_PASS
    assert "fail    changji:4.2.9.5:pwm_frequency" in done.stdout


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("", "empty file"),
        ("hello,world\nthis,is\nnot,a record\n", "no known scope export layout"),
        ("time,volts\n0.0,1.0\n0.000001,x\n", "a data line is not numbers"),
        ("0.0,1.0\n0.000001,1.0\n0.000005,1.0\n0.000006,1.0\n", "the times are not evenly spaced"),
        ("0.0,1.0\n", "fewer than two samples"),
    ],
)
def test_a_file_it_cannot_read_gets_one_line_saying_why(tmp_path, content, why):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    done = bench_pwm(str(path))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and why in done.stderr and str(path) in done.stderr


def test_a_file_that_is_not_text_or_not_there(tmp_path):
    binary = tmp_path / "record.bin"
    binary.write_bytes(b"\xff\xfe\x00\x80" * 10)
    assert "not a text export" in bench_pwm(str(binary)).stderr
    assert "no such file" in bench_pwm(str(tmp_path / "missing.csv")).stderr
    npz = tmp_path / "other.npz"
    np.savez(npz, x=np.zeros(3))
    assert "not a bench record" in bench_pwm(str(npz)).stderr
