"""Reading the bench's TOML files (profiles, register maps) with one-line errors.

``read_toml`` parses a file; ``Table`` reads one table of it key by key (typed values, ranges,
choices, files, sub-tables) and refuses the keys nobody read. Every problem is one
``error(path, key, expected)`` line naming the file, the dotted key and what was expected
(``ProfileError`` unless the reader names its own subclass).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, NoReturn, overload

from bench.core.errors import ProfileError


def read_toml(path: str | Path, missing: str, error: type[ProfileError] = ProfileError) -> dict[str, Any]:
    """The parsed file; a missing file or bad TOML is ``error(path, key, expected)``.

    ``missing`` is what the message says was expected when the file is not there.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(path, "(file)", missing) from None
    except IsADirectoryError:
        raise error(path, "(file)", "a TOML file, got a directory") from None
    except OSError as exc:
        raise error(path, "(file)", f"a readable TOML file ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            path,
            "(encoding)",
            f"UTF-8 text (TOML), got byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}; binary or UTF-16 files are not profiles",
        ) from None
    if text.startswith("\ufeff"):
        raise error(path, "(encoding)", "UTF-8 without a byte-order mark (TOML allows none)")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(path, "(syntax)", f"valid TOML ({exc})") from None
    except ValueError as exc:  # e.g. an integer longer than Python converts (4300 digits)
        raise error(path, "(syntax)", f"valid TOML ({exc})") from None
    except RecursionError:
        raise error(
            path, "(syntax)", "TOML nested no deeper than Python can read (arrays or tables nested thousands deep)"
        ) from None


MISSING: Any = object()  # "no default": the key is required
TYPE_NAMES = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a table",
}


class Table:
    """One TOML table being read: tracks its dotted name and which keys were used.

    ``path`` names the file in every message; ``error`` is the ProfileError subclass raised.
    """

    def __init__(self, path: Path, name: str, data: Any, error: type[ProfileError] = ProfileError):
        self.path = path
        self.name = name
        self.error = error
        if not isinstance(data, dict):
            raise error(path, name, "a table")
        self.data: dict[str, Any] = data
        self.used: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def fail(self, key: str, expected: str) -> NoReturn:
        raise self.error(self.path, self.key(key), expected)

    def value(self, key: str, default: Any = None) -> Any:
        """The value as the file has it (``default`` when absent), for checks of its own."""
        self.used.add(key)
        return self.data.get(key, default)

    def get(self, key: str, typ: type, default: Any = MISSING, unit: str = "") -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is MISSING:
                self.fail(key, f"missing; expected {TYPE_NAMES[typ]}" + (f" ({unit})" if unit else ""))
            return default
        value = self.data[key]
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > 1e300:
                self.fail(
                    key,
                    "expected a finite number"
                    + (f" ({unit})" if unit else "")
                    + f", got an integer of {len(str(abs(value)))} digits",
                )
            value = float(value)
        if typ is float and isinstance(value, float) and not math.isfinite(value):
            self.fail(key, "expected a finite number" + (f" ({unit})" if unit else "") + f", got {value!r}")
        if not isinstance(value, typ) or (typ is not bool and isinstance(value, bool)):
            self.fail(key, f"expected {TYPE_NAMES[typ]}" + (f" ({unit})" if unit else "") + f", got {value!r}")
        return value

    def number(
        self, key: str, unit: str, default: Any = MISSING, low: float | None = None, high: float | None = None
    ) -> Any:
        value = self.get(key, float, default, unit)
        if value is not None and ((low is not None and value < low) or (high is not None and value > high)):
            bounds = f"{low if low is not None else '-∞'} … {high if high is not None else '∞'}"
            self.fail(key, f"expected a number in {bounds} {unit}, got {value!r}")
        return value

    def integer(self, key: str, default: Any = MISSING, low: int | None = None, high: int | None = None) -> Any:
        value = self.get(key, int, default)
        if value is not None and ((low is not None and value < low) or (high is not None and value > high)):
            self.fail(key, f"expected an integer in {low} … {high}, got {value!r}")
        return value

    def choice(self, key: str, choices: Sequence[Any], default: Any = MISSING) -> Any:
        value = self.get(key, str if all(isinstance(c, str) for c in choices) else int, default)
        if value not in choices and value is not default:
            self.fail(key, "expected one of " + ", ".join(repr(c) for c in choices) + f", got {value!r}")
        return value

    def range(self, key: str, unit: str, low: float | None = None) -> tuple[float, float]:
        value = self.get(key, list, unit=unit)
        if len(value) != 2 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e300 and math.isfinite(v)
            for v in value
        ):
            self.fail(key, f"expected [min, max] in {unit} (finite numbers), got {value!r}")
        lo, hi = float(value[0]), float(value[1])
        if lo > hi:
            self.fail(key, f"expected [min, max] with min ≤ max, got {value!r}")
        if low is not None and lo < low:
            self.fail(key, f"expected values ≥ {low:g} {unit}, got {value!r}")
        return lo, hi

    @overload
    def file(self, key: str) -> Path: ...  # required: a missing key fails

    @overload
    def file(self, key: str, default: Any) -> Path | None: ...

    def file(self, key: str, default: Any = MISSING) -> Path | None:
        value = self.get(key, str, default)
        if value is None:
            return None
        target: Path = (self.path.parent / value).resolve()
        if not target.is_file():
            self.fail(key, f"an existing file, got {value!r} (looked for {target})")
        return target

    @overload
    def table(self, key: str, required: Literal[True]) -> Table: ...

    @overload
    def table(self, key: str, required: bool = False) -> Table | None: ...

    def table(self, key: str, required: bool = False) -> Table | None:
        self.used.add(key)
        if key not in self.data:
            if required:
                raise self.error(self.path, f"[{self.key(key)}]", "missing table")
            return None
        return Table(self.path, self.key(key), self.data[key], self.error)

    def tables(self) -> Iterator[tuple[str, Table]]:
        """Every key of this table with its value read as a table (one that is not fails)."""
        for key in list(self.data):
            self.used.add(key)
            yield key, Table(self.path, self.key(key), self.data[key], self.error)

    def finish(self, allowed_extra: Sequence[str] = ()) -> None:
        unknown = [k for k in self.data if k not in self.used and k not in allowed_extra]
        if unknown:
            known = sorted(self.used | set(allowed_extra))
            self.fail(unknown[0], "unknown key; expected one of: " + ", ".join(known))
