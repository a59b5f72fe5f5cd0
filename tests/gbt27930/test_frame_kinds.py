"""Frames GB/T 27930 does not use (error, remote, CAN FD, an 11-bit frame with a wider id)
are findings and never messages; a BAM from the BMS is reassembled with a finding; currents
print with the standard's sign and their magnitude. Trace files written with python-can's
writers, by hand where it has none."""

from __future__ import annotations

import can
import pytest

from bench.cli import main
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930 import transport as tp
from bench.protocols.gbt27930.catalogue import BY_NAME, TP_CM_PGN, TP_DT_PGN
from bench.protocols.gbt27930.codec import decode, encode
from bench.protocols.gbt27930.decode import decode_trace, format_current, format_text, format_values
from bench.protocols.gbt27930.ids import BMS_ADDRESS, CHARGER_ADDRESS, GLOBAL_ADDRESS, frame_id

from . import trace_writers as w

T0 = 1703560121.0
CHM = encode("CHM", {"protocol_version": "1.1"})
BHM = encode("BHM", {"max_charge_voltage": 426.1})
BCL = encode("BCL", {"voltage_demand": 400.0, "current_demand": -20.0, "mode": "cc"})
VIN = "LBAMTEST000000042"
BRM = encode(
    "BRM",
    {"protocol_version": "1.1", "battery_type": "lfp", "rated_capacity": 150.0, "rated_voltage": 350.0, "vin": VIN},
    41,
)


def frame(t, name, data, **kw):
    spec = BY_NAME[name]
    charger = spec.sender == "charger"
    src, dest = (CHARGER_ADDRESS, BMS_ADDRESS) if charger else (BMS_ADDRESS, CHARGER_ADDRESS)
    can_id = frame_id(spec.priority, spec.pgn, dest, src)
    return can.Message(timestamp=T0 + t, arbitration_id=can_id, data=data, is_extended_id=True, **kw)


def handshake(until=2.0):
    out = []
    for i in range(round(until / 0.25)):
        out += [frame(i * 0.25, "CHM", CHM), frame(i * 0.25 + 0.01, "BHM", BHM)]
    return out


def kinds(report):
    return [f.kind for f in report.findings]


def test_a_blf_error_frame_with_bhm_id_is_a_bus_error_never_bhm(tmp_path):
    error = frame(0.5, "BHM", bytes(2), is_error_frame=True)  # BLF error records keep an id and data
    path = w.python_can_writer(tmp_path / "errors.blf", [frame(0.0, "CHM", CHM), error], "blf")
    report = decode_trace(path)
    assert [e.name for e in report.messages] == ["CHM"]
    (bus,) = [f for f in report.findings if f.kind == fk.BUS_ERROR]
    assert "error frame" in bus.message
    assert "max_charge_voltage" not in format_text(report)


def test_error_frames_are_counted_in_one_finding(tmp_path):
    msgs = [frame(0.0, "CHM", CHM)] + [can.Message(timestamp=T0 + 0.1 * i, is_error_frame=True) for i in range(1, 6)]
    report = decode_trace(w.python_can_writer(tmp_path / "errors.asc", msgs, "asc"))
    (bus,) = [f for f in report.findings if f.kind == fk.BUS_ERROR]
    assert bus.details["count"] == 5 and report.statistics.keys() == {"CHM"}


def test_a_remote_frame_with_bcl_id_never_starts_charging(tmp_path):
    rtr = frame(2.5, "BCL", b"", is_remote_frame=True, dlc=5)
    path = w.python_can_writer(tmp_path / "rtr.asc", handshake() + [rtr], "asc")
    report = decode_trace(path)
    assert [p for _, p in report.phases] == ["handshake"]
    assert "BCL" not in report.statistics and all(e.name != "BCL" for e in report.messages)
    (remote,) = [f for f in report.findings if f.kind == fk.REMOTE_FRAME]
    assert "BCL's id" in remote.message and remote.pgn == 0x1000


def test_a_can_fd_frame_is_a_finding_not_a_message(tmp_path):
    fd = frame(0.5, "BHM", BHM, is_fd=True)
    path = w.python_can_writer(tmp_path / "fd.asc", [frame(0.0, "CHM", CHM), fd], "asc")
    report = decode_trace(path)
    assert [e.name for e in report.messages] == ["CHM"]
    (finding,) = [f for f in report.findings if f.kind == fk.CAN_FD_FRAME]
    assert "classic CAN" in finding.message


def test_an_id_wider_than_11_bits_is_never_shown_as_an_11_bit_frame(tmp_path):
    # an ASC line without the 'x' that marks an extended id (hand-made: python-can always writes it)
    path = w.python_can_writer(tmp_path / "wide.asc", [frame(0.0, "CHM", CHM)], "asc")
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if " Rx " in line)
    lines.insert(at + 1, "   0.500000 1  1826F456        Rx   d 3 01 01 00")
    path.write_text("\n".join(lines) + "\n")
    report = decode_trace(path)
    (bad,) = [f for f in report.findings if f.kind == fk.BAD_FRAME_ID]
    assert "0x1826f456" in bad.message and "11-bit frame 0x" not in format_text(report)
    assert report.statistics["CHM"]["count"] == 1


