"""The BMS misbehaving on purpose (GB/T 34658-style protocol conformance): a message it stops
sending, and what the bench reads off the bus of the charger's reaction (CEM, reconnections).

While a message is held back the BMS's own BEM is held back too: what the case times is the
charger's reaction, not a race between the charger's CEM and the emulator's BEM.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.api.dc.charging import DcCharging
from bench.api.frames import Frame
from bench.api.timings import PHASE_POLL_S
from bench.protocols.gbt27930.catalogue import BY_NAME

# CEM frames further apart than this are two episodes (the charger's CEM repeats every 250 ms).
CEM_EPISODE_GAP_S = 4 * BY_NAME["CEM"].period_s


@dataclass(frozen=True)
class Reconnections:
    attempts: int  # CEM episodes the charger followed with a new handshake (CRM)
    episodes: int  # CEM episodes seen
    detail: str


class DcBmsAnomalies(DcCharging):
    """Scripted BMS faults and the charger's answers on the bus."""

    def bms_withholds(self, messages: list[str]) -> float:
        """From now on the BMS does not send ``messages`` (nor BEM) until the test ends; the
        bench time it began."""
        self.bms.go_silent([*messages, "BEM"])
        self._at_end(self.bms.resume)
        return self.now()

    def begin_session(self) -> Frame | None:
        """The start of a session that the BMS may be set to fail: battery held, connector in,
        the platform's start, and the wait (the pile's command response, 4.2.6) for the
        charger's first CRM; that frame, or None when the pile never began. Waiting here keeps
        a slow pile's start from landing in a later test."""
        self.hold_battery(self.vehicle.rated_voltage_v)
        self.connect_vehicle()
        self.bms.request(self.vehicle.max_charge_voltage_v, self.dut.current_range_a[1] / 3, "cc")
        since = self.now()
        self.platform.start()
        return self.wait_for_frame("CRM", since, self.command_wait_s(), poll=PHASE_POLL_S)

    def first_frame(self, name: str, since: float, window_s: float, **values) -> Frame | None:
        """The first ``name`` frame from ``since`` whose fields equal ``values``, waiting up to
        ``window_s``."""
        return self.wait_for_frame(
            name,
            since,
            window_s,
            poll=PHASE_POLL_S,
            where=lambda f: all(f.values.get(k) == v for k, v in values.items()),
        )

    def reconnections(self, since: float, watch_s: float) -> Reconnections:
        """Watch the bus for ``watch_s`` and count the charger's reconnection attempts: CEM
        episodes followed by a new CRM."""
        self.wait(max(0.0, since + watch_s - self.now()))
        cems = [f.time for f in self.frames.frames("CEM", since)]
        crms = [f.time for f in self.frames.frames("CRM", since)]
        episodes: list[tuple[float, float]] = []
        for t in cems:
            if episodes and t - episodes[-1][1] <= CEM_EPISODE_GAP_S:
                episodes[-1] = (episodes[-1][0], t)
            else:
                episodes.append((t, t))
        attempts = 0
        for i, (_, end) in enumerate(episodes):
            until = episodes[i + 1][0] if i + 1 < len(episodes) else since + watch_s
            attempts += any(end < t < until for t in crms)
        detail = (
            f"{len(episodes)} CEM episode(s) in {watch_s:g} s; the charger restarted the handshake (CRM) "
            f"after {attempts} of them"
        )
        return Reconnections(attempts, len(episodes), detail)
