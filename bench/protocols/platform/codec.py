"""Register codec: numbers and strings over 16-bit Modbus registers.

Types: ``u16``, ``i16``, ``u32``, ``i32`` (two registers, word order per map) and ``string``
(N registers, two bytes each, first character in the high byte, padded with NUL).

"Not available" follows the SunSpec convention (SunSpec Information Model Specification,
"unimplemented" values): u16 0xFFFF, i16 0x8000, u32 0xFFFFFFFF, i32 0x80000000, a string of
NUL only. A pile writes it for a value it does not have; the bench reads it as absent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

NUMBER_TYPES = {  # type: (registers, signed)
    "u16": (1, False), "i16": (1, True), "u32": (2, False), "i32": (2, True),
}
TYPES = (*NUMBER_TYPES, "string")


class CodecError(ValueError):
    """A value that does not fit its register, or registers that hold no valid value."""


def not_available(type_: str) -> int:
    count, signed = NUMBER_TYPES[type_]
    bits = 16 * count
    return 1 << (bits - 1) if signed else (1 << bits) - 1


def raw_range(type_: str) -> tuple[int, int]:
    """Lowest and highest raw value a number register carries (the not-available pattern excluded)."""
    count, signed = NUMBER_TYPES[type_]
    bits = 16 * count
    if signed:
        return -(1 << (bits - 1)) + 1, (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 2


def encode_raw(type_: str, raw: int | None, word_order: str) -> list[int]:
    """Registers for a raw integer (None: not available)."""
    count, signed = NUMBER_TYPES[type_]
    if raw is None:
        unsigned = not_available(type_)
    else:
        low, high = raw_range(type_)
        if not low <= raw <= high:
            raise CodecError(f"raw value {raw} outside {type_} range {low} … {high}")
        unsigned = raw & ((1 << (16 * count)) - 1)
    words = [(unsigned >> (16 * i)) & 0xFFFF for i in reversed(range(count))]  # high word first
    return words if word_order == "big" else list(reversed(words))


def decode_raw(type_: str, words: list[int], word_order: str) -> int | None:
    count, signed = NUMBER_TYPES[type_]
    if len(words) != count:
        raise CodecError(f"{type_} needs {count} register(s), got {len(words)}")
    ordered = words if word_order == "big" else list(reversed(words))
    unsigned = 0
    for word in ordered:
        unsigned = (unsigned << 16) | (word & 0xFFFF)
    if unsigned == not_available(type_):
        return None
    bits = 16 * count
    if signed and unsigned >= 1 << (bits - 1):
        return unsigned - (1 << bits)
    return unsigned


def scaled_to_raw(value: Decimal, scale: Decimal) -> int:
    """Engineering value (in the register's unit) → raw integer, rounded half up."""
    return int((value / scale).to_integral_value(rounding=ROUND_HALF_UP))


def raw_to_scaled(raw: int, scale: Decimal) -> Decimal:
    return Decimal(raw) * scale


def encode_string(text: str | None, count: int, encoding: str) -> list[int]:
    if text is None:
        return [0] * count
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        raise CodecError(f"{text!r} cannot be written in {encoding}") from None
    if len(data) > 2 * count:
        raise CodecError(f"{text!r} is {len(data)} bytes; the register holds {2 * count}")
    data = data.ljust(2 * count, b"\0")
    return [(data[i] << 8) | data[i + 1] for i in range(0, len(data), 2)]


def decode_string(words: list[int], encoding: str) -> str | None:
    data = b"".join(bytes([(w >> 8) & 0xFF, w & 0xFF]) for w in words)
    data = data.rstrip(b"\0").rstrip(b" ")
    if not data:
        return None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise CodecError(f"bytes {data.hex()} are not valid {encoding}") from None