# -- BAM --------------------------------------------------------------------------------------------
def bam_frames(t0, data, pgn, src=BMS_ADDRESS):
    cm = frame_id(7, TP_CM_PGN, GLOBAL_ADDRESS, src)
    dt = frame_id(7, TP_DT_PGN, GLOBAL_ADDRESS, src)
    out = [can.Message(timestamp=T0 + t0, arbitration_id=cm, data=tp.bam(len(data), pgn), is_extended_id=True)]
    for i, packet in enumerate(tp.dt_packets(data), 1):
        out.append(can.Message(timestamp=T0 + t0 + 0.05 * i, arbitration_id=dt, data=packet, is_extended_id=True))
    return out


def test_a_brm_broadcast_by_bam_is_reassembled_with_its_vin_and_a_finding(tmp_path):
    msgs = handshake(2.0) + bam_frames(2.0, BRM, 0x0200)
    path = w.python_can_writer(tmp_path / "bam.log", msgs, "log")
    report = decode_trace(path)
    brm = next(e for e in report.messages if e.name == "BRM")
    assert brm.values["vin"] == VIN and brm.via_tp and brm.via_bam and brm.dest == GLOBAL_ADDRESS
    assert fk.FOREIGN_FRAME not in kinds(report)
    (bam,) = [f for f in report.findings if f.kind == fk.TP_BAM_USED]
    assert "BRM" in bam.message and "RTS/CTS" in bam.message and bam.pgn == 0x0200
    assert "BRM  F4→FF BAM 41 B" in format_text(report)


def test_bam_and_rts_cts_transfers_of_one_message_are_one_stream(tmp_path):
    from .test_monitor import Feeder

    f = Feeder()
    for msg in handshake(2.0) + bam_frames(2.0, BRM, 0x0200):
        f.monitor.feed(msg)
    assert f.monitor.stats()["BRM"]["dest"] == CHARGER_ADDRESS and f.monitor.stats()["BRM"]["count"] == 1


# -- currents for people ------------------------------------------------------------------------
def test_a_current_shows_the_standard_sign_and_the_magnitude_people_expect():
    text = format_values("BCL", decode(0x1000, BCL)[1])
    assert "current_demand=\u221220.0 A (20.0 A charging)" in text
    assert "voltage_demand=400.0 V" in text
    assert format_current(0.0) == "0.0 A"
    assert format_current(5.0) == "5.0 A (5.0 A discharging)"


def test_the_json_keeps_the_signed_value(tmp_path, capsys):
    path = w.python_can_writer(tmp_path / "bcl.log", handshake(0.5) + [frame(0.6, "BCL", BCL)], "log")
    assert main(["decode", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert '"current_demand": -20.0' in out


# -- field definitions (item 5: CSD SPN 3613 offset 1, CRM SPN 2561 offset 0) -------------------
def test_charger_number_follows_the_2015_text_in_crm_and_csd():
    crm = encode("CRM", {"recognition": "recognized", "charger_number": 7, "region": None})
    csd = encode("CSD", {"charging_time": 10, "energy": 5.0, "charger_number": 7})
    assert int.from_bytes(crm[1:5], "little") == 7  # SPN 2561: 1/bit, offset 0
    assert int.from_bytes(csd[4:8], "little") == 6  # SPN 3613: 1/bit, offset 1
    assert decode(0x1D00, bytes.fromhex("0a00320001010101"))[1]["charger_number"] == 0x01010102


@pytest.mark.parametrize(
    "message, field, scale, offset",
    [
        ("BCP", "soc", 0.1, 0.0),  # 0.1 %/bit, 16 bits
        ("BCS", "soc", 1.0, 0.0),  # 1 %/bit, 8 bits
        ("BSD", "soc", 1.0, 0.0),  # 1 %/bit, 8 bits
        ("BSM", "highest_cell_number", 1.0, 1.0),  # numbers 1 … 256
        ("BCS", "highest_cell_group", 1.0, 0.0),  # bits 13-16: group 0 … 15
        ("BMV", "cell_group", 1.0, 0.0),
        ("BCP", "max_cell_voltage", 0.01, 0.0),
        ("BCS", "highest_cell_voltage", 0.01, 0.0),
        ("BSD", "min_cell_voltage", 0.01, 0.0),
        ("BHM", "max_charge_voltage", 0.1, 0.0),
        ("BCP", "max_charge_voltage", 0.1, 0.0),
        ("BCP", "nominal_energy", 0.1, 0.0),
        ("CSD", "energy", 0.1, 0.0),
        ("CCS", "charging_time", 1.0, 0.0),
        ("CSD", "charging_time", 1.0, 0.0),
    ],
)
def test_fields_carried_by_two_messages_keep_each_message_definition(message, field, scale, offset):
    spec = BY_NAME[message]
    fields = spec.fields + (spec.repeat.fields if spec.repeat else ())
    (f,) = [x for x in fields if x.name == field]
    assert (f.scale, f.offset) == (scale, offset)


@pytest.mark.parametrize(
    "version, line",
    [
        ("1.1", "     3)        600.0  Error      0000  5  04 00 00 00 00"),
        ("1.3", "     3)        600.0 1  Error      0000 -  5  04 00 00 00 00"),
        ("2.0", "      3       600.000 ER        -  Rx  5  04 00 00 00 00"),
    ],
)
def test_a_trc_error_line_is_a_bus_error(tmp_path, version, line):
    # python-can's TRCReader drops these lines; the bench reads them as error frames
    path = w.write_trc(tmp_path / f"v{version}.trc", [frame(0.0, "CHM", CHM), frame(0.5, "BHM", BHM)], version, (line,))
    report = decode_trace(path)
    assert kinds(report) == [fk.BUS_ERROR] and report.complete
    assert report.findings[0].time == pytest.approx(0.6)
