"""The 4.2.7 extension frame: the documented default layout and a profile's own DBC."""

import pytest

from bench.core.errors import ProtocolError
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930.extension import DEFAULT_DBC, ExtensionCodec, load
from bench.protocols.gbt27930.ids import frame_id

EXAMPLE = {
    "lowest_cell_voltage": 3.21,
    "lowest_cell_number": 17,
    "heating_status": "on",
    "cooling_status": "off",
    "internal_resistance": 85.3,
}


def test_default_layout_is_the_documented_one():
    codec = load()
    bex, bvm = codec.by_pgn[0xFFA0], codec.by_pgn[0xFFA1]
    assert (bex.priority, bex.period_s, bvm.period_s) == (6, 1.0, 5.0)
    assert bex.message.frame_id == frame_id(6, 0xFFA0, 0xFF, 0xF4) == 0x18FFA0F4
    data = codec.encode(bex, EXAMPLE)
    assert data.hex().upper() == "410110F15503FFFF"  # EXTENSION.md example
    assert codec.decode(0xFFA0, data)[1] == EXAMPLE
    assert codec.encode(bvm, {"vehicle_model": "BYD7009BEVA1"}) == b"BYD7009BEVA1"
    assert "410110F15503FFFF" in (DEFAULT_DBC.parent / "EXTENSION.md").read_text()


def test_absent_values_are_all_ones():
    codec = load()
    data = codec.encode(codec.by_pgn[0xFFA0], {"lowest_cell_voltage": 3.0})
    assert data == bytes.fromhex("2C01FFFFFFFFFFFF")
    values = codec.decode(0xFFA0, data)[1]
    assert values["lowest_cell_voltage"] == 3.0 and values["internal_resistance"] is None
    assert values["heating_status"] is None


def test_bad_extension_frames_give_findings():
    codec = load()
    assert codec.decode(0xFFA0, b"\x01\x02")[2][0][0] == fk.WRONG_LENGTH
    assert codec.decode(0xFFA1, b"")[2][0][0] == fk.WRONG_LENGTH


def test_values_that_do_not_fit_are_refused():
    codec = load()
    with pytest.raises(ProtocolError):
        codec.encode(codec.by_pgn[0xFFA0], {"internal_resistance": 1e6})


def test_a_dbc_without_any_known_signal_is_refused(tmp_path):
    path = tmp_path / "none.dbc"
    path.write_text(
        'VERSION ""\n\nNS_ :\n\nBS_:\n\nBU_: BMS\n\nBO_ 2566914292 X: 8 BMS\n'
        ' SG_ speed : 0|16@1+ (1,0) [0|0] "" Vector__XXX\n'
    )
    with pytest.raises(ProtocolError, match="none.dbc: no signal named"):
        ExtensionCodec(path)
    with pytest.raises(ProtocolError, match="cannot load"):
        ExtensionCodec(tmp_path / "missing.dbc")
