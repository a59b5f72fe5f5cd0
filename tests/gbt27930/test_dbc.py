"""The shipped DBC is the catalogue, and cantools decodes it as the codec does."""

import pytest

from bench.protocols.gbt27930 import dbc
from bench.protocols.gbt27930.catalogue import BCD, ENUM, MESSAGES, TEXT, UINT, VERSION
from bench.protocols.gbt27930.codec import decode, encode
from bench.protocols.gbt27930.ids import BMS_ADDRESS, CHARGER_ADDRESS, frame_id

from .samples import example_values


@pytest.fixture(scope="module")
def db():
    return dbc.load()


def test_committed_dbc_is_what_the_catalogue_writes():
    same = dbc.DBC_PATH.read_text().splitlines() == dbc.dbc_text().splitlines()
    assert same, "the DBC is stale: run python -m bench.protocols.gbt27930.dbc"


def test_every_message_is_in_the_dbc_with_its_cycle_time(db):
    assert {m.name for m in db.messages} == {m.name for m in MESSAGES}
    for spec in MESSAGES:
        message = db.get_message_by_name(spec.name)
        assert message.cycle_time == round(spec.period_s * 1000)
        assert message.length == spec.max_length


def test_lookup_ignores_priority_and_source_with_the_mask(db):
    # BCL sent with priority 7 from another source address still resolves (docs/dependencies.md#cantools).
    assert db.get_message_by_frame_id(frame_id(7, 0x1000, CHARGER_ADDRESS, 0x99)).name == "BCL"


def _field_bytes(field, data: bytes) -> bytes:
    start = field.start_bit // 8
    return data[start : start + field.bits // 8]


@pytest.mark.parametrize("spec", MESSAGES, ids=lambda m: m.name)
def test_cantools_decodes_the_dbc_as_the_codec_does(db, spec):
    values, length = example_values(spec)
    data = encode(spec.name, values, length)
    src, dest = (CHARGER_ADDRESS, BMS_ADDRESS) if spec.sender == "charger" else (BMS_ADDRESS, CHARGER_ADDRESS)
    message = db.get_message_by_frame_id(frame_id(spec.priority, spec.pgn, dest, src))
    theirs = message.decode(data, decode_choices=False, allow_truncated=True)
    ours = decode(spec.pgn, data)[1]
    for field, signals in dbc.message_layout(spec):
        name = signals[0][0]
        if field.kind == UINT and len(signals) == 1 and name in theirs and spec.repeat is None:
            assert theirs[name] == pytest.approx(ours[field.name], abs=1e-6), name
        elif field.kind == ENUM:
            assert field.values[theirs[name]] == ours[field.name], name
        elif field.kind == TEXT:
            assert bytes(theirs[s[0]] for s in signals) == ours[field.name].encode(), name
        elif field.kind == VERSION:
            assert f"{theirs[signals[1][0]]}.{theirs[signals[0][0]]}" == ours[field.name]
        elif field.kind == BCD:
            assert theirs[name] == int.from_bytes(_field_bytes(field, data), "little")
    if spec.repeat is not None:
        for f in spec.repeat.fields:
            for i, value in enumerate(ours[f.name]):
                assert theirs[f"{f.name}_{i + 1:03d}"] == pytest.approx(value, abs=1e-6)
