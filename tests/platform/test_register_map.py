"""The register-map file format, its loader and the register codec."""

from __future__ import annotations

import pytest

from bench.core.errors import ProfileError
from bench.protocols.modbus import registers as codec
from bench.protocols.modbus.registers import CodecError, MapError
from bench.protocols.modbus.registers import load_pile_map as load_map
from bench.protocols.modbus.registers import shipped_pile_map as shipped_map
from bench.protocols.platform.fields import FIELDS

AC, DC = shipped_map("sim-ac-pile"), shipped_map("sim-dc-charger")


def test_shipped_maps_load_with_every_required_register():
    for path in (AC, DC):
        register_map = load_map(path)
        required = {name for name, spec in FIELDS.items() if spec.required}
        assert required <= set(register_map.registers), path.name
    assert load_map(AC).word_order == "big" and load_map(DC).word_order == "little"
    assert not any(load_map(AC).has(n) for n in ("vin", "vehicle_model"))  # an AC pile has no BMS


@pytest.mark.parametrize(
    "type_, raw, big, little",
    [
        ("u16", 0x1234, [0x1234], [0x1234]),
        ("i16", -2, [0xFFFE], [0xFFFE]),
        ("u32", 0x12345678, [0x1234, 0x5678], [0x5678, 0x1234]),
        ("i32", -12345, [0xFFFF, 0xCFC7], [0xCFC7, 0xFFFF]),
    ],
)
def test_numbers_both_word_orders(type_, raw, big, little):
    assert codec.encode_raw(type_, raw, "big") == big
    assert codec.encode_raw(type_, raw, "little") == little
    assert codec.decode_raw(type_, big, "big") == raw
    assert codec.decode_raw(type_, little, "little") == raw


@pytest.mark.parametrize(
    "type_, pattern", [("u16", [0xFFFF]), ("i16", [0x8000]), ("u32", [0xFFFF, 0xFFFF]), ("i32", [0x8000, 0x0000])]
)
def test_not_available_is_the_sunspec_pattern(type_, pattern):
    assert codec.encode_raw(type_, None, "big") == pattern
    assert codec.decode_raw(type_, pattern, "big") is None
    low, high = codec.raw_range(type_)
    with pytest.raises(CodecError):  # the pattern itself is no value
        codec.encode_raw(type_, high + 1 if type_.startswith("u") else low - 1, "big")


def test_strings_span_registers_high_byte_first():
    words = codec.encode_string("LFV2A21K6G4051234", 9, "ascii")
    assert words[0] == (ord("L") << 8) | ord("F") and words[-1] == ord("4") << 8
    assert codec.decode_string(words, "ascii") == "LFV2A21K6G4051234"
    assert codec.decode_string([0] * 9, "ascii") is None
    with pytest.raises(CodecError, match="18 bytes; the register holds 16"):
        codec.encode_string("X" * 18, 8, "ascii")


def test_scaled_values_come_back_exactly():
    dc = load_map(DC)
    for name, value in [
        ("lowest_cell_voltage", 3.215),
        ("internal_resistance", 12.5),
        ("battery_capacity", 150.3),
        ("current", -12.3),
        ("power_limit", 12_340.0),
    ]:
        assert dc.decode(name, dc.encode(name, value)) == value, name
    assert dc.encode("lowest_cell_voltage", 3.215) == [3215]  # mV register
    assert dc.encode("power_limit", 30_000) == [3000]  # 0.01 kW register
    assert dc.quantized("current_limit", 16.05) == 16.1  # half up


def test_a_value_that_does_not_fit_is_refused_with_the_range():
    dc = load_map(DC)
    with pytest.raises(CodecError, match=r"power_limit = 800000 W does not fit holding register 2001 .*0 … 655340 W"):
        dc.encode("power_limit", 800_000)
    with pytest.raises(CodecError, match="no code for 'reserved'"):
        dc.encode("state", "reserved")  # the DC charger has no reserved state


def test_codes_translate_both_ways():
    dc = load_map(DC)
    assert dc.encode("command", "start") == [10]
    assert dc.decode("state", [3]) == "charging"
    assert dc.decode("heating_status", [1]) == "on"
    with pytest.raises(CodecError, match="code 42 is not in"):
        dc.decode("event_kind", [42])


def test_reads_are_grouped_into_back_to_back_blocks():
    dc = load_map(DC)
    blocks = dc.read_blocks(["voltage", "clock", "state", "power", "clock_ms"])
    assert [(b.table, b.address, b.count) for b in blocks] == [
        ("holding", 2010, 3),
        ("input", 1000, 2),
        ("input", 1003, 2),
    ]


MINIMAL = """
[map]
name = "test"
[registers.voltage]
address = 0
type = "u16"
scale = 0.1
unit = "V"
table = "input"
[registers.current]
address = 1
type = "u16"
unit = "A"
table = "input"
[registers.power]
address = 2
type = "u32"
unit = "W"
table = "input"
[registers.state]
address = 4
type = "u16"
table = "input"
[registers.command]
address = 100
type = "u16"
writable = true
[registers.clock]
address = 101
type = "u32"
unit = "s"
writable = true
[registers.event_count]
address = 200
type = "u16"
[registers.event_seq]
address = 201
type = "u16"
[registers.event_kind]
address = 202
type = "u16"
[registers.event_time]
address = 203
type = "u32"
unit = "s"
[registers.event_ack]
address = 205
type = "u16"
writable = true
[codes.command]
start = 1
stop = 2
[codes.state]
charging = 1
[codes.event_kind]
start = 1
"""


def test_a_minimal_map_loads(tmp_path):
    path = tmp_path / "pile.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_map(path).name == "test"


@pytest.mark.parametrize(
    "change, key, expected",
    [
        (("scale = 0.1\n", "scale = 0.1\nrange = 5\n"), "registers.voltage.range", "unknown key"),
        (("address = 1\n", "address = 0\n"), "registers.current.address", "already 'voltage'"),
        (('unit = "A"', 'unit = "V"'), "registers.current.unit", "one of 'A', 'mA'"),
        (
            ('type = "u16"\nwritable = true\n[registers.clock]', 'type = "u16"\n[registers.clock]'),
            "registers.command.writable",
            "the bench writes this register",
        ),
        (
            ('table = "input"\n[registers.current]', 'table = "input"\nwritable = true\n[registers.current]'),
            "registers.voltage.writable",
            "input registers are read-only",
        ),
        (
            ("[registers.event_ack]\naddress = 205", "[registers.x_event_ack]\naddress = 205"),
            "registers.x_event_ack",
            "unknown register name",
        ),
        (("stop = 2\n", "stop = 1\n"), "codes.command.stop", "already 'start'"),
        (("[codes.event_kind]\nstart = 1\n", ""), "codes.event_kind", "missing"),
        (('type = "u32"\nunit = "W"', 'type = "float"\nunit = "W"'), "registers.power.type", "one of u16"),
    ],
)
def test_map_errors_name_the_file_and_key(tmp_path, change, key, expected):
    old, new = change
    assert old in MINIMAL
    path = tmp_path / "pile.toml"
    path.write_text(MINIMAL.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(MapError) as caught:
        load_map(path)
    assert isinstance(caught.value, ProfileError)
    assert caught.value.key == key and expected in str(caught.value) and str(path) in str(caught.value)


def test_a_missing_required_register_is_named(tmp_path):
    path = tmp_path / "pile.toml"
    path.write_text(MINIMAL.replace("[registers.clock]", "[registers.timed_start_time]"), encoding="utf-8")
    with pytest.raises(MapError, match=r"registers\.clock: missing"):
        load_map(path)
