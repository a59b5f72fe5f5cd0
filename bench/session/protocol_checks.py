"""GB/T 27930 conformance of the charger's own frames, judged in every DC test that runs a
session: the test's conformance monitor's findings become checks, one per charger message
seen and kind of finding (period, DLC, phase order, value range), each the number of findings
against a limit of none. The findings themselves stay attached as evidence
(bench/session/evidence.py).

These keys are judged by the bench, not declared by each case (bench/plugin.py lets them
pass the declaration rule); testcases/dc/test_protocol_conformance.py declares them, so a
run without any other DC case still judges them.
"""

from __future__ import annotations

from collections.abc import Iterable

from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930.catalogue import BY_NAME

# The charger's messages the rules require (issue 10 §5), in session order.
CHARGER_MESSAGES = ("CHM", "CRM", "CML", "CTS", "CRO", "CCS", "CST", "CSD")
# Limit key → the finding kinds it counts.
PROTOCOL_KEYS: dict[str, tuple[str, ...]] = {
    "gbt27930:protocol:period": (fk.PERIOD_DEVIATION,),
    "gbt27930:protocol:dlc": (fk.WRONG_LENGTH,),
    "gbt27930:protocol:phase_order": (fk.PHASE_ORDER,),
    "gbt27930:protocol:value_range": (fk.VALUE_OUT_OF_RANGE, fk.MISSING_VALUE, fk.BAD_BCD),
}


def judge_protocol(session) -> None:
    """Record the protocol checks of the test now running (before its verdict)."""
    monitor = session.evidence.monitor
    if monitor is None:
        return
    stats = monitor.stats()
    seen = [name for name in CHARGER_MESSAGES if stats.get(name, {}).get("count")]
    if not seen:
        return  # no session ran in this test
    findings = monitor.findings
    for key, kinds in PROTOCOL_KEYS.items():
        for name in seen:
            if key == "gbt27930:protocol:period" and stats[name]["intervals"] < monitor.min_intervals:
                continue  # too few intervals: the monitor judges no period (it is no finding either)
            mine = list(_of(findings, name, kinds))
            check = session.limits[key].judge(
                len(mine),
                operating_point={"message": name},
                bench_time=session.clock.now(),
                detail="; ".join(f"{f.time:.3f} s {f.kind}: {f.message}" for f in mine)
                or f"{stats[name]['count']} frames, no finding",
            )
            session.recorder.record(check)


def _of(findings: Iterable[fk.Finding], name: str, kinds: tuple[str, ...]) -> Iterable[fk.Finding]:
    """The findings of ``kinds`` on the charger's message ``name``."""
    pgn = BY_NAME[name].pgn
    return (f for f in findings if f.kind in kinds and f.pgn == pgn)
