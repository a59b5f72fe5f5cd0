"""The standard editions (``[dut] standard_edition``, bench/core/editions.py): a limit of GB/T
18487.1 / GB/T 34657.1 takes another edition's figure only from its own ``editions`` table, with
its own source; where the table has none the bench judges nothing with it, and the run's
not_covered says so."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.core.editions import DEFAULT_EDITION, EDITIONS, FigureNotKnown
from bench.core.errors import BenchError, ProfileError
from bench.core.limits import limits_for, load_limits
from bench.core.profile import load_profile

ROOT = Path(__file__).resolve().parents[1]
NEWER = EDITIONS["GB/T 18487.1-2023"]

TABLE = """
["gbt18487.1:A:pwm_frequency"]
quantity = "PWM frequency"
unit = "Hz"
low = 970.0
high = 1030.0
source = "GB/T 18487.1-2015 Annex A"
confidence = "T"
editions = { "2023" = { low = 980.0, high = 1020.0, source = "GB/T 18487.1-2023 (made up)", confidence = "U" } }

["gbt18487.1:A:cp_state1_voltage"]
quantity = "CP state 1 voltage"
unit = "V"
low = 11.4
high = 12.6
source = "GB/T 18487.1-2015 Annex A"
confidence = "T"

["changji:4.2.6:command_response_time"]
quantity = "command response"
unit = "s"
high = 60.0
source = "Attachment 3 4.2.6"
confidence = "T"
"""


def table(tmp_path, text=TABLE):
    path = tmp_path / "limits.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_edition_takes_the_table_as_it_stands(tmp_path):
    limits = load_limits(table(tmp_path))
    assert limits.edition is DEFAULT_EDITION and not limits.unknown
    assert (limits["gbt18487.1:A:pwm_frequency"].low, limits["gbt18487.1:A:pwm_frequency"].source) == (
        970.0,
        "GB/T 18487.1-2015 Annex A",
    )


def test_another_edition_takes_its_own_figure_and_source_or_none(tmp_path):
    limits = load_limits(table(tmp_path), NEWER)
    frequency = limits["gbt18487.1:A:pwm_frequency"]
    assert (frequency.low, frequency.high, frequency.confidence) == (980.0, 1020.0, "U")
    assert frequency.source.startswith("GB/T 18487.1-2023")
    assert limits.unknown == {"gbt18487.1:A:cp_state1_voltage"}
    assert "gbt18487.1:A:cp_state1_voltage" in limits.keys()  # still reported, never judged
    with pytest.raises(FigureNotKnown, match="GB/T 18487.1-2023 / GB/T 34657.1-2025: the figure of gbt18487.1:A:cp"):
        limits["gbt18487.1:A:cp_state1_voltage"]
    assert limits["changji:4.2.6:command_response_time"].high == 60.0  # other documents: one figure


@pytest.mark.parametrize(
    ("editions", "says"),
    [
        ('{ "2019" = { high = 1.0, source = "x", confidence = "U" } }', "editions.2019: an edition other than"),
        ('{ "2015" = { high = 1.0, source = "x", confidence = "U" } }', "editions.2015: an edition other than"),
        ('{ "2023" = { high = 1.0, confidence = "U" } }', "editions.2023.source: missing"),
        ('{ "2023" = { unit = "kHz", source = "x", confidence = "U" } }', "editions.2023.unit: not a figure"),
    ],
)
def test_a_malformed_editions_table_is_refused_naming_it(tmp_path, editions, says):
    original = next(line for line in TABLE.splitlines() if line.startswith("editions"))
    text = TABLE.replace(original, f"editions = {editions}")
    with pytest.raises(BenchError, match=says):
        load_limits(table(tmp_path, text))


def test_editions_belong_to_the_two_revised_documents_only(tmp_path):
    text = TABLE + 'editions = { "2023" = { high = 30.0, source = "x", confidence = "U" } }\n'
    with pytest.raises(BenchError, match="command_response_time.editions: only for limits of gbt18487.1, gbt34657.1"):
        load_limits(table(tmp_path, text))


def test_the_shipped_table_knows_no_newer_figure_yet():
    # No figure of the 2023/2025 pair is confirmed here: every key of the two documents is open.
    newer = limits_for(NEWER.name)
    revised = {key for key in limits_for(DEFAULT_EDITION.name).keys() if key.startswith(("gbt18487.1:", "gbt34657.1:"))}
    assert newer.unknown == revised and revised


def newer_profile(tmp_path, source="profiles/sim-ac-7kw.toml", edition='"GB/T 18487.1-2023"'):
    text = (ROOT / source).read_text(encoding="utf-8")
    text = text.replace('map = "../bench/', f'map = "{ROOT}/bench/')
    text = text.replace(
        'protocol_edition = "GB/T 18487.1-2015"',
        f'protocol_edition = "GB/T 18487.1-2015"\nstandard_edition = {edition}',
    )
    path = tmp_path / "newer.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_profile_names_its_edition_or_gets_the_default(tmp_path):
    assert load_profile(ROOT / "profiles/sim-ac-7kw.toml").dut.standard_edition == DEFAULT_EDITION.name
    assert load_profile(newer_profile(tmp_path)).dut.standard_edition == "GB/T 18487.1-2023"
    with pytest.raises(ProfileError, match=r"standard_edition.*GB/T 18487.1-2015.*got 'GB/T 18487.1-2024'"):
        load_profile(newer_profile(tmp_path, edition='"GB/T 18487.1-2024"'))


@pytest.mark.slow
def test_a_newer_edition_pile_gets_no_verdict_from_an_older_figure(tmp_path):
    reports = tmp_path / "reports"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "testcases/ac/test_cp_levels.py",
            "testcases/ac/test_contactor_timing.py",
            "--profile",
            str(newer_profile(tmp_path)),
            "--report-dir",
            str(reports),
            "--run-id",
            "newer",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((reports / "newer" / "newer" / "summary.json").read_text(encoding="utf-8"))
    assert not any(c["key"].startswith("gbt18487.1:") for c in summary["checks"])
    assert "changji:4.2.9.4:contactor_close_delay" in {c["key"] for c in summary["checks"]}  # not edition-bound
    why = {entry["clause"]: entry["why"] for entry in summary["not_covered"]}
    for key in ("gbt18487.1:A:cp_state1_voltage", "gbt18487.1:A:contactor_open_delay"):
        assert why[key].startswith("skipped: GB/T 18487.1-2023 / GB/T 34657.1-2025: the bench does not know the figure")
