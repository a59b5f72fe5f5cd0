"""Reading the bench's TOML files (profiles, register maps, limits) with one-line errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

from bench.core.errors import ProfileError


def read_toml(path: str | Path, missing: str, error: type[ProfileError] = ProfileError) -> dict:
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
        raise error(path, "(encoding)", f"UTF-8 text (TOML), got byte 0x{data[exc.start]:02x} at offset "
                                        f"{exc.start}; binary or UTF-16 files are not profiles") from None
    if text.startswith("\ufeff"):
        raise error(path, "(encoding)", "UTF-8 without a byte-order mark (TOML allows none)")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(path, "(syntax)", f"valid TOML ({exc})") from None
    except ValueError as exc:  # e.g. an integer longer than Python converts (4300 digits)
        raise error(path, "(syntax)", f"valid TOML ({exc})") from None
    except RecursionError:
        raise error(path, "(syntax)", "TOML nested no deeper than Python can read (arrays or tables "
                                      "nested thousands deep)") from None
