"""The limits table (limits.toml) and the judging of one reading against one limit.

Test cases look limits up by key (``<document>:<clause>:<quantity>``) and never write a
figure inline. Judging follows the decision rule "simple acceptance" (docs/design.md): the
measured value against the limit, no guard band; the expanded uncertainty is reported
beside it. A reading that is no number (an instrument's 9.9E+37, NaN, None) is
``invalid``, never judged.

A tolerance around a reference has one form each: ``relative_pct`` (± x % of the reference,
never narrower than ± ``floor``) or ``absolute`` (± x). The arithmetic is here: cases give the
reading and the reference (``judge_reading``), or ask for the tolerance (``tolerance``); the
check's value is the deviation reading − reference, in the limit's unit.
"""

from __future__ import annotations

import functools
import math
import numbers
import tomllib
from collections.abc import KeysView, Mapping, ValuesView
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from bench.core.checks import Check, Verdict
from bench.core.editions import (
    DEFAULT_EDITION,
    EDITION_DOCUMENTS,
    EDITION_IDS,
    EDITIONS,
    Edition,
    FigureNotKnown,
    depends_on_edition,
    edition_named,
)
from bench.core.errors import BenchError

DEFAULT_TABLE = Path(__file__).with_name("limits.toml")
CONFIDENCES = ("T", "I", "U")
# IEEE 488.2 instruments answer 9.9E+37 (9.91E+37: no data) for "cannot measure".
INSTRUMENT_INVALID = 9.9e37


