"""The safety net outside Python (docs/design.md): when the bench process dies, the EV simulator /
relay board de-energises the bench by itself once the heartbeat has been missing for
``watchdog_s``.

Three processes, as in a lab: ``bench sim`` serves the simulated bench (paced to wall time);
a bench session in a second process drives a charge through it (DC: 550 V into the battery
simulator; AC: the pile delivering with S2 closed) and is SIGKILLed; this test, a third
client, reads the plant back over the wire (Modbus TCP, SCPI) and prints how long after the
kill each part of the plant was safe:

* DC: K5/K6 open, battery simulator output off (its inhibit line dropped), load inhibit
  dropped, CC1 open (the charger sees the connector pulled), the charger's auxiliary supply
  off, the inlet below 60 V;
* AC: S2 open, CP in state 1 (unplugged), the pile's contactor open (AC output below 50 V).

Each must come within ``watchdog_s`` + 2 s. Run as ``python -m tests.test_watchdog_safety_net
drive PROFILE RUN_DIR ENDPOINTS_JSON`` this module is the second process.

The faster tests below show the same on the virtual clock, from the plant's own history: the
board's steps in order, the wires (an inhibited instrument is off whatever its SCPI state),
the charger's own reaction to CC1 opening, and the profile's wiring keys.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.figures import record as record_figure
from tests.support.nodes import FakeNode
from tests.support.runs import ROOT, profile_copy

WATCHDOG_S = 1.0
MARGIN_S = 2.0  # the bound: each reaction within watchdog_s + 2 s
BATTERY_V = 550.0
CHARGE_A = 40.0
AC_DRAW_A = 16.0
SAFE_INLET_V = 60.0
AUX_PRESENT_V = 9.0  # the board's aux-present threshold (map [board])
CC1_CONNECTED_V = (3.2, 4.8)  # fully connected band (docs/limits.md §4)
CP_STATE1_V = 10.5  # CP at +12 V: nothing connected (state 1)
AC_OFF_V = 50.0
QUES_INHIBIT = 2048  # IT6000C STAT:QUES:COND? INHIBIT (docs/instruments.md §7)
POLL_S = 0.02
SERVE_S = 120  # bench sim's own --duration: it never outlives the test for long
READY_TIMEOUT_S = 30.0
ENERGISED_TIMEOUT_S = 90.0


# ----------------------------------------------------------------------------------------
# Process 1: bench sim
# ----------------------------------------------------------------------------------------
def serve(tmp_path: Path, name: str):
    """``bench sim`` on a copy of profiles/<name>.toml with a 1 s watchdog; (process, endpoints, profile)."""
    profile = profile_copy(tmp_path, name, **{r"^watchdog_s = .*$": f"watchdog_s = {WATCHDOG_S}"})
    log = (tmp_path / "bench-sim.log").open("w+", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "sim", "--profile", str(profile), "--duration", str(SERVE_S)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    banner = wait_for_line(process, tmp_path / "bench-sim.log", "bench sim: ready", READY_TIMEOUT_S)
    resources = dict(re.findall(r"^\s+(\w+)\s+[\w-]+\s+(\S+)$", banner, re.M))
    endpoints = {
        "resources": resources,
        "modbus_port": int(re.search(r"pile control\s+Modbus TCP 127\.0\.0\.1:(\d+)", banner).group(1)),
    }
    can = re.search(r"socketcand on 127\.0\.0\.1:(\d+)", banner)
    if can:
        endpoints["can_port"] = int(can.group(1))
    return process, endpoints, profile


def wait_for_line(process: subprocess.Popen, log: Path, marker: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        if marker in text:
            return text
        if process.poll() is not None:
            raise AssertionError(f"{log.name}: the process ended (code {process.returncode}):\n{text[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"{log.name}: no {marker!r} within {timeout:g} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# ----------------------------------------------------------------------------------------
# Process 2: the bench, as a lab runs it against instruments on the network
# ----------------------------------------------------------------------------------------
def lab_profile(path: str, endpoints: dict):
    """The profile with the served resource strings, the pile's control port and socketcand
    as the CAN adapter: a bench that does not know the other end is simulated."""
    from bench.core.profile import CanSettings, load_profile
    from instruments import registry

    profile = load_profile(path, registry.transports())
    can = None
    if "can_port" in endpoints:
        can = CanSettings(
            interface="socketcand",
            channel="can0",
            bitrate=profile.can.bitrate,
            options={"host": "127.0.0.1", "port": endpoints["can_port"]},
        )
    dut = dataclasses.replace(
        profile.dut, modbus=dataclasses.replace(profile.dut.modbus, host="127.0.0.1", port=endpoints["modbus_port"])
    )
    profile = profile.with_resources(endpoints["resources"], can=can, dut=dut)
    return dataclasses.replace(profile, bench=dataclasses.replace(profile.bench, simulated=False))


def drive(profile_path: str, run_dir: str, endpoints_json: str) -> None:
    """Open the bench, energise, charge, say so, then keep the heartbeat going until killed."""
    from bench.session.session import BenchSession

    profile = lab_profile(profile_path, json.loads(endpoints_json))
    session = BenchSession(profile, Path(run_dir)).open()
    if profile.dut.kind == "dc":
        from bench.api.dc import DcBench

        bench = DcBench(session)
        bench.start_charging(battery_v=BATTERY_V, current_a=CHARGE_A)
        # Charging at its current, not still ramping up, when the test kills this process.
        bench.wait_until(
            lambda: abs(bench.output_current()) >= 0.9 * CHARGE_A,
            ENERGISED_TIMEOUT_S,
            poll=0.1,
            what="the charging current",
        )
    else:
        from bench.api.ac import AcBench

        bench = AcBench(session)
        bench.deliver()
        bench.draw(AC_DRAW_A)
    print("energised", flush=True)
    session.clock.sleep(SERVE_S)


def start_bench(tmp_path: Path, profile: Path, endpoints: dict) -> subprocess.Popen:
    log = (tmp_path / "bench.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.test_watchdog_safety_net",
            "drive",
            str(profile),
            str(tmp_path / "run"),
            json.dumps(endpoints),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for_line(process, tmp_path / "bench.log", "energised", ENERGISED_TIMEOUT_S)
    return process


# ----------------------------------------------------------------------------------------
# Process 3 (this test): reads the plant over the wire, never writes
# ----------------------------------------------------------------------------------------
class PlantReader:
    """The board through the bench's own driver (open() only reads), SCPI instruments raw."""

    def __init__(self, profile_path: Path, endpoints: dict):
        import pyvisa

        from bench.core.clock import RealClock
        from bench.core.profile import load_profile
        from instruments import registry

        profile = load_profile(profile_path, registry.transports())
        self.kind = profile.dut.kind
        config = dataclasses.replace(profile.instruments["ev"], resource=endpoints["resources"]["ev"])
        self.wiring = config.wiring
        self.ev = registry.driver_class(config.driver)(config, RealClock())
        self.ev.open()
        self.visa = pyvisa.ResourceManager("@py")
        self.scpi = {}
        for role in ("battery", "load", "analyzer"):
            if role in endpoints["resources"]:
                inst = self.visa.open_resource(
                    endpoints["resources"][role], read_termination="\n", write_termination="\n", timeout=2000
                )
                self.scpi[role] = inst
        if "analyzer" in self.scpi:
            analyzer = self.scpi["analyzer"]
            analyzer.write(":COMMunicate:HEADer OFF")
            analyzer.write(":NUMeric:FORMat ASCii")
            analyzer.write(":NUMeric:NORMal:NUMber 1")
            analyzer.write(f":NUMeric:NORMal:ITEM1 U,{profile.instruments['analyzer'].channels['output']}")

    def close(self) -> None:
        self.ev.close()
        for inst in self.scpi.values():
            inst.close()
        self.visa.close()

    def query(self, role: str, command: str) -> float:
        return float(self.scpi[role].query(command))

    def output(self, line: str) -> int:
        return self.ev.read_raw(f"output_{self.wiring[line]}")

    # -- what "safe" means for each part, read the way a lab would read it ----------------
    def dc(self) -> dict[str, bool]:
        status = self.ev.status()
        cc1 = self.ev.cc1_voltage()
        return {
            "K5/K6 open": not status["vehicle_contactors"],
            "battery simulator output off": (
                abs(self.query("battery", "MEAS:VOLT?")) < 1.0
                and abs(self.query("battery", "MEAS:CURR?")) < 0.5
                and int(self.query("battery", "STAT:QUES:COND?")) & QUES_INHIBIT != 0
            ),
            "load inhibit line open": self.output("load_inhibit") == 0,
            "CC1 open": self.output("cc1") == 0 and not CC1_CONNECTED_V[0] <= cc1 <= CC1_CONNECTED_V[1],
            "charger auxiliary supply off": self.ev.aux_voltage() < AUX_PRESENT_V and not status["aux_present"],
            f"inlet below {SAFE_INLET_V:g} V": self.ev.inlet_voltage() < SAFE_INLET_V,
        }

    def ac(self) -> dict[str, bool]:
        status = self.ev.status()
        high, _ = self.ev.cp_voltage()
        return {
            "S2 open": not status["s2_closed"],
            "CP state 1 (unplugged)": not status["plugged"] and high > CP_STATE1_V,
            "pile contactor open": self.query("analyzer", ":NUMeric:NORMal:VALue?") < AC_OFF_V,
        }


