"""Hostile profiles: random bytes, binary, UTF-16, a BOM, NaN and ±inf in every numeric key,
deep nesting, a directory, huge numbers. Each is one ProfileError line naming the file; no
other exception and no NaN or inf gets through. Fuzzed with hypothesis under a time bound."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.core.errors import ProfileError
from bench.core.profile import load_profile
from instruments import registry

ROOT = Path(__file__).resolve().parents[1]
PROFILE = (ROOT / "profiles" / "sim-dc-60kw.toml").read_text(encoding="utf-8").replace('"../', f'"{ROOT}/')
NUMBER_LINE = re.compile(r"^(\w+) = (-?\d[\d_.e+-]*)\s*(#.*)?$", re.MULTILINE)


def refused(path: Path) -> str:
    with pytest.raises(ProfileError) as error:
        load_profile(path, registry.transports())
    text = str(error.value)
    assert "\n" not in text and str(path) in text, text
    return text


def write(tmp_path: Path, data: bytes | str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


@pytest.mark.parametrize(
    "case",
    ["binary", "utf-16", "bom", "directory", "deep arrays", "deep tables", "huge integer", "empty", "endless integer"],
)
def test_a_hostile_file_is_one_profile_error(tmp_path, case):
    data = {
        "binary": bytes(range(256)) * 4,
        "utf-16": PROFILE.encode("utf-16"),
        "bom": "\ufeff" + PROFILE,
        "deep arrays": "x = " + "[" * 50000 + "]" * 50000 + "\n",
        "deep tables": "x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n",
        "huge integer": PROFILE.replace("rated_power_kw = 60.0", "rated_power_kw = " + "9" * 400),
        "empty": "",
        "endless integer": "x = " + "9" * 6000 + "\n",
    }.get(case)
    path = tmp_path / "dir.toml" if case == "directory" else write(tmp_path, data)
    if case == "directory":
        path.mkdir()
    refused(path)


NUMERIC_KEYS = sorted({m.group(1) for m in NUMBER_LINE.finditer(PROFILE)})


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "+nan"])
def test_nan_and_inf_are_refused_in_every_numeric_key(tmp_path, bad, figures):
    lines = PROFILE.splitlines()
    count = 0
    for index, line in enumerate(lines):
        match = NUMBER_LINE.match(line)
        if not match:
            continue
        changed = lines[:index] + [f"{match.group(1)} = {bad}"] + lines[index + 1 :]
        text = refused(write(tmp_path, "\n".join(changed) + "\n", f"n{index}.toml"))
        assert match.group(1) in text and "finite" in text, text
        count += 1
    figures.add("fuzz cases tried", f"profile loader, {bad} in each numeric key", str(count))
    assert count >= 20


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def test_fuzz_random_bytes(tmp_path, figures):
    tried = 0

    @FUZZ
    @given(st.binary(max_size=2000))
    def one(data):
        nonlocal tried
        tried += 1
        path = tmp_path / "p.toml"
        path.write_bytes(data)
        refused(path)

    one()
    figures.add("fuzz cases tried", "profile loader, random bytes", str(tried))


def test_fuzz_profile_mutations(tmp_path, figures):
    """The real profile with random text spliced in: valid or one ProfileError, nothing else."""
    tried = 0

    @FUZZ
    @given(st.integers(min_value=0, max_value=len(PROFILE) - 1), st.text(max_size=40))
    def one(at, insert):
        nonlocal tried
        tried += 1
        path = tmp_path / "p.toml"
        path.write_text(PROFILE[:at] + insert + PROFILE[at:], encoding="utf-8")
        try:
            load_profile(path, registry.transports())
        except ProfileError as error:
            assert "\n" not in str(error) and str(path) in str(error)

    one()
    figures.add("fuzz cases tried", "profile loader, profile mutations", str(tried))
