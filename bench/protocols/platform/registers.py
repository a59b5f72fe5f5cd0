"""A pile's Modbus register map: the TOML file format, its loader, and field encode/decode.

The file (format in README.md) gives each register the bench knows by name (fields.py) an
address, a type, a scale, a unit and whether it is writable; code tables translate the pile's
numbers for commands, states, event kinds and on/off into the bench's names.

Values cross this module in the bench's units (vocabulary.py): W, A, V, s, Ah, mΩ; codes as
names; strings as text; None for "not available".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Mapping

from bench.core.errors import ProfileError
from bench.core.tomlfile import read_toml
from bench.protocols.platform import codec
from bench.protocols.platform.codec import CodecError
from bench.protocols.platform.fields import CODE_TABLES, DEPENDS, FIELDS
from bench.protocols.platform.vocabulary import (
    COMMANDS, EVENT_KINDS, ON_OFF, STATES, UNITS, exact, from_bench_unit, to_bench_unit,
)

MAPS_DIR = Path(__file__).with_name("maps")
TABLES = ("holding", "input")
MAX_READ = 125  # registers per read request (Modbus Application Protocol V1.1b3 §6.3)
MAX_WRITE = 123  # registers per write-multiple request (§6.12)
CODE_NAMES = {"command": COMMANDS, "state": STATES, "event_kind": EVENT_KINDS, "on_off": ON_OFF}


class MapError(ProfileError):
    """A register map file that cannot be used: `<file>: <key>: <what was expected>`."""


@dataclass(frozen=True)
class Register:
    name: str
    address: int  # 0-based protocol address
    type: str
    count: int  # registers it spans
    scale: Decimal  # engineering value = raw × scale, in ``unit``
    unit: str
    writable: bool
    table: str  # "holding" | "input"
    description: str = ""

    @property
    def end(self) -> int:
        return self.address + self.count

    def where(self) -> str:
        last = f"–{self.end - 1}" if self.count > 1 else ""
        return f"{self.table} register {self.address}{last}"


@dataclass(frozen=True)
class ReadBlock:
    """One read request: contiguous registers of one table."""

    table: str
    address: int
    count: int
    registers: tuple[Register, ...]

    def split(self, words: list[int]) -> dict[str, list[int]]:
        return {r.name: list(words[r.address - self.address:r.end - self.address]) for r in self.registers}


@dataclass(frozen=True)
class RegisterMap:
    path: Path
    name: str
    word_order: str  # "big": high word first
    string_encoding: str
    registers: Mapping[str, Register]
    codes: Mapping[str, Mapping[str, int]]
    _by_address: Mapping[str, Mapping[int, Register]] = field(default_factory=dict, repr=False)

    # -- lookup ---------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self.registers

    def __getitem__(self, name: str) -> Register:
        return self.registers[name]

    def at(self, table: str, address: int) -> Register | None:
        """The register covering ``address`` in ``table`` (None for an unmapped address)."""
        return self._by_address.get(table, {}).get(address)

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

    # -- encode / decode ------------------------------------------------------------------
    def encode(self, name: str, value: Any) -> list[int]:
        """Registers for a bench value (None: not available). CodecError if it does not fit."""
        reg = self.registers[name]
        spec = FIELDS[name]
        if reg.type == "string":
            return codec.encode_string(value, reg.count, self.string_encoding)
        if value is None:
            return codec.encode_raw(reg.type, None, self.word_order)
        if spec.quantity.startswith("code:"):
            raw = self.code(spec.quantity[5:], value)
        else:
            raw = codec.scaled_to_raw(from_bench_unit(value, reg.unit), reg.scale)
            low, high = codec.raw_range(reg.type)
            if not low <= raw <= high:
                lo, hi = (self._to_bench(reg, r) for r in (low, high))
                unit = UNITS[reg.unit][0]
                raise CodecError(f"{name} = {value:g} {unit} does not fit {reg.where()} "
                                 f"({reg.type} × {reg.scale} {reg.unit}: {lo:g} … {hi:g} {unit})")
        return codec.encode_raw(reg.type, raw, self.word_order)

    def decode(self, name: str, words: list[int]) -> Any:
        reg = self.registers[name]
        spec = FIELDS[name]
        if reg.type == "string":
            return codec.decode_string(words, self.string_encoding)
        raw = codec.decode_raw(reg.type, words, self.word_order)
        if raw is None:
            return None
        if spec.quantity.startswith("code:"):
            return self.code_name(spec.quantity[5:], raw)
        return self._to_bench(reg, raw)

    def quantized(self, name: str, value: Any) -> Any:
        """The value as the pile will receive it (after the register's resolution)."""
        return self.decode(name, self.encode(name, value))

    @staticmethod
    def _to_bench(reg: Register, raw: int) -> float | int:
        """Counts and numbers (no unit, scale 1) as int; quantities as float."""
        if FIELDS[reg.name].quantity == "" and reg.scale == 1:
            return raw
        return to_bench_unit(codec.raw_to_scaled(raw, reg.scale), reg.unit)

    # -- request planning -----------------------------------------------------------------
    def read_blocks(self, names) -> list[ReadBlock]:
        """Group registers into as few reads as possible: same table, back to back, ≤ 125."""
        regs = sorted((self.registers[n] for n in names), key=lambda r: (r.table, r.address))
        blocks: list[list[Register]] = []
        for reg in regs:
            last = blocks[-1] if blocks else None
            if (last and last[-1].table == reg.table and last[-1].end == reg.address
                    and reg.end - last[0].address <= MAX_READ):
                last.append(reg)
            else:
                blocks.append([reg])
        return [ReadBlock(b[0].table, b[0].address, b[-1].end - b[0].address, tuple(b)) for b in blocks]

    def write_blocks(self, values: Mapping[str, Any]) -> list[tuple[int, list[int], tuple[Register, ...]]]:
        """Encode values into as few writes as possible (back to back, in address order)."""
        regs = sorted((self.registers[n] for n in values), key=lambda r: r.address)
        blocks: list[tuple[int, list[int], tuple[Register, ...]]] = []
        for reg in regs:
            words = self.encode(reg.name, values[reg.name])
            if blocks and blocks[-1][0] + len(blocks[-1][1]) == reg.address and len(blocks[-1][1]) + reg.count <= MAX_WRITE:
                start, old, members = blocks[-1]
                blocks[-1] = (start, old + words, members + (reg,))
            else:
                blocks.append((reg.address, words, (reg,)))
        return blocks


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------
def shipped_map(name: str) -> Path:
    """Path of a map shipped with the bench (``"sim-ac-pile"``, ``"sim-dc-charger"``)."""
    return MAPS_DIR / f"{name}.toml"


def load_map(path: str | Path) -> RegisterMap:
    path = Path(path)
    return _MapReader(path, read_toml(path, "no such register map file", MapError)).read()


class _MapReader:
    def __init__(self, path: Path, raw: dict):
        self.path = path
        self.raw = raw

    def fail(self, key: str, expected: str):
        raise MapError(self.path, key, expected)

    def read(self) -> RegisterMap:
        unknown = set(self.raw) - {"map", "registers", "codes"}
        if unknown:
            self.fail(sorted(unknown)[0], "unknown table; expected [map], [registers.<name>], [codes.<table>]")
        header = self._table("map", self.raw.get("map"))
        self._keys("map", header, ("name", "word_order", "string_encoding", "description"))
        word_order = header.get("word_order", "big")
        if word_order not in ("big", "little"):
            self.fail("map.word_order", f"'big' or 'little', got {word_order!r}")
        encoding = header.get("string_encoding", "ascii")
        try:
            "".encode(encoding)
        except (LookupError, TypeError):
            self.fail("map.string_encoding", f"a Python codec name such as 'ascii', got {encoding!r}")
        registers = {name: self._register(name, entry)
                     for name, entry in self._table("registers", self.raw.get("registers")).items()}
        codes = {name: self._codes(name, entry) for name, entry in self.raw.get("codes", {}).items()}
        self._check_complete(registers, codes)
        by_address = self._index(registers)
        return RegisterMap(self.path, str(header.get("name", self.path.stem)), word_order, encoding,
                           registers, codes, by_address)

    # -- pieces -------------------------------------------------------------------------
    def _table(self, key: str, value) -> dict:
        if not isinstance(value, dict):
            self.fail(key, "a table")
        return value

    def _keys(self, key: str, entry: dict, allowed: tuple[str, ...]) -> None:
        for k in entry:
            if k not in allowed:
                self.fail(f"{key}.{k}", "unknown key; expected one of: " + ", ".join(allowed))

    def _register(self, name: str, entry) -> Register:
        key = f"registers.{name}"
        if name not in FIELDS:
            self.fail(key, "unknown register name; expected one of: " + ", ".join(FIELDS))
        entry = self._table(key, entry)
        self._keys(key, entry, ("address", "type", "length", "scale", "unit", "writable", "table", "description"))
        spec = FIELDS[name]
        address = entry.get("address")
        if not isinstance(address, int) or isinstance(address, bool) or not 0 <= address <= 0xFFFF:
            self.fail(f"{key}.address", f"an integer 0 … 65535 (0-based protocol address), got {address!r}")
        type_ = entry.get("type")
        if type_ not in codec.TYPES:
            self.fail(f"{key}.type", f"one of {', '.join(codec.TYPES)}, got {type_!r}")
        if (spec.quantity == "string") != (type_ == "string"):
            self.fail(f"{key}.type", "'string'" if spec.quantity == "string" else "a number type (u16, i16, u32, i32)")
        if type_ == "string":
            length = entry.get("length")
            if not isinstance(length, int) or isinstance(length, bool) or not 1 <= length <= 120:
                self.fail(f"{key}.length", f"the number of registers the string spans (1 … 120), got {length!r}")
            count = length
        else:
            if "length" in entry:
                self.fail(f"{key}.length", "only for type = 'string'")
            count = codec.NUMBER_TYPES[type_][0]
        scale = self._scale(key, entry.get("scale", 1))
        unit = entry.get("unit", "")
        self._check_unit(key, spec.quantity, unit)
        writable = entry.get("writable", False)
        if not isinstance(writable, bool):
            self.fail(f"{key}.writable", f"true or false, got {writable!r}")
        if spec.writable and not writable:
            self.fail(f"{key}.writable", "true: the bench writes this register")
        table = entry.get("table", "holding")
        if table not in TABLES:
            self.fail(f"{key}.table", f"'holding' or 'input', got {table!r}")
        if table == "input" and writable:
            self.fail(f"{key}.writable", "false: input registers are read-only")
        if address + count > 0x10000:
            self.fail(f"{key}.address", "an address range inside 0 … 65535")
        description = entry.get("description", "")
        return Register(name, address, type_, count, scale, unit, writable, table, str(description))

    def _scale(self, key: str, value) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"{key}.scale", f"a number > 0, got {value!r}")
        try:
            scale = exact(value)
        except InvalidOperation:
            self.fail(f"{key}.scale", f"a number > 0, got {value!r}")
        if scale <= 0:
            self.fail(f"{key}.scale", f"a number > 0, got {value!r}")
        return scale

    def _check_unit(self, key: str, quantity: str, unit) -> None:
        if quantity == "string" or quantity.startswith("code:"):
            if unit != "":
                self.fail(f"{key}.unit", "no unit (codes and strings have none)")
            return
        wanted = [u for u, (bench_unit, _) in UNITS.items() if bench_unit == quantity]
        if unit not in wanted:
            self.fail(f"{key}.unit", "one of " + ", ".join(repr(u) for u in wanted) + f", got {unit!r}")

    def _codes(self, table: str, entry) -> dict[str, int]:
        key = f"codes.{table}"
        if table not in CODE_TABLES:
            self.fail(key, "unknown code table; expected one of: " + ", ".join(CODE_TABLES))
        entry = self._table(key, entry)
        names = CODE_NAMES[table]
        seen: dict[int, str] = {}
        for name, value in entry.items():
            if name not in names:
                self.fail(f"{key}.{name}", "a name among " + ", ".join(names))
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFFFE:
                self.fail(f"{key}.{name}", f"an integer code 0 … 65534, got {value!r}")
            if value in seen:
                self.fail(f"{key}.{name}", f"a code of its own ({value} is already {seen[value]!r})")
            seen[value] = name
        for needed in CODE_TABLES[table]:
            if needed not in entry:
                self.fail(f"{key}.{needed}", "missing; expected an integer code")
        return dict(entry)

    def _check_complete(self, registers: dict[str, Register], codes: dict[str, dict]) -> None:
        for name, spec in FIELDS.items():
            if spec.required and name not in registers:
                self.fail(f"registers.{name}", "missing; every map needs it (see README.md)")
        for name, partner in DEPENDS.items():
            if name in registers and partner not in registers:
                self.fail(f"registers.{partner}", f"missing; it goes with registers.{name}")
        for name in registers:
            quantity = FIELDS[name].quantity
            if quantity.startswith("code:") and quantity[5:] not in codes:
                self.fail(f"codes.{quantity[5:]}", f"missing; registers.{name} holds these codes")

    def _index(self, registers: dict[str, Register]) -> dict[str, dict[int, Register]]:
        index: dict[str, dict[int, Register]] = {t: {} for t in TABLES}
        for reg in sorted(registers.values(), key=lambda r: r.address):
            for address in range(reg.address, reg.end):
                other = index[reg.table].get(address)
                if other is not None:
                    self.fail(f"registers.{reg.name}.address",
                              f"an address range of its own ({reg.table} {address} is already {other.name!r})")
                index[reg.table][address] = reg
        return index
