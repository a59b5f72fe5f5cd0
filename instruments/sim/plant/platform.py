"""The pile's own control interface as the platform reaches it (PlatformPort).

Commands return at once and take effect ``command_response_delay_s`` later (4.2.6). The
pile's real-time clock runs at ``clock.wall_time() + rtc_offset_s``; a time sync sets it to
the time sent (counted from when it was sent), and ``rtc_offset_s`` is the error that
remains. Timed actions (start, power change) fire when the pile's clock reaches their time.
Uploads carry ``upload_error_pct`` on voltage, current and power (4.2.4); events are
uploaded only when ``reports_events`` (4.2.3, 4.2.5); 4.2.7 BMS fields lose the names in
``uploads_missing`` and have those in ``uploads_corrupt`` altered. The battery status of
4.5.3 e is uploaded ``bms_upload_lag_s`` late, or not at all without ``uploads_battery_status``.

A timed power change fires ``timed_power_offset_s`` after its time (4.2.9.3 / 4.2.10.3; negative:
early). The energy register reads the energy delivered × (1 + ``meter_error_pct``) (4.4.3).
When the transport (Modbus device, OCPP charge point) tells the port that the platform link is
lost, the pile records a communication fault, uploaded once the link is back, unless
``uploads_link_loss`` is false (4.2.5).
"""

from __future__ import annotations

from typing import Protocol

from bench.core.sim_parameters import UPLOAD_FIELDS
from instruments.sim.plant.history import StateHistory

# Event kinds a pile uploads.
START, STOP, ANOMALY, PROTECTION, COMMUNICATION_FAULT = (
    "start",
    "stop",
    "anomaly",
    "protection",
    "communication_fault",
)


class PlatformTarget(Protocol):
    """What the channel reaches inside the pile (the plant implements it)."""

    def platform_start(self) -> None: ...
    def platform_stop(self) -> None: ...
    def platform_wake(self) -> None: ...
    def apply_power_limit(self, watts: float) -> None: ...
    def apply_current_limit(self, amps: float) -> None: ...
    def state_name(self) -> str: ...
    def measurement(self) -> dict:
        """voltage_v, current_a, power_w, state, energy_kwh as the pile measures them now."""

    def learnt_bms_info(self) -> dict: ...
    def battery_status_at(self, bench_time: float) -> dict[str, float]:
        """The 4.5.3 e battery status the pile held at ``bench_time``."""


