"""Reads the EV simulator's register map file (ev_simulator_map.toml) for the driver.

The file is the board's documentation: conventions (types, word order, scale) are in its
header. ``load_map`` checks every entry and ends a bad file with one line naming the file,
the key and what was expected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from bench.core.errors import ProfileError
from bench.core.tomlfile import read_toml

DEFAULT_MAP = Path(__file__).with_name("ev_simulator_map.toml")

TABLES = ("input", "holding")
# registers per value; "string" takes its ``count``
WIDTHS = {"u16": 1, "i16": 1, "u32": 2, "i32": 2}
_ENTRY_KEYS = {"address", "type", "count", "scale", "unit", "meaning", "min", "max", "values", "bits", "power_on"}


@dataclass(frozen=True)
class Register:
    name: str
    table: str  # "input" | "holding"
    address: int  # 0-based protocol address
    type: str  # u16 | i16 | u32 | i32 | string
    count: int  # registers it occupies
    scale: float = 1.0
    unit: str = ""
    meaning: str = ""
    minimum: float | None = None
    maximum: float | None = None
    values: Mapping[int, str] = field(default_factory=dict)  # the only raw values allowed
    bits: Mapping[str, int] = field(default_factory=dict)
    power_on: float | None = None

    @property
    def where(self) -> str:
        """e.g. "vehicle_contactors (holding 111)" for messages."""
        return f"{self.name} ({self.table} {self.address})"

    # -- checks ------------------------------------------------------------------------------
    def allowed(self, value: float) -> bool:
        if self.values:
            raw = self.raw(value)
            return raw in self.values and math.isclose(raw * self.scale, value, rel_tol=1e-9, abs_tol=1e-12)
        if self.minimum is not None and value < self.minimum:
            return False
        if self.maximum is not None and value > self.maximum:
            return False
        return True

    def allowed_text(self) -> str:
        if self.values:
            return ", ".join(f"{raw} ({text})" for raw, text in self.values.items())
        return f"{self.minimum:g} … {self.maximum:g} {self.unit}".strip()

    # -- coding ------------------------------------------------------------------------------
    def raw(self, value: float) -> int:
        return int(round(value / self.scale))

    def encode(self, value: float | str) -> list[int]:
        """Engineering value → register words (as sent on the wire)."""
        if self.type == "string":
            data = str(value).encode("ascii")[: 2 * self.count].ljust(2 * self.count, b"\0")
            return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
        raw = self.raw(value)
        bits = 16 * self.count
        if self.type.startswith("i"):
            if not -(1 << (bits - 1)) <= raw < (1 << (bits - 1)):
                raise ValueError(f"{self.where}: {value!r} does not fit {self.type}")
            raw &= (1 << bits) - 1
        elif not 0 <= raw < (1 << bits):
            raise ValueError(f"{self.where}: {value!r} does not fit {self.type}")
        return [(raw >> (16 * (self.count - 1 - i))) & 0xFFFF for i in range(self.count)]

    def decode_raw(self, words: Sequence[int]) -> int:
        """Register words → the raw integer (signed for i16/i32)."""
        if len(words) != self.count:
            raise ValueError(f"{self.where}: expected {self.count} registers, got {len(words)}")
        raw = 0
        for word in words:
            raw = (raw << 16) | (word & 0xFFFF)
        if self.type.startswith("i") and raw >= 1 << (16 * self.count - 1):
            raw -= 1 << (16 * self.count)
        return raw

    def decode(self, words: Sequence[int]) -> float | str:
        """Register words → engineering value (float), or text for a string."""
        if self.type == "string":
            data = b"".join(int(w).to_bytes(2, "big") for w in words)
            return data.rstrip(b"\0").decode("ascii", errors="replace")
        return self.decode_raw(words) * self.scale

    def bit(self, words: Sequence[int], name: str) -> bool:
        return bool(self.decode_raw(words) >> self.bits[name] & 1)


@dataclass(frozen=True)
class RegisterMap:
    path: Path
    name: str
    version: tuple[int, int]
    registers: Mapping[str, Register]
    board: Mapping[str, Any]

    def __getitem__(self, name: str) -> Register:
        return self.registers[name]

    @property
    def version_word(self) -> int:
        return self.version[0] << 8 | self.version[1]


def load_map(path: str | Path = DEFAULT_MAP) -> RegisterMap:
    path = Path(path)
    return _Reader(path).read(read_toml(path, "an EV simulator register map file; it does not exist"))


class _Reader:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, expected: str):
        raise ProfileError(self.path, key, expected)

    def read(self, raw: dict) -> RegisterMap:
        unknown = set(raw) - {"map", *TABLES, "board"}
        if unknown:
            self.fail(sorted(unknown)[0], "unknown table; expected map, board, input, holding")
        head = raw.get("map", {})
        version_text = head.get("version")
        try:
            major, minor = (int(p) for p in str(version_text).split("."))
            if not (0 <= major < 256 and 0 <= minor < 256):
                raise ValueError
        except ValueError:
            self.fail("map.version", f"'MAJOR.MINOR' with each part 0–255, got {version_text!r}")
        registers: dict[str, Register] = {}
        for table in TABLES:
            entries = raw.get(table, {})
            if not isinstance(entries, dict):
                self.fail(table, "a table of registers")
            used: dict[int, str] = {}
            for name, entry in entries.items():
                reg = self._register(table, name, entry)
                if name in registers:
                    self.fail(f"{table}.{name}", f"a unique register name (also in {registers[name].table})")
                for address in range(reg.address, reg.address + reg.count):
                    if address in used:
                        self.fail(f"{table}.{name}.address", f"an address not used by {used[address]}, got {reg.address}")
                    used[address] = name
                registers[name] = reg
        return RegisterMap(self.path, str(head.get("name", "")), (major, minor), registers, dict(raw.get("board", {})))

    def _register(self, table: str, name: str, entry: Any) -> Register:
        key = f"{table}.{name}"
        if not isinstance(entry, dict):
            self.fail(key, "a table with address, type, meaning")
        for k in entry:
            if k not in _ENTRY_KEYS:
                self.fail(f"{key}.{k}", "unknown key; expected one of: " + ", ".join(sorted(_ENTRY_KEYS)))
        address = entry.get("address")
        if not isinstance(address, int) or isinstance(address, bool) or not 0 <= address <= 0xFFFF:
            self.fail(f"{key}.address", f"an integer 0–65535, got {address!r}")
        typ = entry.get("type")
        if typ not in (*WIDTHS, "string"):
            self.fail(f"{key}.type", f"one of u16, i16, u32, i32, string, got {typ!r}")
        count = WIDTHS.get(typ) or entry.get("count")
        if not isinstance(count, int) or count < 1:
            self.fail(f"{key}.count", f"the number of registers of the string (≥ 1), got {count!r}")
        if address + count - 1 > 0xFFFF:
            self.fail(f"{key}.address", "a register block inside 0–65535")
        meaning = entry.get("meaning")
        if not isinstance(meaning, str) or not meaning.strip():
            self.fail(f"{key}.meaning", "a description of the register")
        scale = entry.get("scale", 1.0)
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or scale <= 0:
            self.fail(f"{key}.scale", f"a positive number, got {scale!r}")
        values = {}
        for raw_value, text in entry.get("values", {}).items():
            try:
                values[int(raw_value)] = str(text)
            except ValueError:
                self.fail(f"{key}.values", f"integer raw values as keys, got {raw_value!r}")
        bits = dict(entry.get("bits", {}))
        if any(not isinstance(b, int) or not 0 <= b < 16 * count for b in bits.values()):
            self.fail(f"{key}.bits", f"bit numbers 0–{16 * count - 1}, got {bits!r}")
        minimum, maximum = entry.get("min"), entry.get("max")
        if table == "holding" and not values and typ != "string" and (minimum is None or maximum is None):
            self.fail(key, "allowed values for a command register: min and max, or values")
        return Register(name=name, table=table, address=address, type=typ, count=count, scale=float(scale),
                        unit=str(entry.get("unit", "")), meaning=meaning.strip(),
                        minimum=None if minimum is None else float(minimum),
                        maximum=None if maximum is None else float(maximum),
                        values=values, bits=bits, power_on=entry.get("power_on"))
