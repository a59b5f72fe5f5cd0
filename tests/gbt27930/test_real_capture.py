"""The public capture of a real session decodes end to end; its deviations are findings."""

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930.decode import decode_trace, format_text

CAPTURE = Path(__file__).parents[1] / "data" / "gbt27930" / "candump-2023-12-25_220841.log"


@pytest.fixture(scope="module")
def report():
    return decode_trace(CAPTURE)


def first(report, name):
    return next(e for e in report.messages if e.name == name)


def test_every_frame_is_read(report):
    assert report.frames == 1857
    assert report.start_time == pytest.approx(1703560121.247259)


def test_phases_in_order(report):
    assert [p for _, p in report.phases] == ["handshake", "configuration", "charging", "end"]
    assert report.phases[0][0] == pytest.approx(1703560127.487397 - 1703560121.247259)


def test_chm_keeps_coming_during_the_insulation_check(report):
    chm = report.statistics["CHM"]
    assert chm["count"] == 66
    assert chm["mean_period_s"] * chm["intervals"] == pytest.approx(16.25, abs=0.1)


def test_brm_49_bytes_via_tp(report):
    brm = first(report, "BRM")
    assert brm.via_tp and brm.length == 49
    v = brm.values
    assert v["protocol_version"] == "1.1"
    assert v["battery_type"] == "lfp"  # type 03
    assert v["rated_capacity"] == 152.0
    assert v["rated_voltage"] == 364.8
    assert v["vin"] == "L1NSPGH98NA196202"
    assert v["charge_cycles"] == 149 and v["ownership"] == "owned"
    assert (v["software_year"], v["software_month"], v["software_day"]) == (2023, 4, 1)


def test_bcp(report):
    v = first(report, "BCP").values
    assert v == {
        "max_cell_voltage": 3.70,
        "max_charge_current": -250.2,
        "nominal_energy": 55.4,
        "max_charge_voltage": 426.1,
        "max_temperature": 65,
        "soc": 77.6,
        "battery_voltage": 378.2,
    }


def test_handshake_messages(report):
    assert first(report, "CHM").values == {"protocol_version": "1.1"}
    assert first(report, "BHM").values == {"max_charge_voltage": 426.1}
    crm = [e.values for e in report.messages if e.name == "CRM"]
    assert [c["recognition"] for c in crm] == ["not_recognized", "recognized"]
    assert crm[0]["charger_number"] == 0x01010101 and crm[0]["region"] == "123"
    assert set(first(report, "CTS").values.values()) == {None}  # sent as all ones


def test_cml(report):
    assert first(report, "CML").values == {
        "max_output_voltage": 950.0,
        "min_output_voltage": 38.0,
        "max_output_current": -250.0,
        "min_output_current": 0.0,
    }


def test_ready_messages(report):
    assert [e.values["ready"] for e in report.messages if e.name == "BRO"] == ["not_ready", "ready"]
    assert [e.values["ready"] for e in report.messages if e.name == "CRO"] == ["not_ready", "ready"]


def test_first_bcl_bcs_ccs_bsm(report):
    assert first(report, "BCL").values == {"voltage_demand": 426.1, "current_demand": -20.0, "mode": "cc"}
    assert first(report, "BCS").values == {
        "voltage": 378.1,
        "current": 0.0,
        "highest_cell_voltage": 3.32,
        "highest_cell_group": 6,
        "soc": 77,
        "remaining_time": 0,
    }
    assert first(report, "CCS").values == {
        "output_voltage": 285.2,
        "output_current": 0.0,
        "charging_time": 0,
        "charging_permitted": "permitted",
    }
    bsm = first(report, "BSM").values
    assert (bsm["highest_temperature"], bsm["lowest_temperature"], bsm["charging_allowed"]) == (4, 3, "allowed")


def test_stop_and_statistics(report):
    cst = first(report, "CST").values
    assert cst["manual_stop"] == "yes" and cst["fault_stop"] == "no"
    assert first(report, "BST").values["charger_stopped"] == "yes"
    assert first(report, "BSD").values == {
        "soc": 77,
        "min_cell_voltage": 3.33,
        "max_cell_voltage": 3.34,
        "min_temperature": 3,
        "max_temperature": 4,
    }
    # the same raw number as CRM's; CSD's SPN 3613 has offset 1 in the 2015 text (catalogue.py)
    assert first(report, "CSD").values == {"charging_time": 0, "energy": 0.1, "charger_number": 0x01010102}


