"""One clock, two speeds (docs/design.md#one-clock-two-speeds).

Everything on the bench that waits goes through one Clock:

* ``RealClock``: wall time (monotonic). Timers and periodic tasks fire on absolute
  deadlines, and pollers (CAN drains) run about every millisecond while the bench waits.
* ``VirtualClock``: time moves only while the bench waits (``sleep``, the wait helpers).
  Due events fire in time order (ties in the order they were scheduled), so the same
  profile gives the same run, byte for byte.

Both kinds share the scheduling API:

* ``call_at`` / ``call_later`` / ``every``: callbacks on the clock. Callbacks must not
  sleep: they react and return.
* ``add_poller``: a function run after every event that sent traffic (virtual) or
  every poll interval (real). CAN actors drain ``bus.recv(0)`` here; they own no thread.
* ``add_in_flight_source``: socket front ends report messages they have received but not
  answered; a virtual clock advances only when none are in flight.

Wait helpers return the measured time; ``wait_settled`` (the one way to wait for a settled
reading) returns the settled value with it (``Settled``).

Progress: a ``RealClock`` reports its long waits to ``clock.progress`` (a ``WaitProgressHook``,
e.g. ``bench.session.progress.WaitProgress``; None by default): ``wait_until`` and
``wait_settled`` with their ``what`` and ``timeout``, a plain sleep longer than the hook's
``min_wait_s`` as "waiting"; it ticks the hook about every ``PROGRESS_TICK_S`` from inside
its wait loop. A ``VirtualClock`` never calls it.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, cast

from bench.core.errors import ClockError, WaitTimeout

# How long a virtual clock waits (in wall time) for socket front ends to finish the
# messages in flight before it declares the bench stuck.
QUIESCE_LIMIT_S = 10.0
# A ping-pong of pollers that keeps producing traffic at one instant is a bug.
MAX_POLL_ROUNDS = 1000
# A real clock ticks its progress hook at most this often (wall seconds) while it waits.
PROGRESS_TICK_S = 0.1


class InFlightSource(Protocol):
    def in_flight(self) -> int:
        """Messages received but not yet answered (0 when idle)."""


class WaitProgressHook(Protocol):
    """Told about a real clock's waits (``Clock.progress``). Must not raise, must not wait."""

    min_wait_s: float  # a plain sleep this long or shorter is not reported

    def begin(self, what: str, limit_s: float | None) -> object:
        """A wait starts; returns a token for ``end``."""

    def tick(self) -> None:
        """Called about every PROGRESS_TICK_S while the clock waits."""

    def end(self, token: object) -> None:
        """The wait ``token`` is over (done, timed out or interrupted)."""


class Timer:
    """A scheduled callback; ``cancel()`` stops it from firing."""

    __slots__ = ("when", "fn", "args", "cancelled")

    def __init__(self, when: float, fn: Callable[..., object], args: tuple[object, ...]):
        self.when = when
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Periodic:
    """A callback on absolute deadlines ``first + k * period`` (no drift)."""

    def __init__(self, clock: Clock, period: float, fn: Callable[[], object], first: float):
        if period <= 0:
            raise ClockError(f"period must be > 0 s, got {period!r}")
        self.clock = clock
        self.period = period
        self.fn = fn
        self.first = first
        self.count = 0
        self.cancelled = False
        self._timer = clock.call_at(first, self._fire)

    def _fire(self) -> None:
        if self.cancelled:
            return
        self.count += 1
        # Schedule the next deadline before running, so a callback may cancel itself.
        self._timer = self.clock.call_at(self.first + self.count * self.period, self._fire)
        self.fn()

    def cancel(self) -> None:
        self.cancelled = True
        self._timer.cancel()


class Handle:
    """Something registered on the clock that can be removed again."""

    def __init__(self, remove: Callable[[], None]):
        self._remove = remove

    def remove(self) -> None:
        self._remove()


