"""The catalogue against docs/limits.md §3 and the codec against hand-checked payloads."""

import pytest

from bench.core.errors import ProtocolError
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930.catalogue import BY_NAME, MESSAGES
from bench.protocols.gbt27930.codec import decode, encode
from bench.protocols.gbt27930.ids import frame_id, parse_id

# docs/limits.md §3 table: name → (PGN, priority, bytes, period s, sender)
STANDARD = {
    "CHM": (0x2600, 6, 3, 0.25, "charger"),
    "BHM": (0x2700, 6, 2, 0.25, "bms"),
    "CRM": (0x0100, 6, 8, 0.25, "charger"),
    "BRM": (0x0200, 7, 49, 0.25, "bms"),
    "BCP": (0x0600, 7, 13, 0.5, "bms"),
    "CTS": (0x0700, 6, 7, 0.5, "charger"),
    "CML": (0x0800, 6, 8, 0.25, "charger"),
    "BRO": (0x0900, 4, 1, 0.25, "bms"),
    "CRO": (0x0A00, 4, 1, 0.25, "charger"),
    "BCL": (0x1000, 6, 5, 0.05, "bms"),
    "BCS": (0x1100, 7, 9, 0.25, "bms"),
    "CCS": (0x1200, 6, 8, 0.05, "charger"),
    "BSM": (0x1300, 6, 7, 0.25, "bms"),
    "BMV": (0x1500, 7, 512, 10.0, "bms"),
    "BMT": (0x1600, 7, 128, 10.0, "bms"),
    "BSP": (0x1700, 7, 16, 10.0, "bms"),
    "BST": (0x1900, 4, 4, 0.01, "bms"),
    "CST": (0x1A00, 4, 4, 0.01, "charger"),
    "BSD": (0x1C00, 6, 7, 0.25, "bms"),
    "CSD": (0x1D00, 6, 8, 0.25, "charger"),
    "BEM": (0x1E00, 2, 4, 0.25, "bms"),
    "CEM": (0x1F00, 2, 4, 0.25, "charger"),
}


def test_catalogue_has_the_22_messages_of_the_standard():
    assert [m.name for m in MESSAGES] == list(STANDARD)
    for m in MESSAGES:
        assert (m.pgn, m.priority, m.max_length, m.period_s, m.sender) == STANDARD[m.name], m.name


def test_messages_of_9_bytes_or_more_use_transport():
    assert {m.name for m in MESSAGES if m.uses_transport} == {"BRM", "BCP", "BCS", "BMV", "BMT", "BSP"}


@pytest.mark.parametrize(
    "can_id, expected",
    [
        (0x1826F456, (6, 0x2600, 0xF4, 0x56)),  # CHM charger → BMS
        (0x1CEC56F4, (7, 0xEC00, 0x56, 0xF4)),  # TP.CM BMS → charger
        (0x18FFA0F4, (6, 0xFFA0, 0xFF, 0xF4)),  # PDU2: broadcast
    ],
)
def test_ids_split_and_build(can_id, expected):
    assert parse_id(can_id) == expected
    priority, pgn, dest, src = expected
    assert frame_id(priority, pgn, dest, src) == can_id


def values(name, hexdata):
    spec, vals, problems = decode(BY_NAME[name].pgn, bytes.fromhex(hexdata))
    return vals, problems


def test_current_is_signed_as_the_standard_defines_it():
    vals, problems = values("BCL", "A510D80E02")
    assert vals == {"voltage_demand": 426.1, "current_demand": -20.0, "mode": "cc"}
    assert problems == ()
    assert encode("BCL", vals) == bytes.fromhex("A510D80E02")


def test_cml_from_the_real_capture():
    vals, _ = values("CML", "1C257C01DC05A00F")
    assert vals == {
        "max_output_voltage": 950.0,
        "min_output_voltage": 38.0,
        "max_output_current": -250.0,
        "min_output_current": 0.0,
    }


def test_temperatures_have_an_offset_of_minus_50():
    vals, _ = values("BSD", "4D4D014E013536")
    assert vals == {
        "soc": 77,
        "min_cell_voltage": 3.33,
        "max_cell_voltage": 3.34,
        "min_temperature": 3,
        "max_temperature": 4,
    }


def test_bit_fields_and_offset_one_numbers_in_bsm():
    vals, _ = values("BSM", "1E3606350F0014")
    assert vals["highest_cell_number"] == 31  # raw 30, offset 1
    assert vals["lowest_temperature_probe"] == 16
    assert vals["cell_voltage"] == "normal" and vals["connector"] == "abnormal"
    assert vals["charging_allowed"] == "allowed"


def test_bcs_12_bit_cell_voltage_and_4_bit_group():
    vals, _ = values("BCS", "FD0E570E51314D2B00")
    assert vals == {
        "voltage": 383.7,
        "current": -32.9,
        "highest_cell_voltage": 3.37,
        "highest_cell_group": 3,
        "soc": 77,
        "remaining_time": 43,
    }


BRM_49 = bytes.fromhex(
    "01010003F005400E4E41524A01000000270B0895000001FF4C314E5350474839384331393632303230000104E707FFFFFF"
)


