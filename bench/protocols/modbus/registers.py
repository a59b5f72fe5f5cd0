"""Modbus register maps: the register codec, the register, the map, and the two map files.

One codec serves every Modbus device the bench talks to or simulates: the EV simulator / relay
board (``BoardMap``, from its file instruments/ev/ev_simulator_map.toml, read by its driver)
and a pile's control port (``PileMap``, from the map file the profile names; format in
bench/protocols/platform/README.md, read by the platform channel and the simulated pile).

Types: ``u16``, ``i16``, ``u32``, ``i32`` (two registers, in the map's word order) and
``string`` (N registers, two bytes each, first character in the high byte, padded with NUL).
Engineering value = raw × scale, in exact decimal arithmetic; a value is written rounded half
up to the register's resolution, and one that does not fit is refused, never truncated.

"Not available" (pile maps) follows the SunSpec convention (SunSpec Information Model
Specification, "unimplemented" values): u16 0xFFFF, i16 0x8000, u32 0xFFFFFFFF, i32 0x80000000,
a string of NUL only. A pile writes it for a value it does not have; the bench reads it as
absent. The board has no such pattern: every raw value is a value.

A map file with a mistake ends in one MapError line naming the file, the key and what was
expected (bench.core.tomlfile.Table).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, NoReturn

from bench.core.errors import ProfileError
from bench.core.tomlfile import Table, read_toml
from bench.protocols.modbus.protocol import MAX_READ, MAX_WRITE
from bench.protocols.platform.fields import CODE_TABLES, DEPENDS, FIELDS
from bench.protocols.platform.vocabulary import (
    COMMANDS,
    EVENT_KINDS,
    ON_OFF,
    STATES,
    UNITS,
    exact,
    from_bench_unit,
    to_bench_unit,
)

NUMBER_TYPES = {  # name: (registers, signed)
    "u16": (1, False),
    "i16": (1, True),
    "u32": (2, False),
    "i32": (2, True),
}
TYPES = (*NUMBER_TYPES, "string")
TABLES = ("holding", "input")
MAX_STRING = 120  # registers a string may span (one read carries at most 125)

# The EV simulator / relay board's map: the board's documentation, shipped with its driver.
EV_BOARD_MAP = Path(__file__).resolve().parents[3] / "instruments" / "ev" / "ev_simulator_map.toml"
# The pile maps shipped with the bench (the simulated piles'): bench/protocols/platform/maps.
PILE_MAPS_DIR = Path(__file__).resolve().parents[1] / "platform" / "maps"
CODE_NAMES = {"command": COMMANDS, "state": STATES, "event_kind": EVENT_KINDS, "on_off": ON_OFF}


class CodecError(ValueError):
    """A value that does not fit its register, or registers that hold no valid value."""


class MapError(ProfileError):
    """A register map file that cannot be used: `<file>: <key>: <what was expected>`."""


# --------------------------------------------------------------------------------------
# The codec: raw integers and strings ↔ register words
# --------------------------------------------------------------------------------------
def not_available(type_: str) -> int:
    """The SunSpec "not available" raw pattern of a number type."""
    count, signed = NUMBER_TYPES[type_]
    bits = 16 * count
    return 1 << (bits - 1) if signed else (1 << bits) - 1


def raw_range(type_: str, sunspec: bool = True) -> tuple[int, int]:
    """Lowest and highest raw value a number register carries (with ``sunspec``, the
    not-available pattern excluded)."""
    count, signed = NUMBER_TYPES[type_]
    bits = 16 * count
    if signed:
        return -(1 << (bits - 1)) + int(sunspec), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - int(sunspec)


def encode_raw(type_: str, raw: int | None, word_order: str = "big", sunspec: bool = True) -> list[int]:
    """Registers for a raw integer (None: not available, with ``sunspec``)."""
    count, _ = NUMBER_TYPES[type_]
    if raw is None:
        if not sunspec:
            raise CodecError(f"{type_} has no 'not available' value here")
        unsigned = not_available(type_)
    else:
        low, high = raw_range(type_, sunspec)
        if not low <= raw <= high:
            raise CodecError(f"raw value {raw} outside {type_} range {low} … {high}")
        unsigned = raw & ((1 << (16 * count)) - 1)
    words = [(unsigned >> (16 * i)) & 0xFFFF for i in reversed(range(count))]  # high word first
    return words if word_order == "big" else list(reversed(words))


def decode_raw(type_: str, words: Sequence[int], word_order: str = "big", sunspec: bool = True) -> int | None:
    """The raw integer (signed for i16/i32) the registers hold; None for not available."""
    count, signed = NUMBER_TYPES[type_]
    if len(words) != count:
        raise CodecError(f"{type_} needs {count} register(s), got {len(words)}")
    ordered = list(words) if word_order == "big" else list(reversed(words))
    unsigned = 0
    for word in ordered:
        unsigned = (unsigned << 16) | (word & 0xFFFF)
    if sunspec and unsigned == not_available(type_):
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


def decode_string(words: Sequence[int], encoding: str) -> str | None:
    data = b"".join(bytes([(w >> 8) & 0xFF, w & 0xFF]) for w in words)
    data = data.rstrip(b"\0").rstrip(b" ")
    if not data:
        return None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise CodecError(f"bytes {data.hex()} are not valid {encoding}") from None


# --------------------------------------------------------------------------------------
# Registers and maps
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Register:
    """One register (or block of registers for a 32-bit value or a string) of a map."""

    name: str
    table: str  # "holding" | "input"
    address: int  # 0-based protocol address
    type: str  # u16 | i16 | u32 | i32 | string
    count: int  # registers it spans
    scale: float = 1.0  # engineering value = raw × scale, in ``unit`` (as the file gives it)
    unit: str = ""
    meaning: str = ""
    writable: bool = False
    minimum: float | None = None  # the engineering values a board register accepts …
    maximum: float | None = None
    values: Mapping[int, str] = field(default_factory=dict)  # … or the only raw values it accepts
    bits: Mapping[str, int] = field(default_factory=dict)  # bit fields: name → bit number
    power_on: float | None = None  # a board's holding register after power-up
    word_order: str = "big"  # "big": high word first
    encoding: str = "ascii"  # of a string register
    sunspec: bool = False  # the SunSpec not-available patterns read as None

    @property
    def end(self) -> int:
        return self.address + self.count

    @property
    def label(self) -> str:
        """e.g. "vehicle_contactors (holding 111)" for messages."""
        return f"{self.name} ({self.table} {self.address})"

    @property
    def span(self) -> str:
        """e.g. "holding register 2001–2002" for messages."""
        return span((self,))

    # -- coding -----------------------------------------------------------------------------
    def raw_range(self) -> tuple[int, int]:
        return raw_range(self.type, self.sunspec)

    def to_raw(self, value: float | Decimal) -> int:
        """Engineering value (in ``unit``) → raw integer, rounded half up (range not checked)."""
        return scaled_to_raw(value if isinstance(value, Decimal) else exact(float(value)), exact(self.scale))

    def scaled(self, raw: int) -> Decimal:
        """Raw integer → the exact engineering value (in ``unit``)."""
        return raw_to_scaled(raw, exact(self.scale))

    def encode_raw(self, raw: int | None) -> list[int]:
        return encode_raw(self.type, raw, self.word_order, self.sunspec)

    def decode_raw(self, words: Sequence[int]) -> int | None:
        return decode_raw(self.type, words, self.word_order, self.sunspec)

    def encode(self, value: float | Decimal | str | None) -> list[int]:
        """Engineering value (in ``unit``), or text for a string → register words."""
        if self.type == "string":
            return encode_string(None if value is None else str(value), self.count, self.encoding)
        if value is None:
            return self.encode_raw(None)
        if isinstance(value, str):
            self._fail_value(value)
        raw = self.to_raw(value)
        low, high = self.raw_range()
        if not low <= raw <= high:
            self._fail_value(value)
        return self.encode_raw(raw)

    def decode(self, words: Sequence[int]) -> float | str | None:
        """Register words → engineering value (float, in ``unit``), text, or None (not available)."""
        if self.type == "string":
            return decode_string(words, self.encoding)
        raw = self.decode_raw(words)
        return None if raw is None else float(self.scaled(raw))

    def integer(self, words: Sequence[int]) -> int:
        """Register words → the raw integer of a number register that has a value."""
        raw = self.decode_raw(words)
        if raw is None:
            raise CodecError(f"{self.label}: not available")
        return raw

    def number(self, words: Sequence[int]) -> float:
        """Register words → the engineering value (in ``unit``) of a number register that has one."""
        return float(self.scaled(self.integer(words)))

    def bit(self, words: Sequence[int], name: str) -> bool:
        return bool(self.integer(words) >> self.bits[name] & 1)

    def _fail_value(self, value: object) -> NoReturn:
        raise CodecError(f"{self.label}: {value!r} does not fit {self.type}")

    # -- the values a board register accepts --------------------------------------------------
    def allowed(self, value: float) -> bool:
        if self.values:
            raw = self.to_raw(value)
            return raw in self.values and math.isclose(float(self.scaled(raw)), value, rel_tol=1e-9, abs_tol=1e-12)
        if self.minimum is not None and value < self.minimum:
            return False
        if self.maximum is not None and value > self.maximum:
            return False
        return True

    def allowed_text(self) -> str:
        if self.values:
            return ", ".join(f"{raw} ({text})" for raw, text in self.values.items())
        return f"{self.minimum:g} … {self.maximum:g} {self.unit}".strip()


def span(registers: Sequence[Register]) -> str:
    """Where registers back to back in one table are, e.g. "input register 1500–1508"."""
    first, last = registers[0], registers[-1]
    tail = f"–{last.end - 1}" if last.end - 1 > first.address else ""
    return f"{first.table} register {first.address}{tail}"


@dataclass(frozen=True)
class ReadBlock:
    """One read request: contiguous registers of one table."""

    table: str
    address: int
    count: int
    registers: tuple[Register, ...]

    def split(self, words: Sequence[int]) -> dict[str, list[int]]:
        return {r.name: list(words[r.address - self.address : r.end - self.address]) for r in self.registers}


@dataclass(frozen=True)
class RegisterMap:
    """Registers by name and by address, and the requests that read them."""

    path: Path
    name: str
    registers: Mapping[str, Register]
    word_order: str = "big"  # of 32-bit values: "big" = high word first
    string_encoding: str = "ascii"
    by_address: Mapping[str, Mapping[int, Register]] = field(default_factory=dict, repr=False)

    def has(self, name: str) -> bool:
        return name in self.registers

    def __getitem__(self, name: str) -> Register:
        return self.registers[name]

    def at(self, table: str, address: int) -> Register | None:
        """The register covering ``address`` in ``table`` (None for an unmapped address)."""
        return self.by_address.get(table, {}).get(address)

    def read_blocks(self, names: Iterable[str]) -> list[ReadBlock]:
        """Group registers into as few reads as possible: same table, back to back, ≤ 125."""
        regs = sorted((self.registers[n] for n in names), key=lambda r: (r.table, r.address))
        blocks: list[list[Register]] = []
        for reg in regs:
            last = blocks[-1] if blocks else None
            if (
                last
                and last[-1].table == reg.table
                and last[-1].end == reg.address
                and reg.end - last[0].address <= MAX_READ
            ):
                last.append(reg)
            else:
                blocks.append([reg])
        return [ReadBlock(b[0].table, b[0].address, b[-1].end - b[0].address, tuple(b)) for b in blocks]


@dataclass(frozen=True)
class BoardMap(RegisterMap):
    """The EV simulator / relay board's map: registers in the board's own units, its version
    and its fixed properties (``[board]``)."""

    version: tuple[int, int] = (0, 0)
    board: Mapping[str, Any] = field(default_factory=dict)

    @property
    def version_word(self) -> int:
        return self.version[0] << 8 | self.version[1]


@dataclass(frozen=True)
class PileMap(RegisterMap):
    """A pile's control-port map: the registers the bench knows by name (fields.py), read and
    written in the bench's units and names (vocabulary.py): W, A, V, s, Ah, mΩ; codes as names;
    strings as text; None for "not available"."""

    codes: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def code(self, table: str, name: str) -> int:
        try:
            return self.codes[table][name]
        except KeyError:
            raise CodecError(f"the map's [codes.{table}] has no code for {name!r}") from None

    def code_name(self, table: str, code: int) -> str:
        for name, value in self.codes.get(table, {}).items():
            if value == code:
                return name
        raise CodecError(f"code {code} is not in the map's [codes.{table}]")

    def encode(self, name: str, value: Any) -> list[int]:
        """Registers for a bench value (None: not available). CodecError if it does not fit."""
        reg = self.registers[name]
        quantity = FIELDS[name].quantity
        if reg.type == "string" or value is None:
            return reg.encode(value)
        if quantity.startswith("code:"):
            raw = self.code(quantity[5:], value)
        else:
            raw = reg.to_raw(from_bench_unit(value, reg.unit))
            low, high = reg.raw_range()
            if not low <= raw <= high:
                lo, hi = (self._to_bench(reg, r) for r in (low, high))
                unit = UNITS[reg.unit][0]
                raise CodecError(
                    f"{name} = {value:g} {unit} does not fit {reg.span} "
                    f"({reg.type} × {reg.scale} {reg.unit}: {lo:g} … {hi:g} {unit})"
                )
        return reg.encode_raw(raw)

    def decode(self, name: str, words: Sequence[int]) -> Any:
        reg = self.registers[name]
        quantity = FIELDS[name].quantity
        if reg.type == "string":
            return reg.decode(words)
        raw = reg.decode_raw(words)
        if raw is None:
            return None
        if quantity.startswith("code:"):
            return self.code_name(quantity[5:], raw)
        return self._to_bench(reg, raw)

    def quantized(self, name: str, value: Any) -> Any:
        """The value as the pile will receive it (after the register's resolution)."""
        return self.decode(name, self.encode(name, value))

    @staticmethod
    def _to_bench(reg: Register, raw: int) -> float | int:
        """Counts and numbers (no unit, scale 1) as int; quantities as float."""
        if FIELDS[reg.name].quantity == "" and reg.scale == 1:
            return raw
        return to_bench_unit(reg.scaled(raw), reg.unit)

    def write_blocks(self, values: Mapping[str, Any]) -> list[tuple[int, list[int], tuple[Register, ...]]]:
        """Encode values into as few writes as possible (back to back, in address order)."""
        regs = sorted((self.registers[n] for n in values), key=lambda r: r.address)
        blocks: list[tuple[int, list[int], tuple[Register, ...]]] = []
        for reg in regs:
            words = self.encode(reg.name, values[reg.name])
            last = blocks[-1] if blocks else None
            if last and last[0] + len(last[1]) == reg.address and len(last[1]) + reg.count <= MAX_WRITE:
                start, old, members = last
                blocks[-1] = (start, old + words, members + (reg,))
            else:
                blocks.append((reg.address, words, (reg,)))
        return blocks


# --------------------------------------------------------------------------------------
# The map files
# --------------------------------------------------------------------------------------
def load_board_map(path: str | Path = EV_BOARD_MAP) -> BoardMap:
    """The EV simulator / relay board's map (its driver's file by default; format in its header)."""
    path = Path(path)
    root = Table(path, "", read_toml(path, "an EV simulator register map file; it does not exist", MapError), MapError)
    return _read_board_map(root)


def shipped_pile_map(name: str) -> Path:
    """Path of a pile map shipped with the bench (``"sim-ac-pile"``, ``"sim-dc-charger"``)."""
    return PILE_MAPS_DIR / f"{name}.toml"


def load_pile_map(path: str | Path) -> PileMap:
    """A pile's control-port map (format: bench/protocols/platform/README.md)."""
    path = Path(path)
    root = Table(path, "", read_toml(path, "no such register map file", MapError), MapError)
    return _read_pile_map(root)


# Keys of a register entry, by file format.
BOARD_ENTRY_KEYS = ("address", "type", "count", "scale", "unit", "meaning", "min", "max", "values", "bits", "power_on")
PILE_ENTRY_KEYS = ("address", "type", "length", "scale", "unit", "writable", "table", "description")


def _layout(t: Table, name: str, table: str, length_key: str) -> Register:
    """A register with an entry's address, type, register count (``length_key`` for a string),
    scale and unit; the reader of each file format adds the rest."""
    address = t.integer("address", low=0, high=0xFFFF)
    type_ = t.value("type")
    if type_ not in TYPES:
        t.fail("type", f"one of {', '.join(TYPES)}, got {type_!r}")
    length = t.value(length_key)
    if type_ == "string":
        if not isinstance(length, int) or isinstance(length, bool) or not 1 <= length <= MAX_STRING:
            t.fail(length_key, f"the number of registers the string spans (1 … {MAX_STRING}), got {length!r}")
        count = length
    else:
        if length is not None:
            t.fail(length_key, "only for type = 'string'")
        count = NUMBER_TYPES[type_][0]
    if address + count > 0x10000:
        t.fail("address", "an address range inside 0 … 65535")
    scale = t.value("scale", 1)
    if (
        isinstance(scale, bool)
        or not isinstance(scale, (int, float))
        or (isinstance(scale, float) and not math.isfinite(scale))
        or scale <= 0
    ):
        t.fail("scale", f"a number > 0, got {scale!r}")
    return Register(name, table, address, type_, count, scale=scale, unit=t.get("unit", str, ""))


def _index(
    registers: Iterable[Register], key: Callable[[Register], str], fail: Callable[[str, str], Any]
) -> dict[str, dict[int, Register]]:
    """Registers by table and address; an address two registers cover fails (``key``: the entry's key)."""
    index: dict[str, dict[int, Register]] = {t: {} for t in TABLES}
    for reg in registers:
        for address in range(reg.address, reg.end):
            other = index[reg.table].get(address)
            if other is not None:
                fail(
                    f"{key(reg)}.address",
                    f"an address not used by {other.name}: {reg.table} {address} is already {other.name!r}",
                )
            index[reg.table][address] = reg
    return index


def _read_board_map(root: Table) -> BoardMap:
    head = root.table("map", required=True)
    version_text = head.value("version")
    try:
        major, minor = (int(p) for p in str(version_text).split("."))
        if not (0 <= major < 256 and 0 <= minor < 256):
            raise ValueError
    except ValueError:
        head.fail("version", f"'MAJOR.MINOR' with each part 0–255, got {version_text!r}")
    name = head.get("name", str, "")
    head.finish()
    board = root.table("board")
    registers: dict[str, Register] = {}
    for table in ("input", "holding"):
        entries = root.table(table)
        for reg_name, entry in entries.tables() if entries else ():
            if reg_name in registers:
                root.fail(f"{table}.{reg_name}", f"a unique register name (also in {registers[reg_name].table})")
            registers[reg_name] = _board_register(table, reg_name, entry)
    root.finish()
    index = _index(registers.values(), lambda r: f"{r.table}.{r.name}", root.fail)
    return BoardMap(
        root.path, name, registers, by_address=index, version=(major, minor), board=dict(board.data) if board else {}
    )


def _board_register(table: str, name: str, t: Table) -> Register:
    layout = _layout(t, name, table, "count")
    meaning = t.value("meaning")
    if not isinstance(meaning, str) or not meaning.strip():
        t.fail("meaning", "a description of the register")
    values: dict[int, str] = {}
    raw_values = t.value("values", {})
    if not isinstance(raw_values, dict):
        t.fail("values", f"a table of raw value = meaning, got {raw_values!r}")
    for raw_value, text in raw_values.items():
        try:
            values[int(raw_value)] = str(text)
        except ValueError:
            t.fail("values", f"integer raw values as keys, got {raw_value!r}")
    bits = t.value("bits", {})
    if not isinstance(bits, dict) or any(
        not isinstance(b, int) or isinstance(b, bool) or not 0 <= b < 16 * layout.count for b in bits.values()
    ):
        t.fail("bits", f"bit numbers 0–{16 * layout.count - 1}, got {bits!r}")
    minimum, maximum = t.get("min", float, None), t.get("max", float, None)
    if table == "holding" and not values and layout.type != "string" and (minimum is None or maximum is None):
        raise MapError(t.path, t.name, "allowed values for a command register: min and max, or values")
    register = replace(
        layout,
        meaning=meaning.strip(),
        writable=table == "holding",
        minimum=minimum,
        maximum=maximum,
        values=values,
        bits=dict(bits),
        power_on=t.get("power_on", float, None),
    )
    t.finish(BOARD_ENTRY_KEYS)
    return register


def _read_pile_map(root: Table) -> PileMap:
    header = root.table("map", required=True)
    word_order = header.choice("word_order", ("big", "little"), "big")
    encoding = header.get("string_encoding", str, "ascii")
    try:
        "".encode(encoding)
    except LookupError:
        header.fail("string_encoding", f"a Python codec name such as 'ascii', got {encoding!r}")
    name = header.get("name", str, root.path.stem)
    header.get("description", str, "")
    header.finish()
    entries = root.table("registers", required=True)
    registers: dict[str, Register] = {}
    for reg_name in entries.data:
        if reg_name not in FIELDS:
            entries.fail(reg_name, "unknown register name; expected one of: " + ", ".join(FIELDS))
    for reg_name, entry in entries.tables():
        registers[reg_name] = _pile_register(reg_name, entry, word_order, encoding)
    code_tables = root.table("codes")
    codes = {table: _codes(table, entry) for table, entry in code_tables.tables()} if code_tables else {}
    root.finish()
    _check_complete(root, registers, codes)
    by_address = sorted(registers.values(), key=lambda r: r.address)
    index = _index(by_address, lambda r: f"registers.{r.name}", root.fail)
    return PileMap(root.path, name, registers, word_order, encoding, index, codes)


def _pile_register(name: str, t: Table, word_order: str, encoding: str) -> Register:
    spec = FIELDS[name]
    layout = _layout(t, name, "holding", "length")
    if (spec.quantity == "string") != (layout.type == "string"):
        t.fail("type", "'string'" if spec.quantity == "string" else "a number type (u16, i16, u32, i32)")
    unit = layout.unit
    if spec.quantity == "string" or spec.quantity.startswith("code:"):
        if unit != "":
            t.fail("unit", "no unit (codes and strings have none)")
    else:
        wanted = [u for u, (bench_unit, _) in UNITS.items() if bench_unit == spec.quantity]
        if unit not in wanted:
            t.fail("unit", "one of " + ", ".join(repr(u) for u in wanted) + f", got {unit!r}")
    writable = t.get("writable", bool, False)
    if spec.writable and not writable:
        t.fail("writable", "true: the bench writes this register")
    table = t.choice("table", TABLES, "holding")
    if table == "input" and writable:
        t.fail("writable", "false: input registers are read-only")
    description = t.get("description", str, "")
    t.finish(PILE_ENTRY_KEYS)
    return replace(
        layout,
        table=table,
        meaning=description,
        writable=writable,
        word_order=word_order,
        encoding=encoding,
        sunspec=True,
    )


def _codes(table: str, t: Table) -> dict[str, int]:
    if table not in CODE_TABLES:
        raise MapError(t.path, t.name, "unknown code table; expected one of: " + ", ".join(CODE_TABLES))
    names = CODE_NAMES[table]
    seen: dict[int, str] = {}
    codes: dict[str, int] = {}
    for name in t.data:
        value = t.value(name)
        if name not in names:
            t.fail(name, "a name among " + ", ".join(names))
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFFFE:
            t.fail(name, f"an integer code 0 … 65534, got {value!r}")
        if value in seen:
            t.fail(name, f"a code of its own ({value} is already {seen[value]!r})")
        seen[value] = name
        codes[name] = value
    for needed in CODE_TABLES[table]:
        if needed not in codes:
            t.fail(needed, "missing; expected an integer code")
    return codes


def _check_complete(root: Table, registers: Mapping[str, Register], codes: Mapping[str, Mapping[str, int]]) -> None:
    for name, spec in FIELDS.items():
        if spec.required and name not in registers:
            root.fail(f"registers.{name}", "missing; every map needs it (see README.md)")
    for name, partner in DEPENDS.items():
        if name in registers and partner not in registers:
            root.fail(f"registers.{partner}", f"missing; it goes with registers.{name}")
    for name in registers:
        quantity = FIELDS[name].quantity
        if quantity.startswith("code:") and quantity[5:] not in codes:
            root.fail(f"codes.{quantity[5:]}", f"missing; registers.{name} holds these codes")
