"""Valid physical values for any catalogue message: hypothesis strategies and fixed examples."""

from __future__ import annotations

import math
import random

from hypothesis import strategies as st

from bench.protocols.gbt27930.catalogue import BCD, ENUM, TEXT, UINT, VERSION, Field, MessageSpec

PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
MAX_ELEMENTS = 12  # enough to exercise BMV/BMT/BSP lists without slowing the tests


def _decimals(scale: float) -> int:
    return max(0, math.ceil(-math.log10(scale) - 1e-9)) if scale < 1 else 0


def physical(field: Field, raw: int):
    value = raw * field.scale + field.offset
    return int(value) if field.scale == 1 and float(field.offset).is_integer() else round(value, _decimals(field.scale))


def raw_range(field: Field) -> tuple[int, int]:
    """Raw values that are valid and not 'all ones' (not available)."""
    low, high = 0, (1 << field.bits) - 2
    if field.low is not None:
        low = max(low, math.ceil((field.low - field.offset) / field.scale - 1e-9))
    if field.high is not None:
        high = min(high, math.floor((field.high - field.offset) / field.scale + 1e-9))
    return low, high


def field_strategy(field: Field):
    if field.kind == UINT:
        low, high = raw_range(field)
        value = st.integers(low, high).map(lambda raw: physical(field, raw))
    elif field.kind == ENUM:
        value = st.sampled_from(sorted(field.values.values()))
    elif field.kind == TEXT:
        value = st.text(PRINTABLE, min_size=1, max_size=field.bits // 8)
    elif field.kind == BCD:
        low = int(field.low or 0)
        high = int(field.high if field.high is not None else 10 ** (field.bits // 4) - 1)
        value = st.integers(low, high)
    else:
        assert field.kind == VERSION
        value = st.tuples(st.integers(0, 0xFFFE), st.integers(0, 0xFF)).map(lambda v: f"{v[0]}.{v[1]}")
    return st.one_of(st.none(), value) if field.optional else value


@st.composite
def message_values(draw, spec: MessageSpec):
    """(values, length) for ``spec``: what encode takes and decode must give back."""
    if spec.repeat is not None:
        count = draw(st.integers(1, MAX_ELEMENTS))
        return {f.name: [draw(field_strategy(f)) for _ in range(count)] for f in spec.repeat.fields}, None
    length = draw(st.sampled_from(spec.lengths))
    values = {}
    for f in spec.fields:
        values[f.name] = draw(field_strategy(f)) if f.end_byte <= length else None
    return values, length


def example_values(spec: MessageSpec, seed: int = 1) -> tuple[dict, int | None]:
    """Deterministic values with every optional field present (for the DBC comparison)."""
    rng = random.Random(seed)

    def one(field: Field):
        if field.kind == UINT:
            return physical(field, rng.randint(*raw_range(field)))
        if field.kind == ENUM:
            return rng.choice(sorted(field.values.values()))
        if field.kind == TEXT:
            return "".join(rng.choice(PRINTABLE) for _ in range(field.bits // 8))
        if field.kind == BCD:
            return rng.randint(int(field.low or 0), int(field.high if field.high is not None else 99))
        return f"{rng.randint(0, 9)}.{rng.randint(0, 9)}"

    if spec.repeat is not None:
        count = spec.repeat.max_count
        return {f.name: [one(f) for _ in range(count)] for f in spec.repeat.fields}, None
    return {f.name: one(f) for f in spec.fields}, spec.max_length
