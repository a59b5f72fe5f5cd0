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
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(path, "(file)", missing) from None
    except tomllib.TOMLDecodeError as exc:
        raise error(path, "(syntax)", f"valid TOML ({exc})") from None
