"""BMS anomalies on the DC bench (issue 13; GB/T 34658-style protocol conformance): the bench's
BMS emulator misbehaves — a message missing or late, BRO never ready, BCL or BCS stopping, a
frame of the wrong length, a TP transfer aborted, its handshake restarted, a BCP maximum below
the charger's range — and the bench reads the charger's reaction off the bus and the analyzer.

While an anomaly is scripted the BMS holds its own receive timeouts (no BEM of its own), so
what shows on the bus is the charger's reaction alone, not a race between the charger's CEM and
the emulator's BEM; everything is undone when the test ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.api.dc.charging import DcCharging
from bench.api.frames import Frame
from bench.api.timings import (
    CURRENT_POLL_S,
    PHASE_POLL_S,
    QUIET_POLL_S,
    SESSION_START_TIMEOUT_S,
    output_change_resolution_s,
)


@dataclass(frozen=True)
class Reconnections:
    """What the charger did after its CEM while the anomaly persisted."""

    attempts: int  # restarts (CRM(0x00) or CHM) that followed a CEM
    stopped: bool  # no restart followed the last CEM within the quiet time
    detail: str


class DcBmsAnomalies(DcCharging):
    """The BMS scripted to misbehave, and the charger's reaction read back."""

    # -- setting the anomaly up ---------------------------------------------------------------
    def bms_holds_its_timeouts(self) -> None:
        """The BMS notes its own receive timeouts but sends no BEM (until the test ends)."""
        self._at_end(lambda: self.bms.hold_timeouts(False))
        self.bms.hold_timeouts(True)

    def withhold(self, message: str, release_after_s: float | None = None) -> float:
        """The vehicle sends no ``message`` from now on (``release_after_s`` later it sends it
        again; None: not in this test); the bench time of its last frame (now if none came)."""
        self.bms_holds_its_timeouts()
        self._at_end(self.bms.resume)
        self.bms.go_silent([message])
        if release_after_s is not None:
            timer = self.clock.call_later(release_after_s, self.bms.resume)
            self._at_end(timer.cancel)
        return self._last_sent(message)

    def bro_never_ready(self) -> None:
        """BRO stays 0x00 for good."""
        self.bms_holds_its_timeouts()
        self._at_end(lambda: self.bms.stay_not_ready(False))
        self.bms.stay_not_ready(True)

    def send_wrong_length(self, message: str, length: int) -> float:
        """``message`` goes out ``length`` bytes long from now; the bench time of its last frame
        of the right length."""
        self.bms_holds_its_timeouts()
        self._at_end(lambda: self.bms.send_wrong_length(message, None))
        self.bms.send_wrong_length(message, length)
        return self._last_sent(message)

    def abort_transfers(self, message: str) -> float:
        """Every TP transfer of ``message`` aborted in the middle from now; the bench time of
        its last complete transfer."""
        self.bms_holds_its_timeouts()
        self._at_end(lambda: self.bms.abort_transfers(message, False))
        self.bms.abort_transfers(message, True)
        return self._last_sent(message)

    def restart_bms_handshake(self) -> float:
        """The BMS restarts its handshake mid-session (BHM again, nothing else); the bench time
        of its last BCL."""
        self.bms_holds_its_timeouts()
        self.bms.restart_handshake()
        return self._last_sent("BCL")

    def announce_bcp_max_voltage(self, volts: float) -> None:
        """BCP gives ``volts`` as the vehicle's maximum charging voltage (until the test ends)."""
        self._at_end(lambda: self.bms.announce_max_charge_voltage(None))
        self.bms.announce_max_charge_voltage(volts)

    def _last_sent(self, message: str) -> float:
        last = self.frames.last(message)
        return self.now() if last is None else last.time

    def begin_session(self, battery_v: float | None = None, request_v: float | None = None) -> Frame | None:
        """The start of a session that the BMS may be set to fail: battery held (at the vehicle's
        rated voltage unless ``battery_v``), connector in, BCL asking for a third of the DUT's
        maximum current (at the vehicle's maximum voltage unless ``request_v``), the platform's
        start, and the wait (the pile's command response, 4.2.6) for the charger's first CRM;
        that frame, or None when the pile never began. Waiting here keeps a slow pile's start
        from landing in a later test. K5/K6 close once configuration begins, as a car's do."""
        self.plug_in_asking(self.dut.current_range_a[1] / 3, battery_v=battery_v, voltage_v=request_v)
        self.close_k5_k6_at_configuration()
        since = self.now()
        self.platform.start()
        return self.wait_for_frame("CRM", since, self.command_wait_s(), poll=PHASE_POLL_S)

    # -- reading the reaction -----------------------------------------------------------------
    def first_frame(self, name: str, since: float, window_s: float, **values: object) -> Frame | None:
        """The first ``name`` frame from ``since`` whose fields equal ``values``, waiting until
        ``since + window_s`` at most."""
        return self.wait_for_frame(
            name,
            since,
            window_s,
            poll=PHASE_POLL_S,
            where=lambda f: all(f.values.get(k) == v for k, v in values.items()),
        )

    def cem_for(self, flag: str, since: float, window_s: float) -> tuple[Frame | None, str]:
        """The first CEM with ``flag`` set to timeout at or after ``since`` (within
        ``window_s``), and what CEMs came otherwise."""
        cem = self.first_frame("CEM", since, window_s, **{flag: "timeout"})
        if cem is not None:
            return cem, f"CEM with {flag}"
        others = {k for f in self.frames.frames("CEM", since) for k, v in f.values.items() if v == "timeout"}
        seen = f"; CEMs came with {', '.join(sorted(others))} instead" if others else ""
        return None, f"no CEM with {flag}{seen}"

    def first_restart(self, since: float, window_s: float) -> Frame | None:
        """The charger's first restart (CRM(0x00) or CHM) at or after ``since``."""
        found = [
            f
            for f in (
                self.first_frame("CRM", since, window_s, recognition="not_recognized"),
                self.frames.first("CHM", since),
            )
            if f is not None
        ]
        return min(found, key=lambda f: f.time) if found else None

    def current_off_polled(self, since: float, window_s: float) -> tuple[float | None, float]:
        """From ``since`` until the output current is at or below the stopped charger's 5 A
        (the analyzer, polled; at most ``window_s``): (when, how late it may be seen: a poll and
        two analyzer updates, never early)."""
        end_a = self.limit("gbt27930:stop:bms_current_off_time").figure("end_current_a")
        off, _ = self.wait_current_off(end_a, until=since + window_s)
        return off, output_change_resolution_s(CURRENT_POLL_S)

    def reconnections(self, since: float, quiet_s: float, window_s: float) -> Reconnections:
        """Count the charger's restarts after a CEM from ``since`` until no restart has followed
        a CEM for ``quiet_s`` (a charger that gives up may go on sending CEM), or ``window_s``
        has passed."""

        def tally() -> tuple[int, float | None]:
            events = sorted(
                [(f.time, "CEM") for f in self.frames.frames("CEM", since)]
                + [
                    (f.time, "restart")
                    for f in self.frames.frames("CRM", since)
                    if f.values.get("recognition") == "not_recognized"
                ]
                + [(f.time, "restart") for f in self.frames.frames("CHM", since)]
            )
            attempts, waiting_since = 0, None
            for t, kind in events:
                if kind == "CEM" and waiting_since is None:
                    waiting_since = t
                elif kind == "restart" and waiting_since is not None:
                    attempts, waiting_since = attempts + 1, None
            return attempts, waiting_since  # the first CEM no restart has followed yet

        def stopped() -> bool:
            _, unanswered = tally()
            return unanswered is not None and self.now() - unanswered >= quiet_s

        done = self.try_wait_until(
            stopped, since + window_s - self.now(), poll=QUIET_POLL_S, what="the charger to stop reconnecting"
        )
        attempts, _ = tally()
        if done is None:
            return Reconnections(attempts, False, f"{attempts} restarts and still going after {window_s:g} s")
        return Reconnections(
            attempts, True, f"{attempts} restarts after a CEM, then none for {quiet_s:g} s after a CEM"
        )

    def session_resumed(self, since: float) -> tuple[bool, str]:
        """After the charger's CEM at ``since``: a restart, and the vehicle charging again
        (within the session start time)."""
        restart = self.first_restart(since, SESSION_START_TIMEOUT_S)
        if restart is None:
            return False, f"no restart (CRM(0x00) or CHM) within {SESSION_START_TIMEOUT_S:g} s of the CEM"
        charging = self.try_wait_until(
            lambda: self.bms.phase == "charging",
            SESSION_START_TIMEOUT_S,
            poll=PHASE_POLL_S,
            what="the charging phase after the reconnection",
        )
        if charging is None:
            return False, f"{restart.name} {restart.time - since:.2f} s after the CEM, but no charging phase"
        return True, f"{restart.name} {restart.time - since:.2f} s after the CEM, charging again"

    def charged_since(self, since: float, end_a: float) -> tuple[bool, str]:
        """Whether the charger charged the vehicle from ``since`` until now: a CRO(0xAA), the
        vehicle's charging phase, or the output current above ``end_a`` now."""
        ready = self.ready_cro(since)
        charging = any(e.details.get("phase") == "charging" for e in self.bms.events_named("phase") if e.time >= since)
        current = self.output_current()
        seen = [
            *(["CRO(0xAA)"] if ready is not None else []),
            *(["the vehicle in its charging phase"] if charging else []),
            *([f"{current:.1f} A at the output"] if current > end_a else []),
        ]
        if seen:
            return True, "charged: " + ", ".join(seen)
        return False, f"no CRO(0xAA), no charging phase, {current:.1f} A at the output"