def test_deviations_from_the_text_are_findings(report):
    by_kind = {}
    for f in report.findings:
        by_kind.setdefault(f.kind, []).append(f)
    ccs_length = [f for f in by_kind[fk.WRONG_LENGTH] if "CCS" in f.message]
    assert ccs_length and ccs_length[0].details["count"] == 396 and ccs_length[0].details["length"] == 7
    assert {f.message.split(":")[0] for f in by_kind[fk.PERIOD_DEVIATION]} == {"CCS", "CST"}
    assert {f.message.split(":")[0] for f in by_kind[fk.RESERVED_BITS]} == {"BRM", "BSM", "BST"}
    assert len(by_kind[fk.FOREIGN_FRAME]) == 2  # 0x0070F4B5 and 0x0073F4B5
    assert set(by_kind) == {fk.WRONG_LENGTH, fk.PERIOD_DEVIATION, fk.RESERVED_BITS, fk.FOREIGN_FRAME}


def test_each_message_is_listed_once_per_change_of_value(report):
    chm = [e for e in report.messages if e.name == "CHM"]
    assert len(chm) == 1
    bcl_values = [e.values for e in report.messages if e.name == "BCL"]
    assert all(a != b for a, b in zip(bcl_values, bcl_values[1:]))


def test_bench_decode_prints_the_session(capsys):
    assert main(["decode", str(CAPTURE)]) == 0
    out = capsys.readouterr().out
    assert "BRM  F4→56 TP 49 B  protocol_version=1.1 battery_type=lfp rated_capacity=152.0 Ah" in out
    assert "CCS: 7 bytes, the standard says 8" in out
    assert out.index("Phases") < out.index("Messages") < out.index("Findings")


def test_bench_decode_json_is_one_document(capsys):
    assert main(["decode", str(CAPTURE), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["frames"] == 1857
    assert [p["phase"] for p in doc["phases"]] == ["handshake", "configuration", "charging", "end"]
    brm = next(m for m in doc["messages"] if m["name"] == "BRM")
    assert brm["values"]["maker"] == "01000000"  # not ASCII: shown as hex
    assert {f["kind"] for f in doc["findings"]} >= {fk.WRONG_LENGTH}


@pytest.mark.parametrize(
    "content, line",
    [
        ("(1.0) can0 1826F456#010100\n(2.0) can0 1826F456#01ZZ00\n(3.0) can0 1826F456#010100\n", 2),
        ("(1.0) can0 1826F456#010100\n\n(oops)\n(3.0) can0 1826F456#010100\n", 3),
    ],
)
def test_garbled_candump_line_is_skipped_with_a_finding_and_exit_1(tmp_path, capsys, content, line):
    path = tmp_path / "bad.log"
    path.write_text(content)
    assert main(["decode", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"line {line} skipped" in out and "Traceback" not in out
    assert decode_trace(path).frames == 2


@pytest.mark.parametrize(
    "name, content, says",
    [
        ("bad.blf", b"LOGG this is not a BLF file at all", "frame 1 cannot be read"),
        (
            "bad.asc",
            b"date Mon Dec 25 22:08:41 2023\nbase hex timestamps absolute\n   1.0 1 zz Rx d 8 00\n",
            "no CAN frame could be read",
        ),
        ("trace.dat", b"whatever", "cannot read .dat"),
        ("trace.txt", b"whatever", "no header line naming the columns"),
        ("missing.log", None, "no such file"),
    ],
)
def test_unreadable_files_exit_2_without_traceback(tmp_path, capsys, name, content, says):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert main(["decode", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bench decode: {path}: ") and says in err and len(err.strip().splitlines()) == 1


def test_text_report_of_an_empty_file(tmp_path):
    path = tmp_path / "empty.log"
    path.write_text("")
    report = decode_trace(path)
    assert report.frames == 0 and report.messages == [] and "0 frames" in format_text(report)