class PilePlatformPort:
    """The simulated pile's side of the platform link (its PlatformPort), shared by the AC pile
    and the DC charger. Not the bench's PlatformChannel (bench/platform), which plays the
    platform."""

    def __init__(self, clock, sim: dict, history: StateHistory, target: PlatformTarget):
        self._clock = clock
        self._history = history
        self._target = target
        self._delay = float(sim["command_response_delay_s"])
        self._rtc_offset = float(sim["rtc_offset_s"])
        self._upload_gain = 1.0 + float(sim["upload_error_pct"]) / 100.0
        self._reports_events = bool(sim["reports_events"])
        self._missing = tuple(sim["uploads_missing"])
        self._corrupt = tuple(sim["uploads_corrupt"])
        self._timed_power_offset = float(sim["timed_power_offset_s"])
        self._meter_gain = 1.0 + float(sim["meter_error_pct"]) / 100.0
        self._uploads_link_loss = bool(sim["uploads_link_loss"])
        self._battery_lag = float(sim["bms_upload_lag_s"])
        self._uploads_battery_status = bool(sim["uploads_battery_status"])
        self._link_lost_at: float | None = None  # pile time the platform link was found lost
        self._rtc_base = clock.wall_time()  # pile time (before the offset) at bench time _rtc_t0
        self._rtc_t0 = clock.now()
        self._timed: list[tuple[float, str, tuple, object]] = []  # (pile time, action, args, timer)
        self._events: list[dict] = []

    # -- PlatformPort: commands ------------------------------------------------------------
    def start(self) -> None:
        self._command("start", (), self._target.platform_start)

    def stop(self) -> None:
        self._command("stop", (), self._target.platform_stop)

    def wake_vehicle(self) -> None:
        self._command("wake_vehicle", (), self._target.platform_wake)

    def set_power_limit(self, watts: float) -> None:
        self._command("set_power_limit", (float(watts),), self._target.apply_power_limit)

    def set_current_limit(self, amps: float) -> None:
        self._command("set_current_limit", (float(amps),), self._target.apply_current_limit)

    def timed_start(self, unix_time: float) -> None:
        self._command("timed_start", (float(unix_time),), lambda t: self._arm(t, "start", ()))

    def timed_power_change(self, unix_time: float, watts: float) -> None:
        self._command(
            "timed_power_change", (float(unix_time), float(watts)), lambda t, w: self._arm(t, "power_limit", (w,))
        )

    def set_clock(self, unix_time: float) -> None:
        sent_at = self._clock.now()
        self._command("set_clock", (float(unix_time),), lambda t: self._sync(t, sent_at))

    # -- PlatformPort: readings ------------------------------------------------------------
    def clock(self) -> float:
        return self._rtc_base + (self._clock.now() - self._rtc_t0) + self._rtc_offset

    def realtime(self) -> dict:
        m = self._target.measurement()
        gain = self._upload_gain
        return {
            "voltage_v": m["voltage_v"] * gain,
            "current_a": m["current_a"] * gain,
            "power_w": m["power_w"] * gain,
            "state": m["state"],
            "energy_kwh": m["energy_kwh"] * self._meter_gain,
        }

    def current_state(self) -> str:
        return self._target.state_name()

    def bms_info(self) -> dict:
        learnt = self._target.learnt_bms_info()
        info = {}
        for name in UPLOAD_FIELDS:
            if name in learnt and name not in self._missing:
                info[name] = corrupted(learnt[name]) if name in self._corrupt else learnt[name]
        return info

    def battery_status(self) -> dict[str, float]:
        """The 4.5.3 e battery status as uploaded: ``bms_upload_lag_s`` old, or nothing when the
        pile does not upload it (``uploads_battery_status`` false)."""
        if not self._uploads_battery_status:
            return {}
        return self._target.battery_status_at(self._clock.now() - self._battery_lag)

    def events(self) -> list[dict]:
        drained, self._events = self._events, []
        return drained

    # -- PlatformPort: the link to the platform (what the transport sees of it) -------------
    def link_lost(self, how: str) -> None:
        """The transport found the platform link gone (``how``): the pile records it once per
        outage as a communication fault, queued until the link is back."""
        if self._link_lost_at is not None:
            return
        self._link_lost_at = self.clock()
        self._history.record("platform", "link", ("lost", how))
        if self._uploads_link_loss:
            self.report(COMMUNICATION_FAULT, f"platform link lost ({how})")

    def link_restored(self) -> None:
        if self._link_lost_at is None:
            return
        self._link_lost_at = None
        self._history.record("platform", "link", ("restored",))

    # -- inside the pile -------------------------------------------------------------------
    def report(self, kind: str, detail: str) -> None:
        """An event the pile uploads (if it reports events at all)."""
        if not self._reports_events:
            return
        event = {"kind": kind, "pile_time": self.clock(), "detail": detail}
        self._events.append(event)
        self._history.record("platform", "event", (kind, detail))

    def _command(self, name: str, args: tuple, apply) -> None:
        self._history.record("platform", "command", (name, *args))

        def carry_out():
            self._history.record("platform", "applied", (name, *args))
            apply(*args)

        self._clock.call_later(self._delay, carry_out)

    def _sync(self, unix_time: float, sent_at: float) -> None:
        now = self._clock.now()
        self._rtc_base = unix_time + (now - sent_at)
        self._rtc_t0 = now
        self._history.record("platform", "rtc_set", self.clock())
        for pile_time, action, args, timer in list(self._timed):
            timer.cancel()
            self._timed.remove((pile_time, action, args, timer))
            self._arm(pile_time, action, args)

    def _arm(self, pile_time: float, action: str, args: tuple) -> None:
        late = self._timed_power_offset if action == "power_limit" else 0.0
        when = self._clock.now() + max(0.0, pile_time + late - self.clock())
        entry: list = []

        def fire():
            self._timed.remove(entry[0])
            self._history.record("platform", "timed", (action, *args))
            if action == "start":
                self._target.platform_start()
            else:
                self._target.apply_power_limit(*args)

        timer = self._clock.call_at(when, fire)
        entry.append((pile_time, action, args, timer))
        self._timed.append(entry[0])


def corrupted(value: object) -> object:
    """A deterministic wrong value of the same type (4.2.7 upload fault)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return round(value * 1.1 + 0.1, 6)
    if isinstance(value, str):
        flips = {"on": "off", "off": "on"}
        if value in flips:
            return flips[value]
        altered = value[::-1]
        return altered if altered != value else value + "X"
    return None
