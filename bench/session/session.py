"""The bench for one profile: clock, instruments, CAN bus, platform channel, vehicle side.

``open()`` validates nothing twice (the profile is already valid), starts the simulated bench
when the profile says ``simulated = true`` (through the one launcher), opens every driver by
its resource string and checks the identity it reports, opens the CAN bus and the platform
channel and, for a DC charger, starts the bench's BMS emulator. ``close()`` always runs the
safe-state sequence first. Per test, ``begin_test``/``end_test`` bracket the evidence
(traces, platform log, safe-state report).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.core.clock import Clock, RealClock, VirtualClock
from bench.core.errors import BenchError, InstrumentLost, WaitTimeout
from bench.core.limits import LimitsTable, limits_for
from bench.core.profile import Profile
from bench.protocols.gbt27930 import timing
from bench.protocols.gbt27930.bms import ACTIVE as ACTIVE_PHASES
from bench.session.evidence import Evidence
from bench.session.guards import dut_guards
from bench.session.instrument_guard import TypeTestRefused, identity_record, instrument_problems
from bench.session.recorder import CheckRecorder
from bench.session.run_record import RunRecord
from bench.session.safe_state import INLET_SAFE_V, SafeState, absent
from bench.session.shutdown import SHUTDOWN

# The bench polls the EV simulator's auxiliary-supply read-back this often to power the BMS
# emulator (a real BMS is powered from A+ and takes a moment to boot too). Bench choice: fine
# against the 10 s of 4.2.10.4, which its case measures with its own, finer read-back.
AUX_POLL_S = 0.5
# Before energising, the DC inlet must be dead: the same 60 V the safe state ends below.
DEAD_INLET_V = INLET_SAFE_V
# The end of a DC session on the bus after the safe state: BST until CST, BSD until CSD (each
# waited for at most the default 5 s), then their repeats (END_HOLD_S).
SESSION_END_WAIT_S = 2 * timing.DEFAULT_TIMEOUT_S + timing.END_HOLD_S
SESSION_END_POLL_S = 0.1


class EnergiseRefused(BenchError):
    """The bench found it unsafe to switch anything on (E-stop / interlock input open, the
    inlet live): one line naming what; nothing was switched on."""


class BenchSession:
    def __init__(self, profile: Profile, run_dir: Path, record: RunRecord | None = None):
        self.profile = profile
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # The run record (summary.json); a session opened outside pytest keeps its own.
        self._own_record = record is None
        self.record = record or RunRecord(profile, self.run_dir, self.run_dir.parent.name)
        self.record.session = self
        self.limits: LimitsTable = limits_for(profile.dut.standard_edition)
        self.clock: Clock = (
            VirtualClock(epoch=_epoch(profile.sim["start_time"])) if profile.bench.simulated else RealClock()
        )
        self.clock.interrupt = SHUTDOWN.check  # stop requests take effect at the start of a wait
        self.sim = None
        self.instruments: dict[str, Any] = {}
        self.identities: dict[str, dict] = {}
        self.lost: dict[str, str] = {}
        self.can = None
        self.platform = None
        self.platform_log = None
        self.bms = None
        self.recorder = CheckRecorder(self.run_dir / "checks.jsonl")
        self.evidence = Evidence(self)
        self.safe_state_reports: list[dict] = []
        self.current_test = ""
        self._test_started = 0.0
        self._periodic = []
        self._opened = False

    # == opening ===========================================================================
    def open(self) -> BenchSession:
        try:
            if self.profile.bench.simulated:
                from bench.session.launcher import launch_simulated_bench

                self.sim, self.profile = launch_simulated_bench(self.profile, self.clock)
                # Written as it grows: a crash keeps what the simulated instruments did.
                self.sim.history.stream_to(self.run_dir / "sim_history.jsonl")
            self._open_instruments()
            self._check_instruments()
            self._energise()
            self._open_can()
            self._open_platform()
            self._start_vehicle_side()
        except BaseException:
            self.close()
            raise
        self._opened = True
        self.evidence.write_instrument_list()
        return self

    def _open_instruments(self) -> None:
        from instruments import registry

        guards = dut_guards(self.profile)
        for role, config in self.profile.instruments.items():
            cls = registry.driver_class(config.driver)
            driver = cls(config, self.clock, guards.get(role))
            driver.open()
            self.instruments[role] = driver
            self.identities[role] = identity_record(config, driver.identity)

    def _check_instruments(self) -> None:
        """The type-test guard (bench/session/instrument_guard.py): nothing is switched on yet.
        A type test refuses on any problem; a development run flags them and goes on."""
        problems = instrument_problems(list(self.identities.values()), self.profile.bench.mode)
        self.record.problems = [p.to_dict() for p in problems]
        if problems and self.profile.bench.mode == "type-test":
            raise TypeTestRefused(problems)

    def _energise(self) -> None:
        """Check that it is safe to energise (E-stop / interlock input closed; DC: inlet below
        60 V), arm the EV simulator's watchdog and its safety net (what it opens by itself if
        the heartbeat stops; the instruments' inhibit lines made), then switch the grid on."""
        ev = self.instruments.get("ev")
        if ev is not None:
            refusals = []
            if ev.estop_input():
                refusals.append("E-stop / interlock input active (EV simulator status bit estop_input)")
            if self.profile.dut.kind == "dc":
                inlet = ev.inlet_voltage()
                if inlet >= DEAD_INLET_V:
                    refusals.append(f"inlet at {inlet:.1f} V ≥ {DEAD_INLET_V:g} V")
            if refusals:
                raise EnergiseRefused(
                    "refused before energising: "
                    + "; ".join(refusals)
                    + "; nothing was switched on, the bench stays in its safe state"
                )
            ev.set_watchdog(self.profile.bench.watchdog_s)
            ev.heartbeat()
            ev.arm_safety_net()
            self._periodic.append(
                self.clock.every(
                    self.profile.bench.watchdog_s / 4, self._heartbeat, first_delay=self.profile.bench.watchdog_s / 4
                )
            )
        grid = self.instruments.get("grid")
        if grid is not None:  # a grid simulator starts with its output off
            grid.set_supply(self.profile.dut.nominal_supply_v, self.profile.dut.supply_frequency_hz)
            grid.set_output(True)

    def _open_can(self) -> None:
        if self.profile.can is None:
            return
        from instruments.can.adapter import open_can

        self.can = open_can(self.profile.can, self.clock, name="bench")

    def _open_platform(self) -> None:
        from bench.platform.channel import open_channel
        from bench.platform.log import MessageLog

        self.platform_log = MessageLog(self.run_dir / "platform.log")
        # the run folder: OCPP transaction ids unique across the run's sessions (one per profile)
        self.platform = open_channel(self.profile.dut, self.clock, self.platform_log, run_folder=self.run_dir.parent)
        if self.profile.dut.control == "ocpp16":
            if self.sim is not None:
                self.sim.connect_central_system(self.platform.url)
            self.platform.wait_connected(30.0)

    def _start_vehicle_side(self) -> None:
        if self.profile.dut.kind != "dc":
            return
        from bench.protocols.gbt27930.bms import BmsEmulator
        from bench.protocols.gbt27930.bms_config import BmsConfig

        self.bms = BmsEmulator(
            self.can, BmsConfig.from_vehicle(self.profile.vehicle), self._battery_measurement, aux_power=False
        )
        self.bms.start()
        self._periodic.append(self.clock.every(AUX_POLL_S, self._follow_aux_power))

    # == what the session does on the clock ================================================
    def _heartbeat(self) -> None:
        if "ev" in self.lost:
            return
        try:
            self.instruments["ev"].heartbeat()
        except InstrumentLost as exc:
            self.mark_lost("ev", str(exc))

    def _follow_aux_power(self) -> None:
        if "ev" in self.lost:
            return
        try:
            present = self.instruments["ev"].aux_present()
        except InstrumentLost as exc:
            self.mark_lost("ev", str(exc))
            return
        self.bms.set_aux_power(present)

    def _battery_measurement(self) -> tuple[float, float]:
        """What BCS reports: the battery simulator's own measurement (V, A into the battery)."""
        volts, amps, _ = self.instrument("battery").measure()
        return volts, -amps  # the supply reads negative while it sinks the charging current

    # == access ============================================================================
    def instrument(self, role: str):
        if role in self.lost:  # of the kind it was lost by (timeout, reset, bus-off …)
            from bench.session.instrument_events import events_of

            raise events_of(self).error_for(role)
        try:
            return self.instruments[role]
        except KeyError:
            raise absent(role) from None

    def mark_lost(self, role: str, message: str) -> None:
        """Take ``role`` out of service until it answers again (instrument_events.jsonl)."""
        if role not in self.lost:
            from bench.session.instrument_events import events_of

            self.lost[role] = message
            events_of(self).lost(role, message)

    # == measurements the safe state needs =================================================
    def stop_bms(self) -> str:
        if self.bms is None or self.bms.phase not in ("configuration", "charging"):
            return f"BMS not charging ({self.bms.phase if self.bms else 'none'})"
        self.bms.stop()  # the vehicle ends charging (the emulator's default BST reason)
        return "BST sent"

    def platform_stop(self) -> str:
        if self.platform is None:
            raise absent("platform channel")
        self.platform.stop()
        return "stop sent"

    def output_current(self) -> float:
        """Charging current (A): the power analyzer's, else the battery simulator's reading."""
        analyzer = self.instruments.get("analyzer")
        if analyzer is not None and "analyzer" not in self.lost:
            try:
                reading = analyzer.read_element(self.analyzer_element("output"))["I"]
            except InstrumentLost as exc:
                self.mark_lost("analyzer", str(exc))
            else:
                if reading.value is not None:
                    return reading.value
        return self._battery_measurement()[1]

    def ac_output_voltage(self) -> float:
        reading = self.instrument("analyzer").read_element(self.analyzer_element("output"), ac=True)["U"]
        return reading.value if reading.value is not None else float("inf")

    def analyzer_element(self, point: str) -> int:
        """The analyzer element wired to ``point`` ("output", "input")."""
        return self._wired("analyzer", point)

    def scope_channel(self, signal: str) -> int:
        """The scope channel wired to ``signal`` ("cp", "aux_voltage", ...)."""
        return self._wired("scope", signal)

    def _wired(self, role: str, point: str) -> int:
        try:
            return self.instrument(role).config.channels[point]
        except KeyError:
            raise BenchError(
                f"{self.profile.path}: instruments.{role}.channels.{point}: "
                f"not wired (this case needs the {role} on {point})"
            ) from None

    # == per test ==========================================================================
    def begin_test(self, node) -> None:
        self.current_test = node.nodeid
        self.recorder.current_test = node.nodeid
        self._test_started = self.clock.now()
        self.evidence.begin_test(node)
        # Once per test, never in the middle of one: a lost instrument that answers again is back.
        from bench.session.instrument_events import events_of

        events_of(self).reconnect()

    def end_test(self, node) -> None:
        try:
            with SHUTDOWN.protected():  # the safe state and the test's evidence, whatever comes
                self.run_safe_state(f"end of {node.name}")
                self._let_the_can_session_end()
                self.evidence.end_test(node)
        finally:
            self.record.test_bench_time(node.nodeid, self.clock.now() - self._test_started)
            self.current_test = ""
            self.recorder.current_test = ""

    def _let_the_can_session_end(self) -> None:
        """After the safe state a DC session still ends on the bus (BST/CST, then BSD/CSD, each
        repeated for a while), and a charger that was reconnecting (after a CAN loss, say) may
        still be in the handshake or the configuration: wait for the session to end, bounded, so
        that its frames belong to the test that ran it. Without this the next test's monitor saw
        the session "start with BSD", or with CML."""
        if self.bms is None or self.bms.phase not in ACTIVE_PHASES:
            return
        try:
            self.clock.wait_until(
                lambda: self.bms.phase not in ACTIVE_PHASES,
                SESSION_END_WAIT_S,
                poll=SESSION_END_POLL_S,
                what="the CAN session to end (BSD/CSD)",
            )
        except WaitTimeout:
            return  # a charger that never ends the session: the monitor of this test has seen it
        self.clock.sleep(timing.END_HOLD_S + SESSION_END_POLL_S)  # the last BSD/CSD repeats

    def run_safe_state(self, reason: str) -> SafeState:
        sequence = SafeState(self)
        with SHUTDOWN.protected():  # a stop request waits until the sequence has finished
            sequence.run()
        record = {
            "reason": reason,
            "test": self.current_test,
            "bench_time": self.clock.now(),
            "steps": [vars(step) for step in sequence.steps],
        }
        self.safe_state_reports.append(record)
        with (self.run_dir / "safe_state.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.evidence.attach_text("safe state", sequence.report())
        return sequence

    # == closing ===========================================================================
    def close(self) -> None:
        with SHUTDOWN.protected():  # a stop request must not leave the grid on or a file open
            self._close()

    def _close(self) -> None:
        self.current_test = self.recorder.current_test = ""
        if self._opened:
            self.run_safe_state("end of run")
        for periodic in self._periodic:
            periodic.cancel()
        self._periodic.clear()
        grid = self.instruments.get("grid")
        if grid is not None and "grid" not in self.lost:
            try:
                grid.safe_off()
            except BenchError:
                pass
        for closer in (
            getattr(self.bms, "close", None),
            getattr(self.platform, "close", None),
            getattr(self.can, "close", None),
        ):
            if closer is not None:
                try:
                    closer()
                except BenchError:
                    pass
        for driver in self.instruments.values():
            try:
                driver.close()
            except BenchError:
                pass
        if self.sim is not None:
            self._write_sim_history()
            self.sim.stop()
            self.sim = None
        self.recorder.close()
        if self.platform_log is not None:
            self.platform_log.close()
        self._opened = False
        if self._own_record:
            self.record.close("session closed", complete=True)
        else:
            self.record.write()

    def _write_sim_history(self) -> None:
        """The simulated instruments' own state history, as evidence of what the bench did:
        streamed to sim_history.jsonl since the simulated bench started; closed here."""
        self.sim.history.close_stream()


def _epoch(start_time: str) -> float:
    try:
        return datetime.fromisoformat(start_time).timestamp()
    except ValueError:
        raise BenchError(f"[sim] start_time: an ISO 8601 date and time, got {start_time!r}") from None