@dataclass(frozen=True)
class Limit:
    key: str
    quantity: str
    unit: str
    source: str
    confidence: str
    low: float | None = None
    high: float | None = None
    low_exclusive: bool = False
    high_exclusive: bool = False
    relative_pct: float | None = None
    absolute: float | None = None
    floor: float = 0.0
    equal: bool = False
    figures: Mapping[str, float] = field(default_factory=dict)
    note: str = ""
    decision_rule: str = "simple acceptance"

    def figure(self, name: str) -> float:
        try:
            return self.figures[name]
        except KeyError:
            raise BenchError(
                f"limit {self.key}: no figure {name!r} (has: {', '.join(self.figures) or 'none'})"
            ) from None

    @property
    def upper(self) -> float:
        """``high``, for a limit that must have one (a threshold, a time allowed)."""
        if self.high is None:
            raise BenchError(f"limit {self.key}: no high value (the limits table gives {self.quantity!r} none)")
        return self.high

    @property
    def is_tolerance(self) -> bool:
        """A ± tolerance around a reference (``relative_pct`` or ``absolute``)."""
        return self.relative_pct is not None or self.absolute is not None

    def tolerance(self, reference: float | None = None) -> float:
        """Half-width of a tolerance limit around ``reference``: max(|reference| × relative_pct
        / 100, floor), or the absolute figure."""
        if self.relative_pct is not None:
            if reference is None:
                raise BenchError(f"limit {self.key} is relative: judge it with the reference value")
            return max(abs(reference) * self.relative_pct / 100.0, self.floor)
        if self.absolute is not None:
            return self.absolute
        raise BenchError(f"limit {self.key} is no tolerance (neither relative_pct nor absolute)")

    def bounds(self, reference: float | None = None) -> tuple[float | None, float | None]:
        """Lower and upper bound of the judged value (a deviation for relative/absolute limits)."""
        if self.is_tolerance:
            tol = self.tolerance(reference)
            return -tol, tol
        return self.low, self.high

    def judge(
        self,
        value: float | str | None,
        *,
        reference: Any = None,
        uncertainty: float | None = None,
        operating_point: Mapping[str, Any] | None = None,
        bench_time: float = 0.0,
        detail: str = "",
        invalid_reason: str = "",
        settle_s: float | None = None,
    ) -> Check:
        """One Check of ``value``.

        For relative and absolute limits ``value`` is the deviation from ``reference``
        (e.g. measured − demand); for ``equal`` limits it must equal ``reference``. An
        ``invalid_reason`` keeps the value but does not judge it: the verdict is ``invalid``.
        """
        low, high = (
            (None, None) if self.equal else self.bounds(reference if isinstance(reference, (int, float)) else None)
        )
        verdict = "invalid" if invalid_reason else self._verdict(value, reference, low, high)
        return Check(
            key=self.key,
            quantity=self.quantity,
            value=_plain(value),
            unit=self.unit,
            uncertainty=uncertainty,
            low=low,
            high=high,
            reference=_plain(reference),
            decision_rule=self.decision_rule,
            verdict=verdict,
            operating_point=dict(operating_point or {}),
            bench_time=bench_time,
            limit_source=self.source,
            confidence=self.confidence,
            detail=detail,
            invalid_reason=invalid_reason,
            settle_s=settle_s,
        )

    def judge_reading(
        self,
        reading: float | None,
        *,
        reference: float | None,
        uncertainty: float | None = None,
        operating_point: Mapping[str, Any] | None = None,
        bench_time: float = 0.0,
        detail: str = "",
        invalid_reason: str = "",
        settle_s: float | None = None,
    ) -> Check:
        """One Check of a ``reading`` against a tolerance limit around ``reference``: the value
        judged (and kept) is the deviation reading − reference, in the limit's unit. A reading
        or a reference that is no number gives an invalid check."""
        if not self.is_tolerance:
            raise BenchError(f"limit {self.key} is no tolerance: judge the value itself (judge)")
        if not is_number(reference):
            return Check(
                key=self.key,
                quantity=self.quantity,
                value=None,
                unit=self.unit,
                uncertainty=uncertainty,
                low=None,
                high=None,
                reference=_plain(reference),
                decision_rule=self.decision_rule,
                verdict="invalid",
                operating_point=dict(operating_point or {}),
                bench_time=bench_time,
                limit_source=self.source,
                confidence=self.confidence,
                detail=detail,
                invalid_reason=invalid_reason,
                settle_s=settle_s,
            )
        assert reference is not None  # is_number(None) is False
        deviation = reading - reference if _is_float(reading) else None
        return self.judge(
            deviation,
            reference=reference,
            uncertainty=uncertainty,
            operating_point=operating_point,
            bench_time=bench_time,
            detail=detail,
            invalid_reason=invalid_reason,
            settle_s=settle_s,
        )

    def _verdict(self, value: float | str | None, reference: Any, low: float | None, high: float | None) -> Verdict:
        if self.equal:
            if value is None:
                return "invalid"
            return "pass" if value == reference else "fail"
        if not is_number(value):
            return "invalid"
        assert isinstance(value, (int, float))  # is_number: an int or a float
        if low is not None and (value < low or (self.low_exclusive and value == low)):
            return "fail"
        if high is not None and (value > high or (self.high_exclusive and value == high)):
            return "fail"
        return "pass"


