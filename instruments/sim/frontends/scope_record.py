"""What the simulated oscilloscopes share: channel, timebase and edge-trigger settings, the
acquisition under bench time, and the synthesised record. The dialect files
(keysight_scope.py, rigol_scope.py) only speak their command sets over this core.

Acquisition under bench time (no threads, no timers): every query works out the state from
``clock.now()``.

* ``single()`` arms at ``t_arm``. The pre-trigger part of the record must be filled first,
  so the trigger system is ready at ``t_arm + pre``; the trigger is the first crossing of the
  trigger level with the set slope on the trigger source after that (``Signal.next_crossing``);
  the acquisition is complete once bench time has passed ``trigger + post``.
* ``force()`` while armed triggers now (or, before the pre-trigger part is filled, as soon
  as it is).
* ``run()`` acquires continuously: the record shown is the latest one complete by now,
  triggered by the latest edge in the last auto-trigger wait, or (AUTO sweep) auto-triggered.

The record: ``points`` samples over the screen width (``divisions`` × s/div) from
``Signal.sample`` on that grid, plus gaussian noise from the instrument's seeded rng. A
single acquisition samples every wired channel when it is found complete (the plant keeps
a bounded past); a running scope's record is sampled when first asked for. The same
commands at the same bench times give the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from instruments.sim.frontends.common import Unwired
from instruments.sim.plant.ports import Signal

# Acquisition phases as ``phase()`` reports them.
STOPPED = "stopped"
PRETRIGGER = "pretrigger"  # armed, filling the pre-trigger part
WAITING = "waiting"  # ready, waiting for a trigger
TRIGGERED = "triggered"  # triggered, filling the post-trigger part
RUNNING = "running"  # continuous acquisition, triggering (or auto-triggering)

SLOPES = ("POS", "NEG", "EITH")
SWEEPS = ("AUTO", "NORM", "SING")
# AUTO sweep: how long the scope waits for a trigger before it makes one itself. A design
# figure of this simulation (the real wait depends on the model and timebase): the longer
# of 50 ms and one screen width.
AUTO_WAIT_MIN_S = 0.05
VERTICAL_DIVISIONS = 8


@dataclass
class Channel:
    scale: float = 1.0  # V/div
    centre: float = 0.0  # V at the screen centre
    probe: float = 1.0
    coupling: str = "DC"
    display: bool = False
    impedance: str = "ONEM"

    def screen(self) -> tuple[float, float]:
        half = VERTICAL_DIVISIONS / 2 * self.scale
        return self.centre - half, self.centre + half


@dataclass(frozen=True)
class Horizontal:
    scale: float  # s/div
    position: float  # s from the trigger to the reference point
    reference_div: float  # reference point, divisions from the left edge of the screen
    divisions: int
    points: int

    @property
    def first(self) -> float:
        """Time of the first point relative to the trigger."""
        return self.position - self.reference_div * self.scale

    @property
    def span(self) -> float:
        return self.divisions * self.scale

    @property
    def dt(self) -> float:
        return self.span / self.points

    @property
    def pre(self) -> float:
        return max(0.0, -self.first)

    @property
    def post(self) -> float:
        return max(0.0, self.first + self.span)

    def auto_wait(self) -> float:
        return max(AUTO_WAIT_MIN_S, self.span)


class AcquiredRecord:
    """One complete acquisition: the time grid and each channel's volts (noise included)."""

    def __init__(
        self,
        t_trig: float,
        horizontal: Horizontal,
        channels: dict[int, Channel],
        signals: dict[int, Signal],
        noise_v: float,
        rng: np.random.Generator,
        forced: bool = False,
        auto: bool = False,
    ):
        self.t_trig = t_trig
        self.horizontal = horizontal
        self.channels = channels
        self.forced = forced
        self.auto = auto
        self._signals = signals
        self._noise_v = noise_v
        self._rng = rng
        self._volts: dict[int, np.ndarray] = {}

    @property
    def points(self) -> int:
        return self.horizontal.points

    def times(self) -> np.ndarray:
        """Bench times of the samples."""
        h = self.horizontal
        return self.t_trig + h.first + np.arange(h.points) * h.dt

    def fill(self) -> None:
        """Take every wired channel's samples now, while the plant still holds that stretch
        of its history (it keeps a bounded past)."""
        for channel in sorted(self._signals):
            self.volts(channel)

    def volts(self, channel: int) -> np.ndarray:
        if channel not in self._volts:
            signal = self._signals.get(channel) or Unwired()
            values = np.asarray(signal.sample(np.maximum(self.times(), 0.0)), dtype=float)
            if self._noise_v > 0:
                values = values + self._rng.normal(0.0, self._noise_v, len(values))
            if self.channels[channel].coupling == "AC":
                values = values - values.mean()
            self._volts[channel] = values
        return self._volts[channel]