def reaction_times(reader: PlantReader, killed_at: float) -> dict[str, float | None]:
    """Seconds from the kill until each condition first held (None: not within the bound)."""
    look = reader.dc if reader.kind == "dc" else reader.ac
    seen: dict[str, float | None] = dict.fromkeys(look(), None)
    deadline = killed_at + WATCHDOG_S + MARGIN_S + 1.0
    while time.monotonic() < deadline and any(t is None for t in seen.values()):
        now = time.monotonic()
        for name, safe in look().items():
            if safe and seen[name] is None:
                seen[name] = now - killed_at
        time.sleep(POLL_S)
    return seen


def report(kind: str, seen: dict[str, float | None]) -> None:
    limit = WATCHDOG_S + MARGIN_S
    topic = (
        f"watchdog reaction times, {kind.upper()} (bench process SIGKILLed at 0 s, "
        f"watchdog_s = {WATCHDOG_S:g} s, limit {limit:g} s)"
    )
    for name, t in seen.items():
        record_figure(topic, name, "never" if t is None else f"{t:.3f} s")


def kill_and_watch(tmp_path: Path, name: str):
    served, endpoints, profile = serve(tmp_path, name)
    reader = bench = None
    try:
        bench = start_bench(tmp_path, profile, endpoints)
        reader = PlantReader(profile, endpoints)
        before = reader.dc() if reader.kind == "dc" else reader.ac()
        live = {}
        if reader.kind == "dc":
            live = {"inlet_v": reader.ev.inlet_voltage(), "battery_a": reader.query("battery", "MEAS:CURR?")}
        os.kill(bench.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        bench.wait(timeout=10)
        seen = reaction_times(reader, killed_at)
        after = {}
        if reader.kind == "dc":
            after = {
                "OUTP?": reader.scpi["battery"].query("OUTP?").strip(),
                "STAT:QUES:COND?": reader.scpi["battery"].query("STAT:QUES:COND?").strip(),
                "cc2": reader.ev.status()["cc2_connected"],
            }
        return before, live, seen, after
    finally:
        if bench is not None and bench.poll() is None:
            os.kill(bench.pid, signal.SIGKILL)
            bench.wait(timeout=10)
        if reader is not None:
            reader.close()
        stop(served)


@pytest.mark.slow
def test_dc_bench_process_killed_while_charging_at_550_v(tmp_path):
    before, live, seen, after = kill_and_watch(tmp_path, "sim-dc-60kw")
    report("dc", seen)
    assert not any(before.values()), f"not charging before the kill: {before}"
    assert abs(live["inlet_v"] - BATTERY_V) < 15.0 and live["battery_a"] < -CHARGE_A / 2, live
    late = {name: t for name, t in seen.items() if t is None or t > WATCHDOG_S + MARGIN_S}
    assert not late, f"not safe within watchdog_s + {MARGIN_S:g} s: {late}"
    # The SCPI state is the instrument's own; the inhibit line is what switched it off.
    assert after["OUTP?"] == "1" and int(after["STAT:QUES:COND?"]) & QUES_INHIBIT, after


@pytest.mark.slow
def test_ac_bench_process_killed_while_the_pile_delivers(tmp_path):
    before, _, seen, _ = kill_and_watch(tmp_path, "sim-ac-7kw")
    report("ac", seen)
    assert not any(before.values()), f"not delivering before the kill: {before}"
    late = {name: t for name, t in seen.items() if t is None or t > WATCHDOG_S + MARGIN_S}
    assert not late, f"not safe within watchdog_s + {MARGIN_S:g} s: {late}"
    order = [seen["S2 open"], seen["CP state 1 (unplugged)"]]
    assert order == sorted(order), f"CP went to state 1 before S2 opened: {seen}"


# ----------------------------------------------------------------------------------------
# The same on the virtual clock, from the plant's own history
# ----------------------------------------------------------------------------------------


def test_a_quiet_bench_is_de_energised_by_the_board_in_order(tmp_path):
    """A charging session whose heartbeat stops: the board opens K5/K6, drops the inhibit
    lines, opens CC1; the charger stops by its own rules, opens K1/K2, switches its auxiliary
    supply off and discharges the inlet."""
    from bench.api.dc import DcBench
    from bench.core.profile import load_profile
    from bench.session.session import BenchSession
    from instruments import registry

    profile = load_profile(ROOT / "profiles" / "sim-dc-60kw.toml", registry.transports())
    session = BenchSession(profile, tmp_path / "run").open()
    node = FakeNode("tests/test_watchdog_safety_net.py", "quiet_bench")
    session.begin_test(node)
    try:
        bench = DcBench(session)
        bench.start_charging(battery_v=BATTERY_V, current_a=CHARGE_A)
        # Charging at its current, not still ramping up, when the test kills this process.
        bench.wait_until(
            lambda: abs(bench.output_current()) >= 0.9 * CHARGE_A,
            ENERGISED_TIMEOUT_S,
            poll=0.1,
            what="the charging current",
        )
        bench.wait(1.0)
        history, plant = session.sim.history, session.sim.plant
        assert plant.battery.terminal_current() < -CHARGE_A / 2
        session.mark_lost("ev", "test: the bench stops its heartbeat")  # the session's heartbeat stops
        quiet = session.clock.now()
        session.clock.sleep(profile.bench.watchdog_s + MARGIN_S)

        def when(actor, what, value):
            t = history.first(actor, what, value, after=quiet)
            assert t is not None, f"no {actor} {what} = {value!r} after the heartbeat stopped"
            return t - quiet

        k5k6 = when("ev", "k5k6", False)
        inhibits = when("battery", "inhibit", True), when("load", "inhibit", True)
        cc1 = when("ev", "cc1", False)
        k1k2, aux = when("charger", "k1k2", False), when("charger", "aux", False)
        step = 0.05  # the map's [board] watchdog_step_s
        # the last heartbeat came at most a heartbeat period (watchdog_s / 4) before the quiet
        assert 0.75 * profile.bench.watchdog_s - 1e-6 <= k5k6 <= profile.bench.watchdog_s + 1e-6
        assert inhibits == (pytest.approx(k5k6 + step), pytest.approx(k5k6 + step))
        assert cc1 == pytest.approx(k5k6 + 2 * step)
        assert cc1 <= k1k2 <= aux and aux <= profile.bench.watchdog_s + MARGIN_S
        assert plant.inlet_voltage() < SAFE_INLET_V and plant.output_current() == 0.0
        assert plant.battery.on and plant.battery.terminal_voltage() == 0.0  # OUTP on, inhibited
    finally:
        session.end_test(node)
        session.close()


def test_an_inhibited_instrument_is_off_whatever_its_scpi_state():
    import numpy as np

    from instruments.sim.frontends.chroma_63200a import Chroma63200AFrontEnd
    from instruments.sim.frontends.itech_it6000c import ItechIT6000CFrontEnd
    from tests.sim.fakes import advance, served
    from tests.sim.plant_helpers import dc_plant

    clock, plant = dc_plant()
    wires = plant.wires()
    supply = ItechIT6000CFrontEnd(
        "battery",
        clock,
        ("ITECH Electronics", "IT6054C-800-225", "S", "1"),
        {1: plant.battery},
        np.random.default_rng(3),
        current_max=450.0,
        power_max=110160.0,
    )
    load = Chroma63200AFrontEnd(
        "load", clock, ("Chroma", "63210A-1200-1200", "S", "1"), {1: plant.load}, np.random.default_rng(4)
    )
    plant.ev.set_cc2_connected(True)
    plant.ev.set_vehicle_contactors(True)  # the battery simulator holds the inlet, the load sinks from it
    with served(supply, clock) as (_, battery), served(load, clock) as (_, sink):
        battery.write("SYST:REM;OUTP OFF;FUNC:MODE FIXED;FUNC VOLT;VOLT 500;CURR:LIM 20;CURR:LIM:NEG -20;:OUTP ON")
        sink.write("MODE CCH;CURR:STAT:L1 10;LOAD ON")
        advance(clock, battery, 0.5)
        assert float(battery.ask("MEAS:VOLT?")) == pytest.approx(500.0, abs=1.0)
        assert float(sink.ask("MEAS:CURR?")) == pytest.approx(10.0, abs=0.1)
        wires["load_inhibit"](False)  # the relay drops the load's inhibit line
        assert sink.ask("LOAD?") == "1" and abs(float(sink.ask("MEAS:CURR?"))) < 0.05
        plant.ev.set_vehicle_contactors(False)  # as the watchdog does first: the battery on its own terminals
        advance(clock, battery, 0.1)
        assert float(battery.ask("MEAS:VOLT?")) == pytest.approx(500.0, abs=1.0)
        wires["battery_inhibit"](False)
        advance(clock, battery, 0.1)
        assert battery.ask("OUTP?") == "1"  # the instrument's own setting
        assert abs(float(battery.ask("MEAS:VOLT?"))) < 0.01 and abs(float(battery.ask("MEAS:CURR?"))) < 0.01
        assert int(battery.ask("STAT:QUES:COND?")) == QUES_INHIBIT and battery.ask("STAT:OPER:COND?") == "0"
        wires["battery_inhibit"](True)  # the line made again: the output follows its setting (live inhibit)
        advance(clock, battery, 0.1)
        assert float(battery.ask("MEAS:VOLT?")) == pytest.approx(500.0, abs=1.0)
        assert int(battery.ask("STAT:QUES:COND?")) == 0
    kinds = [(e[1], e[2], e[3]) for e in plant.history if e[2] == "inhibit"]
    assert kinds == [("load", "inhibit", True), ("battery", "inhibit", True), ("battery", "inhibit", False)]


def test_the_board_sequence_on_the_bench_clock():
    """Power-up: outputs open and their lines with them. Expiry: K5/K6 and S2; one step later
    the watchdog outputs; one more step the last ones and CP to state 1. Closing an output is
    refused while the watchdog is expired or its sequence runs."""
    from instruments.sim.frontends.ev_simulator import EvSimulatorBoard
    from instruments.sim.modbus import ModbusException
    from tests.sim.test_ev_frontend import FakeEvPort, FakeSignals
    from tests.support.transcript import new_clock

    clock = new_clock()
    port = FakeEvPort(clock)
    wires: list[tuple[float, str, bool]] = []
    lines = {n: (lambda closed, n=n: wires.append((clock.now(), f"line {n}", closed))) for n in (1, 2, 3)}
    board = EvSimulatorBoard(clock, port, FakeSignals(), lines=lines)
    assert wires == [(0.0, "line 1", False), (0.0, "line 2", False), (0.0, "line 3", False)]
    assert board.read_holding(140, 3) == [255, 0, 0]  # power-up: every output, none last, no unplug
    with pytest.raises(ModbusException) as info:
        board.write(130, [1])  # no heartbeat yet
    assert info.value.code == 0x04
    board.write(121, [10])  # 1.0 s
    board.write(120, [1])
    board.write(140, [0b0111, 0b0100, 1])  # outputs 1–3, output 3 last, unplug
    board.write(130, [1, 1, 1])
    board.write(100, [3])
    board.write(111, [1])
    del wires[:], port.calls[:]
    clock.sleep(1.02)  # expired at 1.0 s: K5/K6 and S2 are open, the outputs follow
    board.write(120, [2])  # a late heartbeat re-arms the watchdog, but the sequence runs on
    with pytest.raises(ModbusException) as info:
        board.write(130, [1])
    assert info.value.code == 0x04
    clock.sleep(0.18)
    events = sorted([(round(t, 3), what, v) for t, what, v in port.calls + wires if what != "heartbeat"])
    assert events == [
        (1.0, "set_s2", False),
        (1.0, "set_vehicle_contactors", False),
        (1.05, "line 1", False),
        (1.05, "line 2", False),
        (1.1, "line 3", False),
        (1.1, "set_plugged", False),
    ]
    assert board.read_holding(100, 1) == [1] and board.read_holding(130, 3) == [0, 0, 0]
    board.write(130, [1])  # the sequence is done and the watchdog armed: the lines may close again
    assert wires[-1][1:] == ("line 1", True)


@pytest.mark.parametrize(
    "change, key, expected",
    [
        (
            "battery_inhibit = 1\nload_inhibit = 1",
            "instruments.ev.wiring.load_inhibit",
            "output 1 already drives battery_inhibit",
        ),
        ("battery_inhibit = 17", "instruments.ev.wiring.battery_inhibit", "1 … 16"),
        ("batery_inhibit = 1", "instruments.ev.wiring.batery_inhibit", "unknown line"),
        ('cc1 = "K3"', "instruments.ev.wiring.cc1", "an integer"),
    ],
)
def test_wiring_mistakes_are_one_line(tmp_path, change, key, expected):
    from bench.core.errors import ProfileError
    from bench.core.profile import load_profile

    profile = profile_copy(tmp_path, "sim-dc-60kw", **{r"^battery_inhibit = 1\nload_inhibit = 2\ncc1 = 3$": change})
    with pytest.raises(ProfileError) as info:
        load_profile(profile)
    assert info.value.key == key and expected in info.value.expected and "\n" not in str(info.value)


def test_wiring_belongs_to_the_ev_simulator_and_to_dc_lines(tmp_path):
    from bench.core.errors import ProfileError
    from bench.core.profile import load_profile

    ac = profile_copy(tmp_path, "sim-ac-7kw", **{r"^(\[instruments\.ev\.wiring\])$": r"\1\ncc1 = 8"})
    with pytest.raises(ProfileError, match=r"instruments\.ev\.wiring\.cc1: a AC bench has no such line"):
        load_profile(ac)
    scope = profile_copy(
        tmp_path,
        "sim-dc-60kw",
        **{r"^(\[instruments\.scope\.accuracy\])": "[instruments.scope.wiring]\ncc1 = 1\n" + r"\1"},
    )
    with pytest.raises(ProfileError, match=r"instruments\.scope\.wiring: only \[instruments\.ev\] has a wiring table"):
        load_profile(scope)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "drive":
        drive(*sys.argv[2:])
    else:
        sys.exit("usage: python -m tests.test_watchdog_safety_net drive PROFILE RUN_DIR ENDPOINTS_JSON")