def is_number(value: Any) -> bool:
    """A usable reading: a finite number below the instruments' 'cannot measure' code."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and abs(value) < INSTRUMENT_INVALID


def _is_float(value: Any) -> TypeGuard[float]:
    """A number to subtract from (NaN and the instruments' codes included: they stay invalid)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _plain(value: object) -> object:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class LimitsTable:
    """All limits, by key, with the figures of one edition (bench/core/editions.py): a key whose
    figure that edition does not give is in ``keys()`` and ``unknown``, and looking it up raises
    FigureNotKnown."""

    def __init__(
        self,
        limits: Mapping[str, Limit],
        path: Path,
        edition: Edition = DEFAULT_EDITION,
        unknown: frozenset[str] = frozenset(),
    ):
        self._limits = dict(limits)
        self.path = path
        self.edition = edition
        self.unknown = unknown
        self._keys = {**dict.fromkeys(self._limits), **dict.fromkeys(sorted(unknown))}

    def __getitem__(self, key: str) -> Limit:
        if key in self.unknown:
            raise FigureNotKnown(key, self.edition)
        try:
            return self._limits[key]
        except KeyError:
            raise BenchError(f"{self.path}: no limit {key!r}") from None

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def keys(self) -> KeysView[str]:
        return self._keys.keys()

    def values(self) -> ValuesView[Limit]:
        return self._limits.values()


_FIELDS = {
    "quantity",
    "unit",
    "source",
    "confidence",
    "low",
    "high",
    "low_exclusive",
    "high_exclusive",
    "relative_pct",
    "absolute",
    "floor",
    "equal",
    "figures",
    "note",
    "decision_rule",
}


def load_limits(path: str | Path = DEFAULT_TABLE, edition: Edition = DEFAULT_EDITION) -> LimitsTable:
    """The table at ``path`` with the figures of ``edition``."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BenchError(f"{path}: cannot read the limits table ({exc})") from None
    limits = {}
    not_known = set()
    for key, entry in raw.items():
        if key.count(":") != 2:
            raise BenchError(f"{path}: {key}: a key <document>:<clause>:<quantity>")
        entry = dict(entry)
        editions = _editions(path, key, entry.pop("editions", {}))
        if edition != DEFAULT_EDITION and depends_on_edition(key):
            if edition.id not in editions:
                not_known.add(key)
                continue
            entry = _with_edition(entry, editions[edition.id])
        limits[key] = _limit(path, key, entry)
    return LimitsTable(limits, path, edition, frozenset(not_known))


@functools.lru_cache(maxsize=len(EDITIONS))
def limits_for(edition_name: str) -> LimitsTable:
    """The shipped table with the figures of the edition a profile names (``[dut] standard_edition``)."""
    return load_limits(DEFAULT_TABLE, edition_named(edition_name))


# What another edition's table may replace (a figure and where it comes from; never the quantity).
_EDITION_FIELDS = _FIELDS - {"quantity", "unit"}
_FORMS = ("low", "high", "low_exclusive", "high_exclusive", "relative_pct", "absolute", "floor", "equal")


def _editions(path: Path, key: str, editions: object) -> dict[str, dict[str, Any]]:
    if not editions:
        return {}
    if not depends_on_edition(key):
        raise BenchError(f"{path}: {key}.editions: only for limits of {', '.join(EDITION_DOCUMENTS)}")
    if not isinstance(editions, dict):
        raise BenchError(f"{path}: {key}.editions: a table of editions")
    for name, override in editions.items():
        if name not in EDITION_IDS or name == DEFAULT_EDITION.id:
            others = ", ".join(e for e in EDITION_IDS if e != DEFAULT_EDITION.id)
            raise BenchError(f"{path}: {key}.editions.{name}: an edition other than the default ({others})")
        if not isinstance(override, dict):
            raise BenchError(f"{path}: {key}.editions.{name}: a table")
        unknown = set(override) - _EDITION_FIELDS
        if unknown:
            raise BenchError(f"{path}: {key}.editions.{name}.{sorted(unknown)[0]}: not a figure or its source")
        for required in ("source", "confidence"):
            if required not in override:
                raise BenchError(f"{path}: {key}.editions.{name}.{required}: missing (every figure has its own)")
    return editions


def _with_edition(entry: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """The entry with another edition's figure: its form replaces the default's whole."""
    base = {name: value for name, value in entry.items() if name not in _FORMS or not set(_FORMS) & set(override)}
    return {**base, **override}


def _limit(path: Path, key: str, entry: dict[str, Any]) -> Limit:
    unknown = set(entry) - _FIELDS
    if unknown:
        raise BenchError(f"{path}: {key}.{sorted(unknown)[0]}: unknown field; expected one of {sorted(_FIELDS)}")
    for required in ("quantity", "unit", "source", "confidence"):
        if required not in entry:
            raise BenchError(f"{path}: {key}.{required}: missing")
    if entry["confidence"] not in CONFIDENCES:
        raise BenchError(f"{path}: {key}.confidence: one of T, I, U")
    forms = [f for f in ("relative_pct", "absolute", "equal") if f in entry] + (
        ["low/high"] if "low" in entry or "high" in entry else []
    )
    if len(forms) != 1:
        raise BenchError(f"{path}: {key}: exactly one of low/high, relative_pct, absolute, equal (got {forms})")
    if "floor" in entry and "relative_pct" not in entry:
        raise BenchError(f"{path}: {key}.floor: only with relative_pct")
    return Limit(key=key, **entry)
