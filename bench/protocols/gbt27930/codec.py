"""Encode and decode GB/T 27930 payloads to and from dicts of physical values.

Generic over ``catalogue.MESSAGES``: each message is compiled once into shifts and masks
over the payload read as one little-endian integer. Decoding never raises: a payload of
the wrong length or with impossible values decodes as far as it can and returns
*problems* (finding kind, text, field) that callers turn into findings. Encoding raises
ProtocolError for a value the standard cannot carry: that is a programming error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from bench.core.errors import ProtocolError
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930.catalogue import (
    BCD,
    ENUM,
    MESSAGES,
    TEXT,
    UINT,
    Field,
    MessageSpec,
)

Problem = tuple[str, str, str | None]  # (finding kind, text, field name)

_MISSING = object()
_CACHE_LIMIT = 8192


def _digits(scale: float) -> int:
    return max(0, math.ceil(-math.log10(scale) - 1e-9)) if scale < 1 else 0


class FieldCodec:
    """One field, compiled: where it sits and how raw becomes physical."""

    __slots__ = (
        "name",
        "kind",
        "shift",
        "bits",
        "mask",
        "scale",
        "offset",
        "digits",
        "integral",
        "optional",
        "values",
        "labels",
        "low",
        "high",
        "start",
        "end",
        "default",
        "spec",
    )

    def __init__(self, spec: Field, base_bit: int = 0):
        self.spec = spec
        self.name = spec.name
        self.kind = spec.kind
        self.shift = base_bit + spec.start_bit
        self.bits = spec.bits
        self.mask = (1 << spec.bits) - 1
        self.scale = spec.scale
        self.offset = spec.offset
        self.digits = _digits(spec.scale)
        self.integral = spec.scale == 1 and float(spec.offset).is_integer()
        self.optional = spec.optional
        self.values = dict(spec.values or {})
        self.labels = {label: raw for raw, label in self.values.items()}
        self.low, self.high = spec.low, spec.high
        self.start = self.shift // 8
        self.end = (self.shift + spec.bits + 7) // 8
        self.default = spec.default

    # -- decode ---------------------------------------------------------------------------
    def decode(self, whole: int, data: bytes, problems: list[Problem], where: str) -> str | int | float | bytes | None:
        raw = (whole >> self.shift) & self.mask
        kind = self.kind
        if kind == ENUM:
            label = self.values.get(raw)
            if label is not None:
                return label
        if raw == self.mask:
            if not self.optional:
                problems.append((fk.MISSING_VALUE, f"{where}.{self.name}: sent as all ones (not available)", self.name))
            return None
        if kind == UINT:
            value = raw * self.scale + self.offset
            value = int(value) if self.integral else round(value, self.digits)
        elif kind == ENUM:
            problems.append(
                (
                    fk.VALUE_OUT_OF_RANGE,
                    f"{where}.{self.name}: {raw:#x} is not one of {', '.join(f'{k:#x}' for k in self.values)}",
                    self.name,
                )
            )
            return raw
        elif kind == TEXT:
            chunk = data[self.start : self.end].rstrip(b"\xff")
            return chunk.decode("ascii") if _printable(chunk) else chunk
        elif kind == BCD:
            value = 0
            for byte in reversed(data[self.start : self.end]):
                hi, lo = byte >> 4, byte & 0xF
                if hi > 9 or lo > 9:
                    problems.append((fk.BAD_BCD, f"{where}.{self.name}: {byte:#04x} is not BCD", self.name))
                    return None
                value = value * 100 + hi * 10 + lo
        else:  # catalogue.VERSION
            return f"{raw >> 8}.{raw & 0xFF}"
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            problems.append(
                (
                    fk.VALUE_OUT_OF_RANGE,
                    f"{where}.{self.name}: {value} {self.spec.unit} outside "
                    f"{self.low if self.low is not None else '…'} … "
                    f"{self.high if self.high is not None else '…'}",
                    self.name,
                )
            )
        return value

    # -- encode ---------------------------------------------------------------------------
    def raw(self, value: Any, where: str) -> int:
        kind = self.kind
        try:
            if kind == UINT:
                raw = round((float(value) - self.offset) / self.scale)
            elif kind == ENUM:
                raw = self.labels[value] if isinstance(value, str) else int(value)
            elif kind == TEXT:
                data = value.encode("ascii") if isinstance(value, str) else bytes(value)
                width = self.bits // 8
                if len(data) > width:
                    raise ProtocolError(f"{where}.{self.name}: {value!r} is longer than {width} bytes")
                raw = int.from_bytes(data.ljust(width, b"\xff"), "little")
            elif kind == BCD:
                digits = f"{int(value):0{self.bits // 4}d}"
                if len(digits) > self.bits // 4 or int(value) < 0:
                    raise ProtocolError(f"{where}.{self.name}: {value!r} does not fit {self.bits // 8} BCD bytes")
                packed = bytes.fromhex(digits)[::-1]
                raw = int.from_bytes(packed, "little")
            else:  # VERSION "major.minor"
                major, minor = (int(p) for p in str(value).split("."))
                raw = (major << 8) | minor
        except (KeyError, ValueError, TypeError, UnicodeEncodeError) as exc:
            raise ProtocolError(f"{where}.{self.name}: cannot encode {value!r} ({exc})") from None
        if not 0 <= raw <= self.mask:
            raise ProtocolError(f"{where}.{self.name}: {value!r} is outside what {self.bits} bits can carry")
        if raw == self.mask and not (kind == ENUM and raw in self.values):
            raise ProtocolError(f"{where}.{self.name}: {value!r} encodes as all ones, which means 'not available'")
        return raw


def _printable(chunk: bytes) -> bool:
    return all(0x20 <= b < 0x7F for b in chunk)


class MessageCodec:
    """One message of the catalogue, compiled."""

    def __init__(self, spec: MessageSpec):
        self.spec = spec
        self.name = spec.name
        self.fields = tuple(FieldCodec(f) for f in spec.fields)
        rep = spec.repeat
        self.element = tuple(FieldCodec(f) for f in rep.fields) if rep else ()
        self.stride = rep.stride_bits // 8 if rep else 0
        self.covered = 0  # bits some field uses; the others must be ones
        for f in self.fields:
            self.covered |= f.mask << f.shift
        self._length_text = (
            f"a multiple of {self.stride} up to {spec.max_length}" if rep else " or ".join(str(n) for n in spec.lengths)
        )

    def decode(self, data: bytes) -> tuple[dict[str, Any], tuple[Problem, ...]]:
        problems: list[Problem] = []
        n = len(data)
        if not self.spec.length_ok(n):
            problems.append((fk.WRONG_LENGTH, f"{self.name}: {n} bytes, the standard says {self._length_text}", None))
        whole = int.from_bytes(data, "little")
        if not self.element:
            unused = ((1 << (8 * n)) - 1) & ~self.covered
            if whole & unused != unused:
                problems.append(
                    (
                        fk.RESERVED_BITS,
                        f"{self.name}: unused bits not sent as ones (payload {data.hex(' ')})",
                        "reserved",
                    )
                )
        values: dict[str, Any] = {}
        where = self.name
        for f in self.fields:
            if f.end > n:
                values[f.name] = None
                if not f.optional and n >= self.spec.max_length:
                    problems.append((fk.MISSING_VALUE, f"{where}.{f.name}: beyond the payload", f.name))
                continue
            values[f.name] = f.decode(whole, data, problems, where)
        if self.element:
            assert self.spec.repeat is not None  # element fields come from the repeat
            count = min(n // self.stride, self.spec.repeat.max_count)
            columns: dict[str, list[object]] = {f.name: [] for f in self.element}
            for i in range(count):
                base = i * self.stride * 8
                for f in self.element:
                    part = whole >> base
                    columns[f.name].append(f.decode(part, data[i * self.stride :], problems, where))
            values.update(columns)
        return values, tuple(problems)

    def encode(self, values: Mapping[str, Any], length: int | None = None) -> bytes:
        spec = self.spec
        where = self.name
        if self.element:
            assert spec.repeat is not None  # element fields come from the repeat
            columns = [values.get(f.name) or [] for f in self.element]
            count = max(len(c) for c in columns)
            if not 0 < count <= spec.repeat.max_count or any(len(c) != count for c in columns):
                raise ProtocolError(
                    f"{where}: give 1 … {spec.repeat.max_count} elements, the same number in "
                    f"{', '.join(f.name for f in self.element)}"
                )
            n = count * self.stride
        else:
            n = length if length is not None else spec.max_length
            if not spec.length_ok(n):
                raise ProtocolError(f"{where}: length {n} is not {self._length_text}")
        whole = (1 << (8 * n)) - 1
        for f in self.fields:
            value = values.get(f.name, _MISSING)
            if f.end > n:
                if value not in (_MISSING, None):
                    raise ProtocolError(f"{where}.{f.name}: does not fit in {n} bytes")
                continue
            if value is _MISSING or value is None:
                if f.optional:
                    continue
                if f.default is None:
                    raise ProtocolError(f"{where}.{f.name}: mandatory field missing")
                value = f.default
            whole = (whole & ~(f.mask << f.shift)) | (f.raw(value, where) << f.shift)
        for i in range(n // self.stride if self.element else 0):
            base = i * self.stride * 8
            for f in self.element:
                value = values[f.name][i]
                if value is None:
                    continue
                shift = base + f.shift
                whole = (whole & ~(f.mask << shift)) | (f.raw(value, where) << shift)
        return whole.to_bytes(n, "little")


class Codec:
    """All messages of the catalogue, by PGN and by name, with a decode cache."""

    def __init__(self, messages: Iterable[MessageSpec] = MESSAGES):
        self.by_name: dict[str, MessageCodec] = {m.name: MessageCodec(m) for m in messages}
        self.by_pgn: dict[int, MessageCodec] = {c.spec.pgn: c for c in self.by_name.values()}
        self._cache: dict[tuple[int, bytes], tuple[dict[str, Any], tuple[Problem, ...]]] = {}
        self._encoded: dict[tuple[object, ...], bytes] = {}

    def decode(self, pgn: int, data: bytes) -> tuple[MessageSpec, dict[str, Any], tuple[Problem, ...]] | None:
        """(spec, values, problems) for a catalogue PGN, None for any other PGN.

        Results are cached by payload: treat the returned dict as read-only.
        """
        codec = self.by_pgn.get(pgn)
        if codec is None:
            return None
        key = (pgn, bytes(data))
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            hit = self._cache[key] = codec.decode(key[1])
        return codec.spec, hit[0], hit[1]

    def encode(self, name: str, values: Mapping[str, Any], length: int | None = None) -> bytes:
        """Payload for ``values`` (periodic messages repeat their values: cached when hashable)."""
        key: tuple[object, ...] | None
        try:
            key = (name, length, *values.items())
            hit = self._encoded.get(key)
        except TypeError:  # lists (BMV, BMT): not cached
            key = hit = None
        if hit is not None:
            return hit
        codec = self.by_name.get(name)
        if codec is None:
            raise ProtocolError(f"no GB/T 27930 message named {name!r}")
        data = codec.encode(values, length)
        if key is not None:
            if len(self._encoded) >= _CACHE_LIMIT:
                self._encoded.clear()
            self._encoded[key] = data
        return data


CODEC = Codec()


def decode(pgn: int, data: bytes) -> tuple[MessageSpec, dict[str, Any], tuple[Problem, ...]] | None:
    return CODEC.decode(pgn, data)


def encode(name: str, values: Mapping[str, Any], length: int | None = None) -> bytes:
    return CODEC.encode(name, values, length)
