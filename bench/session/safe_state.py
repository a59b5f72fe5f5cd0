"""The safe-state sequence (docs/design.md#safe-state), run on every exit path.

| DUT | Order |
|---|---|
| DC | BMS stop (BST) and platform stop → wait until I ≤ 5 A (bounded) → K5/K6 open →
|    | battery simulator / load off → check that the inlet voltage falls below 60 V |
| AC | vehicle load off → S2 open → wait for the pile's contactor to open → unplug |

A step whose instrument is lost (or absent) is reported and skipped; the others still run.
Each step's outcome is kept with its bench time so a report (and the tests, from the
simulated instruments' own history) can show the order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass

from bench.core.errors import BenchError, InstrumentLost, WaitTimeout

# Bounds of the waits inside the sequence (bench seconds). The BMS-initiated stop must bring
# the current to ≤ 5 A within 10 s (GB/T 27930, docs/limits.md §3); the inlet must be below
# 60 V within 1 s of stop (NB/T 33001) — the sequence waits a little longer and reports.
CURRENT_OFF_A = 5.0
CURRENT_OFF_WAIT_S = 10.5
INLET_SAFE_V = 60.0
INLET_WAIT_S = 2.0
AC_CONTACTOR_WAIT_S = 1.0
# The sequence's waits look this often (a report to the nearest 50 ms is enough; each look
# is an instrument query).
WAIT_POLL_S = 0.05
AC_OUTPUT_OFF_V = 50.0


@dataclass
class StepResult:
    step: str
    role: str
    outcome: str  # "done" | "skipped" | "failed"
    detail: str
    bench_time: float

    def line(self) -> str:
        return f"{self.bench_time:10.3f} s  {self.step:<34} {self.role:<9} {self.outcome}: {self.detail}"


class SafeState:
    """Runs the sequence for one session; the session supplies the actions' targets."""

    def __init__(self, session):
        self.session = session
        self.steps: list[StepResult] = []

    def run(self) -> list[StepResult]:
        self.steps = []
        if self.session.profile.dut.kind == "dc":
            self._dc()
        else:
            self._ac()
        return self.steps

    # -- sequences ------------------------------------------------------------------------
    def _dc(self) -> None:
        s = self.session
        self._step("BMS stop (BST)", "can", lambda: s.stop_bms())
        self._step("platform stop", "platform", lambda: s.platform_stop())
        self._step(
            f"wait until I ≤ {CURRENT_OFF_A:g} A",
            "analyzer",
            lambda: self._wait(
                lambda: abs(s.output_current()) <= CURRENT_OFF_A,
                CURRENT_OFF_WAIT_S,
                f"output current ≤ {CURRENT_OFF_A:g} A",
            ),
        )
        self._step("K5/K6 open", "ev", lambda: s.instrument("ev").set_vehicle_contactors(False))
        self._step("battery simulator off", "battery", lambda: s.instrument("battery").safe_off())
        self._step("load off", "load", lambda: s.instrument("load").safe_off())
        self._step(
            f"inlet below {INLET_SAFE_V:g} V",
            "ev",
            lambda: self._wait(
                lambda: s.instrument("ev").inlet_voltage() < INLET_SAFE_V,
                INLET_WAIT_S,
                f"inlet voltage < {INLET_SAFE_V:g} V",
            ),
        )

    def _ac(self) -> None:
        s = self.session
        self._step("vehicle load off", "ev", lambda: s.instrument("ev").set_load_current(0.0))
        self._step("S2 open", "ev", lambda: s.instrument("ev").set_s2(False))
        self._step(
            "pile contactor open",
            "analyzer",
            lambda: self._wait(
                lambda: s.ac_output_voltage() < AC_OUTPUT_OFF_V,
                AC_CONTACTOR_WAIT_S,
                f"AC output < {AC_OUTPUT_OFF_V:g} V",
            ),
        )
        self._step("unplug (state 1)", "ev", lambda: s.instrument("ev").plug(False))

    # -- machinery ------------------------------------------------------------------------
    def _wait(self, condition: Callable[[], bool], timeout: float, what: str) -> str:
        elapsed = self.session.clock.wait_until(condition, timeout, poll=WAIT_POLL_S, what=what)
        return f"after {elapsed:.3f} s"

    def _step(self, step: str, role: str, action: Callable[[], object]) -> None:
        s = self.session
        if role in s.lost:
            self._note(step, role, "skipped", f"{role} lost earlier: {s.lost[role]}")
            return
        try:
            detail = action()
        except _Absent as absent:
            self._note(step, role, "skipped", str(absent))
        except InstrumentLost as exc:
            s.mark_lost(exc.role, str(exc))
            self._note(step, role, "skipped", f"instrument lost: {exc}")
        except WaitTimeout as exc:
            self._note(step, role, "failed", str(exc))
        except BenchError as exc:
            self._note(step, role, "failed", str(exc))
        else:
            self._note(step, role, "done", detail if isinstance(detail, str) else "")

    def _note(self, step, role, outcome, detail) -> None:
        self.steps.append(StepResult(step, role, outcome, detail, self.session.clock.now()))

    def report(self) -> str:
        return "\n".join(step.line() for step in self.steps)

    def to_json(self) -> str:
        return json.dumps([asdict(step) for step in self.steps], ensure_ascii=False, indent=1)


class _Absent(BenchError):
    """The profile has no instrument for this step."""


def absent(role: str) -> _Absent:
    return _Absent(f"no {role} on this bench")
