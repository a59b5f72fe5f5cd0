"""Where checks go: the summary file (written as they are produced), Allure, and the test verdict.

Every check is kept, pass or fail. A test does not stop at its first failing check: all
of its checks are recorded, and the test fails at the end with the list of checks that did
not pass (``failures_of``).
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.core.checks import Check


class CheckRecorder:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self.checks: list[Check] = []
        # What checks.jsonl got, as it got it (the run record lists exactly these): each
        # check's record and its JSON line, kept so a rewrite of summary.json encodes nothing twice.
        self.records: list[dict] = []
        self.lines: list[str] = []
        self.current_test = ""

    def record(self, check: Check) -> Check:
        check.test = check.test or self.current_test
        self.checks.append(check)
        record = check.to_dict()
        line = json.dumps(record, ensure_ascii=False, default=str)
        self.records.append(record)
        self.lines.append(line)
        # One JSON line per check, flushed at once: nothing measured is lost if the run dies.
        self._file.write(line + "\n")
        self._file.flush()
        if check.test:
            _to_allure(check)
        return check

    def keys_of(self, test: str) -> set[str]:
        """The limit keys ``test`` judged."""
        return {c.key for c in self.checks if c.test == test}

    def failures_of(self, test: str) -> list[Check]:
        return [c for c in self.checks if c.test == test and c.verdict != "pass"]

    def close(self) -> None:
        self._file.close()


def _to_allure(check: Check) -> None:
    try:
        import allure
    except ImportError:  # allure-pytest is a dependency; a bare library use may run without it
        return
    with allure.step(check.summary()):
        allure.attach(
            json.dumps(check.to_dict(), ensure_ascii=False, indent=1, default=str),
            name=f"check {check.key}",
            attachment_type=allure.attachment_type.JSON,
        )