@dataclass
class Settled:
    """Result of ``wait_settled``: the settled value and how long settling took."""

    value: float  # the mean of the settled window
    elapsed: float  # bench seconds from the start of the wait to the start of the settled window
    samples: list[tuple[float, float | None]] = field(default_factory=list)  # (bench time, reading), every one
    window: list[tuple[float, float]] = field(default_factory=list)  # (bench time, reading) of the settled window

    @property
    def began(self) -> float:
        """Bench time of the first reading of the settled window."""
        return self.window[0][0]

    @property
    def last(self) -> float:
        """The last reading of the settled window."""
        return self.window[-1][1]


class Clock:
    """Shared scheduling machinery; subclasses decide how time passes."""

    virtual: bool = False
    # Told about long waits on a real clock (see WaitProgressHook); a virtual clock ignores it.
    progress: WaitProgressHook | None = None
    # Called at the start of every wait, outside any callback: may raise to stop the run there
    # (the session's stop requests, bench/session/shutdown.py).
    interrupt: Callable[[], None] | None = None

    def __init__(self, epoch: float):
        # Unix time of bench time 0; ``wall_time()`` = epoch + now().
        self.epoch = float(epoch)
        self._queue: list[tuple[float, int, Timer]] = []
        # Front ends (socket hub, OCPP loop) schedule plant reactions from their own threads.
        self._queue_lock = threading.Lock()
        self._seq = itertools.count()
        self._pollers: list[Callable[[], None]] = []
        self._in_flight: list[InFlightSource] = []
        self._traffic = False
        self._sleeping = False
        # Held while a callback runs on a real clock; socket front ends take it while they
        # answer, so a reply never sees the plant half way through an event. A virtual
        # clock needs no lock: its front ends answer only while the bench is blocked on
        # the reply or waiting for them (quiesce), and a callback may itself query an
        # instrument served in-process, which a held lock would deadlock.
        self.lock = threading.RLock()
        self._callback_guard: contextlib.AbstractContextManager[object] = self.lock

    # -- time -------------------------------------------------------------------------
    def now(self) -> float:
        raise NotImplementedError

    def wall_time(self) -> float:
        """Unix time of the present bench instant."""
        return self.epoch + self.now()

    def wall_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.wall_time(), tz=UTC)

    # -- scheduling -------------------------------------------------------------------
    def call_at(self, when: float, fn: Callable[..., object], *args: object) -> Timer:
        timer = Timer(float(when), fn, args)
        with self._queue_lock:
            heapq.heappush(self._queue, (timer.when, next(self._seq), timer))
        return timer

    def call_later(self, delay: float, fn: Callable[..., object], *args: object) -> Timer:
        return self.call_at(self.now() + max(0.0, delay), fn, *args)

    def every(self, period: float, fn: Callable[[], object], *, first_delay: float = 0.0) -> Periodic:
        """Run ``fn`` every ``period`` s, the first time ``first_delay`` s from now."""
        return Periodic(self, period, fn, self.now() + first_delay)

    def add_poller(self, fn: Callable[[], None]) -> Handle:
        self._pollers.append(fn)
        return Handle(lambda: self._pollers.remove(fn) if fn in self._pollers else None)

    def notify_traffic(self) -> None:
        """Something was sent that a poller must pick up before time moves on."""
        self._traffic = True

    def add_in_flight_source(self, source: InFlightSource) -> Handle:
        self._in_flight.append(source)
        return Handle(lambda: self._in_flight.remove(source) if source in self._in_flight else None)

    # -- waiting ----------------------------------------------------------------------
    def sleep(self, seconds: float) -> None:
        self.sleep_until(self.now() + max(0.0, seconds))

    def sleep_until(self, when: float) -> None:
        if self._sleeping:
            raise ClockError("clock.sleep called from a clock callback; callbacks must not wait")
        if self.interrupt is not None:  # a safe point: no callback or transaction is half done
            self.interrupt()
        self._sleeping = True
        try:
            self._advance_to(when)
        finally:
            self._sleeping = False

    def _advance_to(self, when: float) -> None:
        raise NotImplementedError

    def _reporting(self, what: str, limit_s: float | None) -> contextlib.AbstractContextManager[None]:
        """Context of one wait helper's wait; a real clock reports it as progress."""
        return contextlib.nullcontext()

    def wait_until(
        self, condition: Callable[[], bool], timeout: float, *, poll: float = 0.01, what: str = "condition"
    ) -> float:
        """Wait until ``condition()`` is true; return the bench time it took.

        Raises WaitTimeout (with the time waited) when it is still false after ``timeout``.
        """
        with self._reporting(what, timeout):
            start = self.now()
            deadline = start + timeout
            while True:
                if condition():
                    return self.now() - start
                now = self.now()
                if now >= deadline:
                    raise WaitTimeout(what, timeout, now - start)
                self.sleep(min(poll, deadline - now))

    def wait_settled(
        self,
        read: Callable[[], float | None],
        *,
        band: float,
        hold: float,
        timeout: float,
        poll: float = 0.05,
        target: float | None = None,
        from_first: bool = False,
        accept: Callable[[float | None], bool] | None = None,
        ramp_poll: float | None = None,
        what: str = "reading to settle",
    ) -> Settled:
        """Wait until readings stay within ±band for ``hold`` s: the one way the bench waits for
        a settled value.

        ``read()`` is called at the start and every ``poll`` s. The held window is the run of
        readings the band holds; it is settled once its last reading is ``hold`` s or more
        after its first. The band is around:

        * ``target``, when given: a reading outside it empties the window;
        * with ``from_first``, the window's first reading: a reading outside it starts a new
          window with itself;
        * otherwise the readings of the window (they span at most 2 × band): the oldest drop
          out until they do.

        ``accept``: a reading must satisfy it to count at all; one that does not empties the
        window (e.g. a duty that has not yet moved away from its value before a command).
        ``ramp_poll``: a reading still on its way is followed at this coarser pace first, until
        two readings ``ramp_poll`` apart (the first two at the start) differ by at most the
        band; the held window starts from the reading after that, at the same instant.

        Returns the mean of the settled window, the time from the start of the wait to the
        first reading of that window, every reading and the window. Raises WaitTimeout (with
        the time waited) when nothing settled within ``timeout``.
        """
        with self._reporting(what, timeout):
            start = self.now()
            deadline = start + timeout
            samples: list[tuple[float, float | None]] = []
            if ramp_poll is not None:
                last = read()
                samples.append((start, last))
                while True:
                    t, value = self.now(), read()
                    samples.append((t, value))
                    # A None reading while ramping raises TypeError here, as it always did.
                    moving = not abs(cast(float, value) - cast(float, last)) <= band
                    last = value
                    if not moving:
                        break
                    now = self.now()
                    if now >= deadline:
                        break  # the held window below still gets its one reading, then times out
                    self.sleep(min(ramp_poll, deadline - now))
            window: list[tuple[float, float]] = []
            # A reading that counts is a number (``accept`` screens out None); float(None) raises TypeError.
            while True:
                t, reading = self.now(), read()
                samples.append((t, reading))
                if accept is not None and not accept(reading):
                    window = []
                elif target is not None:
                    value = float(cast(float, reading))
                    window.append((t, value))
                    if abs(value - target) > band:
                        window = []
                elif from_first:
                    value = float(cast(float, reading))
                    if window and abs(value - window[0][1]) > band:
                        window = []
                    window.append((t, value))
                else:
                    window.append((t, float(cast(float, reading))))
                    values = [v for _, v in window]
                    while values and max(values) - min(values) > 2 * band:
                        window.pop(0)
                        values.pop(0)
                if window and window[-1][0] - window[0][0] >= hold:
                    mean = sum(v for _, v in window) / len(window)
                    return Settled(mean, window[0][0] - start, samples, window)
                if t >= deadline:
                    raise WaitTimeout(what, timeout, t - start)
                self.sleep(min(poll, deadline - t))

    # -- shared helpers for subclasses ------------------------------------------------
    def _pop_due(self, limit: float) -> Timer | None:
        """Remove and return the next live timer due at or before ``limit``."""
        queue = self._queue
        with self._queue_lock:
            while queue and queue[0][0] <= limit:
                timer = heapq.heappop(queue)[2]
                if not timer.cancelled:
                    return timer
        return None

    def _next_due(self) -> float | None:
        queue = self._queue
        with self._queue_lock:
            while queue and queue[0][2].cancelled:
                heapq.heappop(queue)
            return queue[0][0] if queue else None

    def _run(self, timer: Timer) -> None:
        with self._callback_guard:
            timer.fn(*timer.args)

    def _run_pollers(self) -> None:
        rounds = 0
        while self._traffic:
            self._traffic = False
            rounds += 1
            if rounds > MAX_POLL_ROUNDS:
                raise ClockError("pollers keep producing traffic at one instant (ping-pong)")
            with self._callback_guard:
                for poller in list(self._pollers):
                    poller()


