"""The 4.2.7 extension frame: data the seed asks for that GB/T 27930-2015 does not carry.

The layout is a DBC file (EXTENSION.md): the default ``extension.dbc`` or a profile's own.
Quantities are found by signal name, so a profile may place them anywhere, with any
scale, offset and value table:

* numbers: ``lowest_cell_voltage`` (V), ``lowest_cell_number``, ``heating_status`` and
  ``cooling_status`` (value table with "off"/"on"), ``internal_resistance`` (mΩ);
* text: ``vehicle_model`` as 8-bit signals ``vehicle_model_01`` … ``vehicle_model_NN``,
  one ASCII character each. A text message is sent as long as its text (J1939 TP when
  longer than 8 bytes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import cantools
from cantools.database.can import Database, Message, Signal

from bench.core.errors import ProtocolError
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930.dbc import FRAME_ID_MASK
from bench.protocols.gbt27930.ids import parse_id

if TYPE_CHECKING:
    from bench.protocols.gbt27930.codec import Problem

DEFAULT_DBC = Path(__file__).with_name("extension.dbc")
NUMBERS = ("lowest_cell_voltage", "lowest_cell_number", "heating_status", "cooling_status", "internal_resistance")
TEXTS = ("vehicle_model",)
DEFAULT_PERIOD_S = 1.0  # when the DBC gives no GenMsgCycleTime (bench choice, U)
_TEXT_SIGNAL = re.compile(r"^(?P<quantity>[a-z_]+)_(?P<index>\d+)$")


@dataclass
class ExtensionMessage:
    name: str
    pgn: int
    priority: int
    period_s: float
    message: Message
    numbers: tuple[str, ...]  # quantities carried as numeric signals
    text: str | None  # quantity carried as text, if this is a text message
    text_width: int = 0


class ExtensionCodec:
    """Encode and decode the extension messages described by one DBC file."""

    def __init__(self, dbc_path: str | Path | None = None):
        self.path = Path(dbc_path) if dbc_path else DEFAULT_DBC
        try:
            db = cast(Database, cantools.database.load_file(str(self.path), frame_id_mask=FRAME_ID_MASK))  # a DBC
        except Exception as exc:  # cantools raises many kinds; one clear line for the profile
            raise ProtocolError(f"{self.path}: cannot load the extension DBC ({exc})") from None
        self.messages: list[ExtensionMessage] = []
        for message in db.messages:
            ext = self._describe(message)
            if ext is not None:
                self.messages.append(ext)
        if not self.messages:
            raise ProtocolError(
                f"{self.path}: no signal named {', '.join(NUMBERS + TEXTS)} (see bench/protocols/gbt27930/EXTENSION.md)"
            )
        self.by_pgn = {m.pgn: m for m in self.messages}

    @staticmethod
    def _describe(message: Message) -> ExtensionMessage | None:
        priority, pgn, _, _ = parse_id(message.frame_id)
        period = message.cycle_time / 1000 if message.cycle_time else DEFAULT_PERIOD_S
        numbers = tuple(s.name for s in message.signals if s.name in NUMBERS)
        text_indexes: dict[str, list[Signal]] = {}
        for s in message.signals:
            match = _TEXT_SIGNAL.match(s.name)
            if match and match["quantity"] in TEXTS and s.length == 8 and s.start % 8 == 0:
                text_indexes.setdefault(match["quantity"], []).append(s)
        if text_indexes:
            quantity, signals = next(iter(text_indexes.items()))
            return ExtensionMessage(message.name, pgn, priority, period, message, (), quantity, len(signals))
        if numbers:
            return ExtensionMessage(message.name, pgn, priority, period, message, numbers, None)
        return None

    def encode(self, ext: ExtensionMessage, values: Mapping[str, Any]) -> bytes:
        if ext.text is not None:
            text = str(values.get(ext.text) or "")
            data = text.encode("ascii", errors="replace")[: ext.text_width]
            return data or b"\xff"
        raw: dict[str, int] = {}
        for s in ext.message.signals:
            value = values.get(s.name)
            ones = (1 << s.length) - 1
            if value is None:
                raw[s.name] = ones
                continue
            number = (
                s.conversion.choice_to_number(value)
                if isinstance(value, str)
                else round((float(value) - s.offset) / s.scale)
            )
            if not 0 <= number < ones:
                raise ProtocolError(f"{self.path}: {ext.name}.{s.name} = {value!r} does not fit {s.length} bits")
            raw[s.name] = number
        return ext.message.encode(raw, scaling=False, padding=True, strict=False)

    def decode(self, pgn: int, data: bytes) -> tuple[ExtensionMessage, dict[str, Any], tuple[Problem, ...]] | None:
        ext = self.by_pgn.get(pgn)
        if ext is None:
            return None
        problems: list[Problem] = []
        if ext.text is not None:
            if not 0 < len(data) <= ext.text_width:
                problems.append(
                    (fk.WRONG_LENGTH, f"{ext.name}: {len(data)} bytes, 1 … {ext.text_width} expected", None)
                )
            chunk = bytes(data[: ext.text_width]).rstrip(b"\xff\x00")
            return ext, {ext.text: chunk.decode("ascii", errors="replace") or None}, tuple(problems)
        if len(data) != ext.message.length:
            problems.append((fk.WRONG_LENGTH, f"{ext.name}: {len(data)} bytes, {ext.message.length} expected", None))
        try:
            raw = cast(
                "Mapping[str, float]",  # raw numbers: no scaling, no choices, not a container
                ext.message.decode(bytes(data), scaling=False, decode_choices=False, allow_truncated=True),
            )
        except Exception:  # noqa: BLE001 - cantools' errors for garbage vary; garbage gives a finding
            return ext, {}, tuple(problems) or ((fk.WRONG_LENGTH, f"{ext.name}: cannot be decoded", None),)
        values: dict[str, Any] = {}
        for s in ext.message.signals:
            if s.name not in raw:
                continue
            r = raw[s.name]
            if r == (1 << s.length) - 1:
                values[s.name] = None
                continue
            value = s.conversion.raw_to_scaled(r, decode_choices=True)
            values[s.name] = (
                str(value)
                if not isinstance(value, (int, float))
                else (round(value, 6) if isinstance(value, float) else value)
            )
        return ext, values, tuple(problems)


_cache: dict[Path, ExtensionCodec] = {}


def load(dbc_path: str | Path | None = None) -> ExtensionCodec:
    """The codec for a DBC path (the default when None), loaded once."""
    path = Path(dbc_path) if dbc_path else DEFAULT_DBC
    if path not in _cache:
        _cache[path] = ExtensionCodec(path)
    return _cache[path]
