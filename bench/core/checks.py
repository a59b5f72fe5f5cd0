"""The check record: one judged reading, kept whatever its verdict (docs/design.md#limits-and-checks)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Verdict = Literal["pass", "fail", "invalid"]


@dataclass
class Check:
    key: str  # limit key <document>:<clause>:<quantity>
    quantity: str
    value: Any  # the judged value (a deviation for relative/absolute limits), text for equality checks
    unit: str
    uncertainty: float | None  # expanded uncertainty of the value, from the instruments' accuracy
    low: float | None
    high: float | None
    reference: Any  # nominal / demand / expected value the deviation is taken from
    decision_rule: str
    verdict: Verdict
    operating_point: dict[str, Any] = field(default_factory=dict)
    bench_time: float = 0.0
    limit_source: str = ""  # where the limit comes from (the limits table's source)
    confidence: str = ""
    detail: str = ""
    test: str = ""  # pytest node id, filled in by the session
    # Why a reading was not judged (the method cannot judge it: the wrong loop governs, two
    # instruments disagree); "" when judged or when there is no number at all.
    invalid_reason: str = ""
    settle_s: float | None = None  # bench seconds the reading took to settle; None: not a settled reading

    @property
    def clause(self) -> str:
        """``<document>:<clause>``: the key without its quantity."""
        return self.key.rpartition(":")[0] or self.key

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["clause"] = self.clause
        return record

    def summary(self) -> str:
        """One line for people: key, value ± U against the limits, verdict."""
        unit = f" {self.unit}" if self.unit else ""
        if isinstance(self.value, (int, float)) and not isinstance(self.value, bool):
            value = f"{self.value:.6g}"
            if self.uncertainty is not None:
                value += f" ± {self.uncertainty:.3g}"
        else:
            value = repr(self.value)
        if self.low is None and self.high is None:
            limits = f"= {self.reference!r}"
        else:
            low = "-∞" if self.low is None else f"{self.low:.6g}"
            high = "∞" if self.high is None else f"{self.high:.6g}"
            limits = f"in [{low}, {high}]"
        why = f" ({self.invalid_reason})" if self.invalid_reason else ""
        return f"{self.key}: {value}{unit} {limits} → {self.verdict.upper()}{why}"
