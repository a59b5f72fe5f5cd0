"""Injected instrument faults (instruments/sim/test_controls.py, ``BENCH_SIM_FAULTS``).

For each fault the real conformance suite runs in a child process on the simulated DC bench,
two cases only (``pytest <node ids>``): the case the fault hits, then a later one. From the
run record (summary.json), the bench's instrument events (instrument_events.jsonl) and the
simulated instruments' own history (sim_history.jsonl) each test checks that

- the fault was injected once, where the plan said;
- the case it hit erred with one error of its own kind, naming the instrument and the command
  (timeout, reset, garbled reply, instrument error, bus-off … never all "no answer");
- the safe state still ran after it, every step done or skipped (the lost one), none failed;
- the later case passed;
- the instrument was reconnected at the start of the later case when it answered again (and
  that was logged), stayed lost when it never did, or never stopped answering.

The child runs are made once per test session (two at a time, whichever xdist worker comes
first; the other one waits for the results) and the last test prints the table of faults
injected and how each ended.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.core.errors import (
    BenchError,
    BlockLengthMismatch,
    BusOff,
    CanBusError,
    ConnectionReset,
    GarbledReply,
    InstrumentLost,
    InstrumentReportedError,
    InstrumentTimeout,
)
from instruments.ev.modbus_link import ModbusExceptionError
from instruments.sim.modbus import ModbusFrontEnd
from instruments.sim.scpi import ScpiFrontEnd
from instruments.sim.test_controls import FAULT_PLAN_ENV, attach_faults, parse_fault_plan
from tests.figures import record as record_figure

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PROFILE = "profiles/sim-dc-60kw.toml"
POWER = "testcases/dc/test_power_error.py::test_output_power_within_2_percent_of_the_set_power"
POWER_20, POWER_40 = f"{POWER}[0.2-mid]", f"{POWER}[0.4-mid]"
NORMAL_STOP = "testcases/dc/test_stopping.py::test_normal_stop_current_fall_and_residual_voltage"
FAULT_STOP = "testcases/dc/test_stopping.py::test_fault_stop_cuts_the_current_within_100_ms"
DC_STEPS = 7  # the DC safe-state sequence (docs/design.md#safe-state)
CHILD_TIMEOUT_S = 120


@dataclass(frozen=True)
class Case:
    name: str
    fault: dict
    tests: tuple[str, str]  # the case the fault hits, a later case
    error: str  # the kind (class) the hit case errs with
    says: tuple[str, ...]  # what its one line must name: instrument and kind, the command
    ends: str  # "reconnected" | "still lost" | "kept answering"


CASES = [
    Case(
        "no answer for N s",
        {"role": "analyzer", "kind": "timeout", "duration_s": 0.25, "trigger": {"command": ":NUMeric:NORMal:VALue?"}},
        (POWER_20, POWER_40),
        "InstrumentTimeout",
        ("analyzer: timeout:", "':NUMeric:NORMal:VALue?'"),
        "reconnected",
    ),
    Case(
        "no answer for ever",
        {"role": "scope", "kind": "timeout", "duration_s": None, "trigger": {"command": ":TER?"}},
        (NORMAL_STOP, POWER_20),
        "InstrumentTimeout",
        ("scope: timeout:", "':TER?'"),
        "still lost",
    ),
    Case(
        "connection reset",
        {"role": "battery", "kind": "reset", "trigger": {"command": "OUTP ON"}},
        (POWER_20, POWER_40),
        "ConnectionReset",
        ("battery: connection reset:", "'OUTP ON'"),
        "reconnected",
    ),
    Case(
        "garbled reply",
        {"role": "battery", "kind": "garbled", "trigger": {"command": "MEAS:CURR?", "nth": 3}},
        (POWER_20, POWER_40),
        "GarbledReply",
        ("battery: garbled reply:", "'MEAS:CURR?'"),
        "kept answering",
    ),
    Case(
        "SCPI error-queue entry",
        {
            "role": "battery",
            "kind": "scpi_error",
            "error": [-222, "Data out of range"],
            "trigger": {"command": "CURR:LIM:NEG"},
        },
        (POWER_20, POWER_40),
        "InstrumentReportedError",
        ("battery: instrument error:", "'CURR:LIM:NEG ", '-222,"Data out of range"'),
        "kept answering",
    ),
    Case(
        "block header that lies",
        {"role": "scope", "kind": "block_length", "claim": 2.0, "trigger": {"command": ":WAV:DATA?"}},
        (NORMAL_STOP, FAULT_STOP),
        "BlockLengthMismatch",
        ("scope: block length:", "':WAV:DATA?'", "announced"),
        "reconnected",
    ),
    Case(
        "Modbus exception",
        {"role": "ev", "kind": "modbus_exception", "code": 4, "trigger": {"command": "6@111", "nth": 2}},
        (POWER_20, POWER_40),
        "ModbusExceptionError",
        ("ev: write vehicle_contactors (holding 111)", "Modbus exception 0x04 (server device failure)"),
        "kept answering",
    ),
    Case(
        "CAN bus-off",
        {"role": "can", "kind": "bus_off", "duration_s": 0.5, "trigger": {"at_s": 3.0}},
        (POWER_20, POWER_40),
        "BusOff",
        ("can: bus-off:", "not sent", "sending refused"),
        "reconnected",
    ),
    Case(
        "CAN error frames",
        {"role": "can", "kind": "error_frames", "duration_s": 0.5, "trigger": {"at_s": 3.0}},
        (POWER_20, POWER_40),
        "CanBusError",
        ("can: bus error:", "error frame", "error passive"),
        "reconnected",
    ),
]
BAD_PLAN = [{"role": "analyzer", "kind": "modbus_exception", "trigger": {"command": "6"}}]


# == the child runs, once per test session =====================================================
def _child_env(plan) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
    env[FAULT_PLAN_ENV] = json.dumps(plan)
    return env


def _run(name: str, plan, tests, reports: Path) -> dict:
    command = [
        sys.executable,
        "-m",
        "pytest",
        *tests,
        "--profile",
        PROFILE,
        "--report-dir",
        str(reports),
        "--run-id",
        name,
        "-q",
        "-p",
        "no:hypothesispytest",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "--rootdir",
        str(ROOT),
    ]
    started = time.monotonic()
    result = subprocess.run(
        command, cwd=ROOT, env=_child_env(plan), capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )
    run_dir = reports / name / Path(PROFILE).stem
    found = {
        "returncode": result.returncode,
        "output": (result.stdout + result.stderr)[-3000:],
        "wall_s": round(time.monotonic() - started, 2),
        "summary": None,
        "events": [],
        "faults": [],
    }
    summary_path = run_dir / "summary.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        found["summary"] = {key: summary[key] for key in ("tests", "safe_state", "lost_instruments")}
        found["summary"]["evidence"] = [e["file"] for e in summary["evidence"]]
    events = run_dir / "instrument_events.jsonl"
    if events.exists():
        found["events"] = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
    history = run_dir / "sim_history.jsonl"
    if history.exists():
        found["faults"] = [
            entry
            for entry in map(json.loads, history.read_text(encoding="utf-8").splitlines())
            if entry[2] == "fault_injected"
        ]
    return found


def _run_all(folder: Path) -> dict:
    reports = folder / "reports"
    jobs = {case.name: ([case.fault], case.tests) for case in CASES}
    jobs["bad plan"] = (BAD_PLAN, (POWER_20,))
    with ThreadPoolExecutor(max_workers=2) as pool:  # two cores
        futures = {
            name: pool.submit(_run, f"fault{index}", plan, tests, reports)
            for index, (name, (plan, tests)) in enumerate(jobs.items())
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this test session
    folder = root / "instrument-faults"
    folder.mkdir(exist_ok=True)
    with open(folder / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker runs them, the other one waits
        results = folder / "results.json"
        if not results.exists():
            started = time.monotonic()
            found = _run_all(folder)
            found["_wall_s"] = round(time.monotonic() - started, 1)
            results.write_text(json.dumps(found), encoding="utf-8")
    return json.loads(results.read_text(encoding="utf-8"))


# == what each fault must show =================================================================
def _short(nodeid: str) -> str:
    return nodeid.split("::")[-1]


def ending(case: Case, run: dict) -> str:
    """How the fault ended, in one line (the printed table)."""
    summary = run["summary"]
    role = case.fault["role"]
    hit, later = (next(t for t in summary["tests"] if t["nodeid"] == nodeid) for nodeid in case.tests)
    record = next(r for r in summary["safe_state"] if r["test"] == case.tests[0])
    skipped = [s["step"] for s in record["steps"] if s["outcome"] == "skipped"]
    back = [e for e in run["events"] if e["role"] == role and e["event"] == "reconnected"]
    if back:
        end = f"reconnected at the start of {_short(back[0]['test'])} (logged)"
    elif role in summary["lost_instruments"]:
        end = "never answered again: still lost at the end of the run"
    else:
        end = "the instrument kept answering"
    return (
        f"{_short(hit['nodeid'])} {hit['outcome']} ({case.error}); safe state ran "
        f"({len(record['steps'])} steps{', skipped: ' + ', '.join(skipped) if skipped else ''}); {end}; "
        f"{_short(later['nodeid'])} {later['outcome']}"
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_an_injected_fault_errs_the_case_it_hits_and_the_run_goes_on(runs, case):
    run = runs[case.name]
    summary = run["summary"]
    assert summary is not None, run["output"]
    role, kind = case.fault["role"], case.fault["kind"]

    # Injected once, as planned (the simulated instrument's own history).
    assert [entry[3][0] for entry in run["faults"]] == [kind], run["faults"]
    assert run["faults"][0][1] == role

    # The case it hit erred with one line of its own kind, naming the instrument and the command.
    tests = {t["nodeid"]: t for t in summary["tests"]}
    hit, later = tests[case.tests[0]], tests[case.tests[1]]
    assert hit["outcome"] in ("failed", "error"), hit
    reason = hit["reason"] or ""
    assert f"{case.error}: " in reason, reason
    for text in case.says:
        assert text in reason, f"{text!r} not in {reason!r}"
    if kind != "timeout":
        assert "no answer" not in reason, reason
    assert run["returncode"] == 1, run["output"]

    # The safe state still ran after it: every step done or skipped, none failed.
    record = next(r for r in summary["safe_state"] if r["test"] == case.tests[0])
    assert len(record["steps"]) == DC_STEPS, record
    assert all(step["outcome"] in ("done", "skipped") for step in record["steps"]), record

    # The later case, and how the instrument came back (or did not).
    assert later["outcome"] == "passed", (later, run["output"])
    events = [e for e in run["events"] if e["role"] == role]
    back = [e for e in events if e["event"] == "reconnected"]
    if case.ends == "reconnected":
        assert len(back) == 1 and back[0]["test"] == case.tests[1], events
        assert back[0]["kind"] == case.error, back
        assert role not in summary["lost_instruments"]
        assert "instrument_events.jsonl" in summary["evidence"]
    elif case.ends == "still lost":
        assert not back and role in summary["lost_instruments"], (events, summary["lost_instruments"])
        assert summary["lost_instruments"][role].startswith(f"{role}: timeout:")
    else:
        assert not events and role not in summary["lost_instruments"], events
    record_figure("instrument faults", f"{role} {kind}", ending(case, run))


def test_the_kinds_are_distinct_and_the_unreachable_ones_are_lost():
    kinds = [
        InstrumentTimeout,
        ConnectionReset,
        GarbledReply,
        InstrumentReportedError,
        BusOff,
        BlockLengthMismatch,
        CanBusError,
    ]
    assert len({k.kind for k in kinds}) == len(kinds)
    for lost in (InstrumentTimeout, ConnectionReset, BusOff):  # every `except InstrumentLost` still holds
        assert issubclass(lost, InstrumentLost)
    for answered in (GarbledReply, InstrumentReportedError, CanBusError, ModbusExceptionError):
        assert not issubclass(answered, InstrumentLost)
    assert issubclass(ModbusExceptionError, InstrumentReportedError)
    assert (
        str(InstrumentTimeout("load", "no answer within 2 s to 'MEAS:VOLT?'"))
        == "load: timeout: no answer within 2 s to 'MEAS:VOLT?'"
    )


# == a bad plan is one line ====================================================================
BAD_PLANS = {
    "not JSON": "[{",
    "no list": "3",
    "unknown kind": '[{"role": "load", "kind": "smoke"}]',
    "unknown key": '[{"role": "load", "kind": "garbled", "duration_s": 1}]',
    "timeout without a duration": '[{"role": "load", "kind": "timeout"}]',
    "NaN": '[{"role": "load", "kind": "timeout", "duration_s": NaN}]',
    "negative time": '[{"role": "load", "kind": "timeout", "duration_s": 1, "trigger": {"at_s": -1}}]',
    "nth zero": '[{"role": "load", "kind": "reset", "trigger": {"nth": 0}}]',
    "a boolean count": '[{"role": "load", "kind": "reset", "trigger": {"nth": true}}]',
    "unknown trigger": '[{"role": "load", "kind": "reset", "trigger": {"when": 1}}]',
    "error code 0": '[{"role": "load", "kind": "scpi_error", "error": [0, "No error"]}]',
    "exception without a function": '[{"role": "ev", "kind": "modbus_exception"}]',
    "claim of 1": '[{"role": "scope", "kind": "block_length", "claim": 1}]',
    "bad CAN id": '[{"role": "can", "kind": "bus_off", "duration_s": 1, "trigger": {"command": "BCL"}}]',
}


@pytest.mark.parametrize("name", sorted(BAD_PLANS))
def test_a_bad_fault_plan_is_one_line(name):
    with pytest.raises(BenchError) as error:
        parse_fault_plan(BAD_PLANS[name])
    text = str(error.value)
    assert text.startswith(f"${FAULT_PLAN_ENV}: ") and "\n" not in text, text


@pytest.mark.parametrize(
    "plan, says",
    [
        ('[{"role": "nobody", "kind": "reset"}]', "role: the profile has no such instrument"),
        ('[{"role": "load", "kind": "modbus_exception", "trigger": {"command": "6"}}]', "a SCPI instrument cannot"),
        ('[{"role": "ev", "kind": "block_length"}]', "a Modbus instrument cannot"),
        ('[{"role": "ev", "kind": "reset", "trigger": {"command": "MEAS:VOLT?"}}]', 'expected "<function>'),
        ('[{"role": "load", "kind": "reset", "trigger": {"command": "6@1"}}]', "expected an SCPI command"),
        ('[{"role": "can", "kind": "bus_off", "duration_s": 1}]', "role: the profile has no such instrument"),
    ],
)
def test_a_fault_that_does_not_fit_its_instrument_is_one_line(plan, says):
    servers = {"load": ScpiFrontEnd("load"), "ev": ModbusFrontEnd("ev", device=None, unit_id=1)}
    with pytest.raises(BenchError) as error:
        attach_faults(parse_fault_plan(plan), servers, None, clock=None, history=None)
    text = str(error.value)
    assert says in text and "\n" not in text, text


def test_a_bad_plan_stops_the_run_before_anything_is_opened(runs):
    run = runs["bad plan"]
    assert run["returncode"] == 2, run["output"]
    lines = [line for line in run["output"].splitlines() if f"${FAULT_PLAN_ENV}" in line]
    assert lines and all("a SCPI instrument cannot do this" in line for line in lines), run["output"]


# == the figures ===============================================================================
def test_print_the_faults_injected_and_how_each_ended(runs):
    lines = []
    injected = 0
    for case in CASES:
        run = runs[case.name]
        injected += len(run["faults"])
        if run["summary"] is None:
            lines.append(f"  {case.fault['role']} {case.fault['kind']}: no run record ({run['returncode']})")
            continue
        try:
            lines.append(f"  {case.fault['role']} {case.fault['kind']}: {ending(case, run)}  [{run['wall_s']:.1f} s]")
        except StopIteration:
            lines.append(f"  {case.fault['role']} {case.fault['kind']}: the run did not reach its cases")
    record_figure(
        "instrument faults",
        "faults injected",
        f"{injected} in {len(CASES)} runs of the suite ({runs['_wall_s']:.1f} s wall, two at a time)",
    )
    problems = [line for line in lines if "no run record" in line or "did not reach" in line]
    assert not problems, problems
    assert injected == len(CASES)