@dataclass
class _Armed:
    t_arm: float
    horizontal: Horizontal
    channels: dict[int, Channel]
    searched: float  # the trigger search has covered bench time up to here
    t_trig: float | None = None
    forced: bool = False
    auto: bool = False

    @property
    def ready(self) -> float:
        return self.t_arm + self.horizontal.pre


class ScopeCore:
    def __init__(
        self,
        clock,
        signals: dict[int, Signal],
        rng: np.random.Generator,
        *,
        noise_v: float,
        points: int,
        divisions: int,
        reference_div: float,
        channel_count: int = 4,
        timebase_scale: float = 1e-4,
    ):
        self.clock = clock
        self.signals = signals
        self.rng = rng
        self.noise_v = noise_v
        self.points = int(points)
        self.divisions = divisions
        self.channel_count = channel_count
        self._default_reference = reference_div
        self._default_timebase = timebase_scale
        self.reset()

    # -- settings ----------------------------------------------------------------------------
    def reset(self) -> None:
        self.channels = {n: Channel(display=(n == 1)) for n in range(1, self.channel_count + 1)}
        self.timebase_scale = self._default_timebase
        self.position = 0.0
        self.reference_div = self._default_reference
        self.trigger_source = 1  # a channel number, or a name such as "EXT" (never triggers)
        self.levels: dict[object, float] = {}
        self.slope = "POS"
        self.sweep = "AUTO"
        self.average_count = 1  # > 1 reduces the noise as averaging does
        self._record: AcquiredRecord | None = None
        self._last_trigger: float | None = None
        self._ter_mark = -math.inf
        self._aer_mark = -math.inf
        self.run()  # a scope powers up (and comes out of *RST) running

    def horizontal(self) -> Horizontal:
        return Horizontal(self.timebase_scale, self.position, self.reference_div, self.divisions, self.points)

    def level(self, source=None) -> float:
        return self.levels.get(self.trigger_source if source is None else source, 0.0)

    def set_level(self, volts: float, source=None) -> None:
        self.levels[self.trigger_source if source is None else source] = volts

    def _snapshot_channels(self) -> dict[int, Channel]:
        return {n: replace(ch) for n, ch in self.channels.items()}

    def _noise(self) -> float:
        return self.noise_v / math.sqrt(max(1, self.average_count))

    # -- control -----------------------------------------------------------------------------
    def run(self) -> None:
        self.mode = "run"
        self.t_run = self.clock.now()
        self._armed = None
        self._run_cache: AcquiredRecord | None = None
        self._armed_at = self.t_run + self.horizontal().pre

    def stop(self) -> None:
        if self.mode == "run":
            latest = self._run_record(self.clock.now())
            if latest is not None:
                self._record = latest
        elif self.mode == "single":
            self._advance()
        self.mode = "stop"
        self._armed = None

    def single(self) -> None:
        now = self.clock.now()
        h = self.horizontal()
        self.mode = "single"
        self._armed = _Armed(now, h, self._snapshot_channels(), searched=now + h.pre)
        self._armed_at = self._armed.ready

    def force(self) -> bool:
        """Force a trigger; True when it acted (armed and not yet triggered)."""
        self._advance()
        armed = self._armed
        if self.mode != "single" or armed is None or armed.t_trig is not None:
            return False
        armed.t_trig = max(self.clock.now(), armed.ready)
        armed.forced = True
        self._last_trigger = armed.t_trig
        return True

    # -- state at bench time now -------------------------------------------------------------
    def phase(self) -> str:
        self._advance()
        now = self.clock.now()
        if self.mode == "stop":
            return STOPPED
        if self.mode == "run":
            h = self.horizontal()
            if now < self.t_run + h.pre:
                return PRETRIGGER
            if self.sweep != "AUTO" and self._run_trigger(now)[0] is None:
                return WAITING
            return RUNNING
        armed = self._armed
        if armed.t_trig is not None:
            return TRIGGERED
        return PRETRIGGER if now < armed.ready else WAITING

    def record(self) -> AcquiredRecord | None:
        """The latest complete record (while running: the one complete by now)."""
        self._advance()
        if self.mode == "run":
            return self._run_record(self.clock.now()) or self._record
        return self._record

    def take_trigger_event(self) -> bool:
        """:TER?-style flag: a trigger happened since the last call (cleared by reading)."""
        self._advance()
        now = self.clock.now()
        if self.mode == "run":
            self._run_trigger(now)
        t = self._last_trigger
        if t is not None and t <= now and t > self._ter_mark:
            self._ter_mark = t
            return True
        return False

    def take_armed_event(self) -> bool:
        """:AER?-style flag: the trigger system became armed since the last call."""
        t = self._armed_at
        if t is not None and t <= self.clock.now() and t > self._aer_mark:
            self._aer_mark = t
            return True
        return False

    # -- internals ---------------------------------------------------------------------------
    def _advance(self) -> None:
        armed = self._armed
        if self.mode != "single" or armed is None:
            return
        now = self.clock.now()
        if armed.t_trig is None and now >= armed.ready:
            start = max(armed.searched, armed.ready)
            t = self._find_trigger(start, now)
            wait_end = armed.ready + armed.horizontal.auto_wait()
            if t is None and self.sweep == "AUTO" and now >= wait_end:
                t = max(wait_end, start)
                armed.auto = True
            armed.searched = now
            if t is not None:
                armed.t_trig = t
                if not armed.auto:
                    self._last_trigger = t
        if armed.t_trig is not None and now >= armed.t_trig + armed.horizontal.post:
            self._record = AcquiredRecord(
                armed.t_trig,
                armed.horizontal,
                armed.channels,
                self.signals,
                self._noise(),
                self.rng,
                armed.forced,
                armed.auto,
            )
            self._record.fill()
            self.mode = "stop"
            self._armed = None

    def _run_trigger(self, now: float) -> tuple[float | None, bool]:
        """Trigger time of the latest record complete by ``now`` in RUN mode, and whether it
        was an auto trigger."""
        h = self.horizontal()
        ready = self.t_run + h.pre
        last = now - h.post
        if last < ready:
            return None, False
        t = self._find_trigger(max(ready, last - h.auto_wait()), last)
        if t is not None:
            if self._last_trigger is None or t > self._last_trigger:
                self._last_trigger = t
            return t, False
        if self.sweep == "AUTO":
            return last, True
        return None, False

    def _run_record(self, now: float) -> AcquiredRecord | None:
        t, auto = self._run_trigger(now)
        if t is None:
            return None
        h = self.horizontal()
        cached = self._run_cache
        if cached is not None and cached.t_trig == t and cached.horizontal == h:
            return cached
        self._run_cache = AcquiredRecord(
            t, h, self._snapshot_channels(), self.signals, self._noise(), self.rng, auto=auto
        )
        return self._run_cache

    def _find_trigger(self, start: float, end: float) -> float | None:
        if end < start:
            return None
        signal = self.signals.get(self.trigger_source) if isinstance(self.trigger_source, int) else None
        if signal is None:
            return None  # EXTernal, LINE or an unwired channel: no edges here
        level = self.level()
        found = []
        if self.slope in ("POS", "EITH"):
            found.append(signal.next_crossing(start, end, level, True))
        if self.slope in ("NEG", "EITH"):
            found.append(signal.next_crossing(start, end, level, False))
        found = [t for t in found if t is not None]
        return min(found) if found else None