def test_brm_of_49_and_41_bytes():
    vals, problems = decode(0x0200, BRM_49)[1:]
    assert problems == ()
    assert vals["protocol_version"] == "1.1" and vals["battery_type"] == "lfp"
    assert vals["rated_capacity"] == 152.0 and vals["rated_voltage"] == 364.8
    assert vals["maker"] == "NARJ" and vals["production_year"] == 2024 and vals["charge_cycles"] == 149
    assert vals["vin"] == "L1NSPGH98C1962020"
    assert vals["software_year"] == 2023
    short, problems = decode(0x0200, BRM_49[:41])[1:]
    assert problems == ()
    assert short["vin"] == vals["vin"] and short["software_year"] is None
    assert encode("BRM", short, 41) == BRM_49[:41]


def test_optional_fields_absent_or_all_ones_decode_as_none():
    all_ones = encode(
        "BRM", {"protocol_version": "1.1", "battery_type": "lfp", "rated_capacity": 100.0, "rated_voltage": 350.0}
    )
    assert all_ones[8:] == b"\xff" * 41
    vals = decode(0x0200, all_ones)[1]
    assert vals["vin"] is None and vals["maker"] is None and vals["ownership"] is None
    cts = decode(0x0700, b"\xff" * 7)[1]
    assert set(cts.values()) == {None}


def test_battery_type_other_is_0xff_not_absent():
    data = encode("BRM", {"protocol_version": "1.1", "battery_type": "other", "rated_capacity": 1, "rated_voltage": 1})
    assert data[3] == 0xFF and decode(0x0200, data)[1]["battery_type"] == "other"


def test_cts_is_bcd():
    data = encode("CTS", {"second": 5, "minute": 8, "hour": 22, "day": 25, "month": 12, "year": 2023})
    assert data == bytes.fromhex("05082225122320")
    assert decode(0x0700, data)[1]["year"] == 2023
    problems = decode(0x0700, bytes.fromhex("5A08222512 2320"))[2]
    assert [p[0] for p in problems] == [fk.BAD_BCD]


@pytest.mark.parametrize(
    "name, hexdata, kind",
    [
        ("CCS", "240BA00F0000FD", fk.WRONG_LENGTH),  # the real capture's 7-byte CCS
        ("BCL", "A510D80E", fk.WRONG_LENGTH),  # mode cut off
        ("BCL", "A510D80E07", fk.VALUE_OUT_OF_RANGE),  # mode 7
        ("BCL", "FFFFD80E02", fk.MISSING_VALUE),  # mandatory voltage not available
        ("BSD", "6E4D014E013536", fk.VALUE_OUT_OF_RANGE),  # SOC 110 %
        ("BST", "40000000", fk.RESERVED_BITS),  # the real capture's BST
        ("BMV", "4D0D4D", fk.WRONG_LENGTH),  # odd length
    ],
)
def test_bad_payloads_decode_best_effort_with_a_specific_problem(name, hexdata, kind):
    spec, vals, problems = decode(BY_NAME[name].pgn, bytes.fromhex(hexdata))
    assert kind in [p[0] for p in problems]
    assert set(vals) >= {f.name for f in spec.fields}


def test_short_ccs_still_gives_the_fields_it_holds():
    vals, problems = values("CCS", "240BA00F0000FD")
    assert vals == {
        "output_voltage": 285.2,
        "output_current": 0.0,
        "charging_time": 0,
        "charging_permitted": "permitted",
    }
    assert [p[0] for p in problems] == [fk.WRONG_LENGTH]


def test_unused_bits_are_sent_as_ones():
    assert encode(
        "CCS", {"output_voltage": 1, "output_current": 0, "charging_time": 0, "charging_permitted": "paused"}
    ) == bytes.fromhex("0A00A00F0000FCFF")
    assert encode("BEM", {"ccs_timeout": "timeout"}) == bytes.fromhex("F0F0F1FC")


def test_bmv_and_bmt_are_lists():
    data = encode("BMV", {"cell_voltage": [3.30, 3.45], "cell_group": [0, 1]})
    assert data == bytes.fromhex("4A01 5911".replace(" ", ""))
    assert decode(0x1500, data)[1] == {"cell_voltage": [3.3, 3.45], "cell_group": [0, 1]}
    assert decode(0x1600, bytes([75, 80]))[1] == {"temperature": [25, 30]}


@pytest.mark.parametrize(
    "name, vals",
    [
        ("BCL", {"voltage_demand": 400, "current_demand": -500.0, "mode": "cc"}),  # beyond −400 A
        ("BCL", {"voltage_demand": 400, "current_demand": -10, "mode": "fast"}),  # no such mode
        ("BCL", {"voltage_demand": 400, "mode": "cc"}),  # mandatory missing
        (
            "BRM",
            {
                "protocol_version": "1.1",
                "battery_type": "lfp",
                "rated_capacity": 1,
                "rated_voltage": 1,
                "vin": "TOO-LONG-FOR-A-VIN-FIELD",
            },
        ),
        ("CHM", {"protocol_version": "one"}),
    ],
)
def test_encode_refuses_what_the_standard_cannot_carry(name, vals):
    with pytest.raises(ProtocolError):
        encode(name, vals)
