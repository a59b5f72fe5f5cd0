"""Relative paths in a profile resolve against the profile's folder, never the working
directory: the platform register map, the vehicle's extension DBC and the EV simulator's
register map (``[instruments.ev] options.map``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench.core.errors import ProfileError
from bench.core.profile import load_profile
from instruments import registry
from instruments.ev.modbus_ev_simulator import DEFAULT_MAP, map_path

ROOT = Path(__file__).resolve().parents[1]


def lab_folder(tmp_path: Path, map_line: str) -> Path:
    """A lab's folder: its profile, the platform map and its own copy of the EV map beside it."""
    lab = tmp_path / "lab"
    (lab / "maps").mkdir(parents=True)
    shutil.copy(ROOT / "bench/protocols/platform/maps/sim-dc-charger.toml", lab / "maps" / "charger.toml")
    shutil.copy(DEFAULT_MAP, lab / "maps" / "ev-board.toml")
    text = (ROOT / "profiles" / "sim-dc-60kw.toml").read_text(encoding="utf-8")
    text = text.replace('map = "../bench/protocols/platform/maps/sim-dc-charger.toml"', 'map = "maps/charger.toml"')
    # The shipped profile has an [instruments.ev.options] table (issue 13: insulation_ohm): the
    # lab's map goes into it.
    text = text.replace("[instruments.ev.options]\n", f"[instruments.ev.options]\n{map_line}\n", 1)
    (lab / "profile.toml").write_text(text, encoding="utf-8")
    return lab


def test_relative_paths_resolve_against_the_profile_folder(tmp_path, monkeypatch):
    lab = lab_folder(tmp_path, 'map = "maps/ev-board.toml"')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the run starts from another folder
    profile = load_profile(lab / "profile.toml", registry.transports())
    ev_map = profile.instruments["ev"].options["map"]
    assert Path(ev_map) == (lab / "maps" / "ev-board.toml").resolve()
    assert map_path(profile.instruments["ev"].options) == Path(ev_map)  # what the driver opens
    assert profile.dut.modbus.map_file == (lab / "maps" / "charger.toml").resolve()
    assert Path(os.getcwd()) == elsewhere


def test_a_relative_map_that_is_not_there_is_one_line_naming_the_key(tmp_path, monkeypatch):
    lab = lab_folder(tmp_path, 'map = "maps/missing.toml"')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProfileError) as error:
        load_profile(lab / "profile.toml", registry.transports())
    text = str(error.value)
    assert "\n" not in text and "instruments.ev.options.map" in text and "missing.toml" in text
