"""The catalogue as a DBC file for engineers' CAN tools, written with cantools.

Regenerate the shipped file with ``python -m bench.protocols.gbt27930.dbc``; a test checks
that the committed ``gbt27930.dbc`` is what this writes and that cantools decodes it as the
codec does. Load it with ``frame_id_mask=0x03FFFF00`` (docs/dependencies.md#cantools: cantools looks
messages up by exact frame ID; the mask keeps PF and PS only).

How catalogue fields become DBC signals (DBC has only numbers):
* a number or enumeration: one signal with its scale, offset, unit and value table;
* text (VIN, maker, region): one 8-bit signal per character, ``vin_01`` … ``vin_17``;
* a version: ``<name>_minor`` (byte 1) and ``<name>_major`` (bytes 2-3);
* BCD (CTS): the raw bytes as one signal (0x2023 for the year 2023);
* a repeated element (BMV, BMT, BSP): ``<field>_001`` … one per element.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import cantools
from cantools.database.can import Database, Message, Node, Signal
from cantools.database.can.formats.dbc import DbcSpecifics
from cantools.database.conversion import BaseConversion

from bench.protocols.gbt27930.catalogue import (
    BCD,
    BMS,
    CHARGER,
    ENUM,
    MESSAGES,
    TEXT,
    VERSION,
    Field,
    MessageSpec,
)
from bench.protocols.gbt27930.ids import BMS_ADDRESS, CHARGER_ADDRESS, frame_id

DBC_PATH = Path(__file__).with_name("gbt27930.dbc")
FRAME_ID_MASK = 0x03FFFF00  # PF and PS: priority and source address may differ (docs/dependencies.md#cantools)
NODE_NAMES = {CHARGER: "Charger", BMS: "BMS"}


def signal_layout(field: Field, base_bit: int = 0, suffix: str = "") -> list[tuple[str, int, int, float, float]]:
    """(signal name, start bit, length, scale, offset) of the DBC signals for one field."""
    start = base_bit + field.start_bit
    name = field.name + suffix
    if field.kind == TEXT:
        return [(f"{name}_{i + 1:02d}", start + 8 * i, 8, 1.0, 0.0) for i in range(field.bits // 8)]
    if field.kind == VERSION:
        return [(f"{name}_minor", start, 8, 1.0, 0.0), (f"{name}_major", start + 8, 16, 1.0, 0.0)]
    if field.kind in (BCD, ENUM):
        return [(name, start, field.bits, 1.0, 0.0)]
    return [(name, start, field.bits, field.scale, field.offset)]


def message_layout(spec: MessageSpec) -> list[tuple[Field, list[tuple[str, int, int, float, float]]]]:
    """Every field of a message (repeated elements expanded) with its DBC signals."""
    out = [(f, signal_layout(f)) for f in spec.fields]
    if spec.repeat is not None:
        for i in range(spec.repeat.max_count):
            for f in spec.repeat.fields:
                out.append((f, signal_layout(f, i * spec.repeat.stride_bits, f"_{i + 1:03d}")))
    return out


def _signal(field: Field, name: str, start: int, length: int, scale: float, offset: float) -> Signal:
    choices = dict(field.values) if field.kind == ENUM and field.values else None
    # cantools annotates choices as an OrderedDict; any dict of raw value → label works.
    return Signal(
        name,
        start,
        length,
        byte_order="little_endian",
        is_signed=False,
        conversion=BaseConversion.factory(scale=scale, offset=offset, choices=choices),  # type: ignore[arg-type]
        unit=field.unit or None,
        comment=("optional; all ones = not available" if field.optional else None),
    )


def catalogue_database() -> Database:
    messages = []
    for spec in MESSAGES:
        src, dest = (CHARGER_ADDRESS, BMS_ADDRESS) if spec.sender == CHARGER else (BMS_ADDRESS, CHARGER_ADDRESS)
        signals = [_signal(f, *sig) for f, sigs in message_layout(spec) for sig in sigs]
        messages.append(
            Message(
                frame_id=frame_id(spec.priority, spec.pgn, dest, src),
                name=spec.name,
                length=spec.max_length,
                signals=signals,
                is_extended_frame=True,
                senders=[NODE_NAMES[spec.sender]],
                cycle_time=round(spec.period_s * 1000),
                unused_bit_pattern=0xFF,
                comment=f"GB/T 27930-2015 {spec.name}: {spec.title}; PGN {spec.pgn:#06x}, "
                f"{'/'.join(map(str, spec.lengths)) or f'up to {spec.max_length}'} bytes"
                f"{' via J1939 TP' if spec.uses_transport else ''}",
            )
        )
    # DbcSpecifics lets cantools write the cycle times (GenMsgCycleTime) into the file.
    return Database(
        messages=messages,
        nodes=[Node("Charger"), Node("BMS")],
        frame_id_mask=FRAME_ID_MASK,
        dbc_specifics=DbcSpecifics(),
    )


def dbc_text() -> str:
    return catalogue_database().as_dbc_string()


def load(path: str | Path = DBC_PATH) -> Database:
    return cast(Database, cantools.database.load_file(str(path), frame_id_mask=FRAME_ID_MASK))  # a DBC: CAN


def main(argv: list[str] | None = None) -> int:
    args: Sequence[str | Path] = argv or sys.argv[1:] or [DBC_PATH]
    path = Path(args[0])
    path.write_text(dbc_text())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
