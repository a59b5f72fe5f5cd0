"""summary.json's JSON Schema, shipped in the package (summary.schema.json beside this file)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from bench.core.errors import BenchError

SCHEMA_PATH = Path(__file__).with_name("summary.schema.json")
SCHEMA_VERSION = "1.0"


class SummaryInvalid(BenchError):
    """A summary.json that does not follow the shipped schema: `<file>: <where>: <what>`."""


@lru_cache(maxsize=1)
def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def schema_errors(summary: dict) -> list[str]:
    """Every place where ``summary`` breaks the schema, as ``<json path>: <message>`` lines."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(load_schema())
    return [
        f"{error.json_path}: {error.message}"
        for error in sorted(validator.iter_errors(summary), key=lambda e: list(map(str, e.path)))
    ]


def validate_summary(summary: dict, where: str = "summary.json") -> None:
    """Raise SummaryInvalid (one line: the first problem and how many there are) unless valid."""
    errors = schema_errors(summary)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise SummaryInvalid(f"{where}: {errors[0]}{more}")


def read_summary(path: Path) -> dict:
    """Read and validate one summary.json; a file that is no JSON or breaks the schema is refused."""
    path = Path(path)
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SummaryInvalid(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SummaryInvalid(f"{path}: not a JSON file ({exc})") from None
    if not isinstance(summary, dict):
        raise SummaryInvalid(f"{path}: $: expected a JSON object")
    validate_summary(summary, str(path))
    return summary
