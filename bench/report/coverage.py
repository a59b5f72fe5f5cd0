"""What a run did not judge, and why: summary.json's ``not_covered``.

Derived from data, never from a hand-kept list: the clause list (``clauses.toml`` beside this
file: every clause of Attachment 3 §4.2, §4.4.3 and §4.5.3 e, with the reason where the bench
never judges one), the limits table (every key), the cases' markers (``clause``, ``dut`` and
``judges``, read at collection) and the checks and test outcomes of the run.

For each required clause and each limit key that no check of the run judged, the reason is
the first that holds:

1. the clause binds the other kind of DUT;
2. the clause list says why the bench never judges it (a platform duty, needs hardware, the
   GB/T 20234.4 connector, no requirement, judged under another clause);
3. no case declares it: not implemented;
4. its cases are all for the other kind of DUT;
5. its cases were not selected in this run;
6. its cases were skipped (with their reason), ended early, or did not run.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CLAUSES_PATH = Path(__file__).with_name("clauses.toml")
KIND_NAMES = {"ac": "AC piles", "dc": "DC chargers"}


@dataclass(frozen=True)
class CaseInfo:
    """One collected case, from its markers."""

    nodeid: str
    clauses: tuple[str, ...]  # clause markers, e.g. ("changji:4.2.10.5",)
    kinds: tuple[str, ...]  # dut markers; empty: both kinds
    judges: tuple[str, ...]  # limit keys it declares
    selected: bool = True  # False when --clause / -k deselected it

    def applies_to(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds

    def covers(self, subject: str) -> bool:
        """Whether this case is meant to judge ``subject`` (a clause or a limit key)."""
        if subject in self.judges or subject in self.clauses:
            return True
        return any(key.startswith(subject + ":") for key in self.judges)


@lru_cache(maxsize=1)
def clause_list() -> tuple[dict, ...]:
    return tuple(tomllib.loads(CLAUSES_PATH.read_text(encoding="utf-8"))["clause"])


def clause_entry(clause: str) -> dict | None:
    return next((c for c in clause_list() if c["id"] == clause), None)


@lru_cache(maxsize=1)
def limit_keys() -> tuple[str, ...]:
    from bench.core.limits import load_limits

    return tuple(sorted(load_limits().keys()))


def not_covered(
    cases: list[CaseInfo] | None, judged_keys: set[str], kind: str, outcomes: dict[str, tuple[str, str | None]]
) -> list[dict]:
    """``[{clause, why}]`` for every required clause and limit key this run did not judge
    (``cases`` None: the run has not collected its cases yet)."""
    judged_clauses = {key.rpartition(":")[0] for key in judged_keys}
    entries = []
    for clause in clause_list():
        if clause.get("required") and clause["id"] not in judged_clauses:
            entries.append({"clause": clause["id"], "why": _why(clause["id"], clause, cases, kind, outcomes)})
    for key in limit_keys():
        if key not in judged_keys:
            entry = clause_entry(key.rpartition(":")[0]) or {}
            entries.append({"clause": key, "why": _why(key, entry, cases, kind, outcomes)})
    return entries


def _why(
    subject: str, entry: dict, cases: list[CaseInfo] | None, kind: str, outcomes: dict[str, tuple[str, str | None]]
) -> str:
    applies = entry.get("applies", "both")
    if applies not in ("both", kind):
        return f"other DUT kind: binds {KIND_NAMES[applies]}; this DUT is one of the {KIND_NAMES[kind]}"
    if entry.get("outside"):
        return entry["outside"]
    if cases is None:
        return "not run: the run ended before its cases were collected"
    mine = [case for case in cases if case.covers(subject)]
    if not mine:
        return "not implemented: no case of the suite judges it"
    applicable = [case for case in mine if case.applies_to(kind)]
    if not applicable:
        others = sorted({k for case in mine for k in case.kinds})
        return f"other DUT kind: its cases are for {', '.join(KIND_NAMES[k] for k in others)}"
    selected = [case for case in applicable if case.selected]
    if not selected:
        return "not selected in this run (--clause or -k left its cases out)"
    ran = [(case.nodeid, outcomes[case.nodeid]) for case in selected if case.nodeid in outcomes]
    if not ran:
        return "not run: the run ended before its cases"
    skipped = [reason for _, (outcome, reason) in ran if outcome == "skipped"]
    if len(skipped) == len(ran):
        return f"skipped: {skipped[0] or 'no reason given'}"
    ended = [f"{outcome}: {reason}" for _, (outcome, reason) in ran if outcome in ("failed", "error")]
    if ended:
        return f"not judged: its case ended before judging it ({ended[0]})"
    return "not judged: its cases ran at operating points where it does not apply"
