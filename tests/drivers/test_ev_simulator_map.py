"""The EV simulator register map file and its loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.core.errors import ProfileError
from bench.protocols.modbus.registers import Register
from bench.protocols.modbus.registers import load_board_map as load_map
from instruments.ev.modbus_ev_simulator import DEFAULT_MAP, ModbusEvSimulator, map_path
from tests.support.transcript import instrument_config, new_clock


def test_the_shipped_map_documents_every_register():
    regs = load_map().registers
    assert load_map().version_word == 0x0101
    for name in (
        "map_version",
        "status",
        "faults",
        "cp_high",
        "cp_low",
        "cp_duty",
        "cp_frequency",
        "load_current",
        "cc1_voltage",
        "aux_voltage",
        "inlet_voltage",
        "cp_state",
        "diode_fault",
        "load_current_setpoint",
        "cc2_state",
        "vehicle_contactors",
        "estop",
        "heartbeat",
        "watchdog_time",
    ):
        assert regs[name].meaning
    assert {r.table for r in regs.values() if r.name.startswith("cp_") and r.name != "cp_state"} == {"input"}
    assert regs["cp_state"].values.keys() == {1, 2, 3}
    assert (regs["watchdog_time"].scale, regs["watchdog_time"].minimum, regs["watchdog_time"].maximum) == (
        0.1,
        0.1,
        3600.0,
    )
    assert set(regs["status"].bits) >= {"plugged", "s2_closed", "vehicle_contactors", "aux_present", "watchdog_ok"}


def test_word_order_and_signs():
    i32 = Register("v", "input", 22, "i32", 2, scale=0.01, unit="V")
    assert i32.encode(402.36) == [0x0000, 0x9D2C]
    assert i32.encode(-1.5) == [0xFFFF, 0xFF6A]
    assert i32.decode([0xFFFF, 0xFF6A]) == pytest.approx(-1.5)
    u32 = Register("t", "input", 3, "u32", 2)
    assert u32.decode([0x0001, 0x0002]) == 65538
    i16 = Register("cp", "input", 11, "i16", 1, scale=0.01)
    assert i16.decode([0xFB50]) == pytest.approx(-12.0)
    text = Register("tag", "holding", 200, "string", 3)
    assert text.encode("EV1") == [0x4556, 0x3100, 0x0000]
    assert text.decode([0x4556, 0x3100, 0x0000]) == "EV1"
    with pytest.raises(ValueError, match="does not fit u16"):
        Register("x", "holding", 1, "u16", 1, scale=0.01).encode(700.0)


def test_allowed_values():
    regs = load_map().registers
    assert regs["cp_state"].allowed(3) and not regs["cp_state"].allowed(4) and not regs["cp_state"].allowed(2.5)
    assert regs["load_current_setpoint"].allowed(63.0) and not regs["load_current_setpoint"].allowed(63.01)


@pytest.mark.parametrize(
    "text, key, expected",
    [
        ('[map]\nversion = "1"\n', "map.version", "'MAJOR.MINOR'"),
        ('[map]\nversion = "1.0"\n[input.a]\naddress = 1\ntype = "f32"\nmeaning = "x"\n', "input.a.type", "one of u16"),
        (
            '[map]\nversion = "1.0"\n[input.a]\naddress = 1\ntype = "u32"\nmeaning = "x"\n'
            '[input.b]\naddress = 2\ntype = "u16"\nmeaning = "y"\n',
            "input.b.address",
            "not used by a",
        ),
        (
            '[map]\nversion = "1.0"\n[holding.a]\naddress = 1\ntype = "u16"\nmeaning = "x"\n',
            "holding.a",
            "min and max, or values",
        ),
        ('[map]\nversion = "1.0"\n[input.a]\naddress = 1\ntype = "u16"\n', "input.a.meaning", "a description"),
        (
            '[map]\nversion = "1.0"\n[input.a]\naddress = 1\ntype = "u16"\nmeaning = "x"\nscal = 2\n',
            "input.a.scal",
            "unknown key",
        ),
        (
            '[map]\nversion = "1.0"\n[input.a]\naddress = 1\ntype = "string"\nmeaning = "x"\n',
            "input.a.count",
            "number of registers",
        ),
    ],
)
def test_a_bad_map_file_gives_one_line_naming_file_and_key(tmp_path, text, key, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_map(path)
    assert info.value.key == key and expected in info.value.expected
    assert str(info.value).startswith(f"{path}: {key}: ") and "\n" not in str(info.value)


def test_the_profile_may_point_to_its_own_map(tmp_path):
    assert map_path({}) == DEFAULT_MAP
    copy = tmp_path / "lab-board.toml"
    copy.write_text(DEFAULT_MAP.read_text().replace('version = "1.1"', 'version = "1.3"'))
    assert map_path({"map": "lab-board.toml"}, base_dir=tmp_path) == copy
    config = instrument_config("ev", "modbus-ev-simulator", "modbus+tcp://127.0.0.1:502/1", options={"map": str(copy)})
    assert ModbusEvSimulator(config, new_clock()).map.version == (1, 3)
    missing = instrument_config(
        "ev", "modbus-ev-simulator", "modbus+tcp://127.0.0.1:502/1", options={"map": str(Path(tmp_path, "nope.toml"))}
    )
    with pytest.raises(ProfileError, match="nope.toml: \\(file\\)"):
        ModbusEvSimulator(missing, new_clock())
