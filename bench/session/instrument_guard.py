"""The type-test guard: the right instruments, calibrated, before anything is energised.

``identity_record`` is what the run record says of one instrument; ``instrument_problems``
lists what is wrong with the bench's instruments on the run date:

* both modes: a model that does not match the profile's, a serial that does not match the
  profile's (where it gives one), a calibration past its due date;
* ``type-test`` mode also: no expected model or no calibration date in the profile (a type
  test cannot be traced to an instrument nobody named or calibrated).

In type-test mode any problem refuses the run before anything is switched on (exit code 3,
``TypeTestRefused``); in development mode the run goes on and every problem is flagged.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date

from bench.core.errors import BenchError

REFUSED_EXIT_CODE = 3


@dataclass(frozen=True)
class Problem:
    role: str
    kind: str  # model | serial | calibration_overdue | calibration_missing | model_missing | not_opened
    message: str

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return f"{self.role}: {self.message}"


class TypeTestRefused(BenchError):
    """A type-test run refused before energising: one line per problem in ``problems``."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(
            f"type-test refused before energising: {len(problems)} instrument problem(s): "
            + "; ".join(p.line() for p in problems)
        )


def identity_record(config, identity, today: date | None = None) -> dict:
    """What the report says of one instrument: who answered, expected model, calibration."""
    expected = config.model
    found = identity.model if identity else ""
    due = config.calibration_due
    return {
        "role": config.role,
        "driver": config.driver,
        "resource": config.resource,
        "identity": identity.raw if identity else "",
        "expected_model": expected,
        "model": found,
        "model_matches": (not expected) or same_model(expected, found),
        "serial": identity.serial if identity else "",
        "expected_serial": config.serial,
        "calibration_due": due.isoformat() if due else None,
        "calibration_ok": calibration_ok(due, today),
        "calibration": calibration_status(due, today),
        "accuracy": {k: {"pct_reading": v.pct_reading, "offset": v.offset} for k, v in config.accuracy.items()},
    }


def same_model(expected: str, found: str) -> bool:
    def norm(text: str) -> str:
        return re.sub(r"[\s_-]", "", text).upper()

    return norm(expected) == norm(found)


def calibration_ok(due: date | None, today: date | None = None) -> bool:
    return due is not None and due >= (today or date.today())


def calibration_status(due: date | None, today: date | None = None) -> str:
    if due is None:
        return "no calibration date"
    if not calibration_ok(due, today):
        return f"OVERDUE (due {due.isoformat()})"
    return f"valid until {due.isoformat()}"


def instrument_problems(records: list[dict], mode: str) -> list[Problem]:
    """What is wrong with the instruments (``identity_record``s) for a run in ``mode``."""
    type_test = mode == "type-test"
    problems = []
    for r in records:
        role = r["role"]
        if not r["expected_model"]:
            if type_test:
                problems.append(
                    Problem(
                        role,
                        "model_missing",
                        f"the profile names no expected model (instrument answered {r['identity']!r})",
                    )
                )
        elif not r["model_matches"]:
            problems.append(
                Problem(
                    role,
                    "model",
                    f"model {r['model'] or '(none)'!r} answered, {r['expected_model']!r} expected ({r['resource']})",
                )
            )
        if r["expected_serial"] and r["expected_serial"].strip().upper() != r["serial"].strip().upper():
            problems.append(
                Problem(
                    role, "serial", f"serial {r['serial'] or '(none)'!r} answered, {r['expected_serial']!r} expected"
                )
            )
        if r["calibration_due"] is None:
            if type_test:
                problems.append(Problem(role, "calibration_missing", "the profile gives no calibration_due date"))
        elif not r["calibration_ok"]:
            problems.append(
                Problem(
                    role,
                    "calibration_overdue",
                    f"calibration overdue: due {r['calibration_due']}, run date {date.today()}",
                )
            )
    return problems