class VirtualClock(Clock):
    """Bench time that moves only while the bench waits."""

    virtual = True

    def __init__(self, epoch: float = 0.0):
        super().__init__(epoch)
        self._now = 0.0
        self._callback_guard = contextlib.nullcontext()

    def now(self) -> float:
        return self._now

    def _quiesce(self) -> None:
        """Let socket front ends answer every message in flight before time moves on."""
        if not self._in_flight:
            return
        give_up = time.monotonic() + QUIESCE_LIMIT_S
        while any(source.in_flight() for source in self._in_flight):
            if time.monotonic() > give_up:
                busy = [type(s).__name__ for s in self._in_flight if s.in_flight()]
                raise ClockError(f"front ends still busy after {QUIESCE_LIMIT_S:g} s: {', '.join(busy)}")
            time.sleep(0.0002)

    def _advance_to(self, when: float) -> None:
        when = max(when, self._now)
        self._quiesce()
        self._run_pollers()
        while True:
            timer = self._pop_due(when)
            if timer is None:
                break
            if timer.when > self._now:
                self._quiesce()
                self._now = timer.when
            self._run(timer)
            self._run_pollers()
        if when > self._now:
            self._quiesce()  # a message the last callback sent is answered at its own time
        self._now = when


class RealClock(Clock):
    """Wall time; callbacks fire on absolute deadlines, pollers run every poll interval."""

    virtual = False

    def __init__(self, poll_interval: float = 0.001):
        super().__init__(epoch=time.time())
        self._t0 = time.monotonic()
        self.poll_interval = poll_interval
        self._progress_due = 0.0  # bench time of the next progress tick

    # -- progress: the wait helpers and long sleeps report to ``self.progress`` ----------
    @contextlib.contextmanager
    def _reporting(self, what: str, limit_s: float | None) -> Iterator[None]:
        progress = self.progress
        if progress is None:
            yield
            return
        token = progress.begin(what, limit_s)
        try:
            yield
        finally:
            progress.end(token)

    def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self._sleep_reporting(self.now() + seconds, seconds)

    def sleep_until(self, when: float) -> None:
        self._sleep_reporting(when, round(when - self.now(), 1))

    def _sleep_reporting(self, when: float, duration: float) -> None:
        progress = self.progress
        if progress is None or self._sleeping or duration <= progress.min_wait_s:
            return super().sleep_until(when)
        with self._reporting("waiting", duration):
            super().sleep_until(when)

    def now(self) -> float:
        return time.monotonic() - self._t0

    def _advance_to(self, when: float) -> None:
        progress = self.progress
        while True:
            now = self.now()
            while (timer := self._pop_due(now)) is not None:
                self._run(timer)
            self._traffic = True  # hardware traffic arrives unannounced: always drain
            self._run_pollers()
            now = self.now()
            if now >= when:
                return
            if progress is not None and now >= self._progress_due:
                self._progress_due = now + PROGRESS_TICK_S
                progress.tick()
            wake = min(when, now + self.poll_interval)
            next_due = self._next_due()
            if next_due is not None:
                wake = min(wake, next_due)
            delay = wake - self.now()
            if delay > 0:
                time.sleep(delay)
