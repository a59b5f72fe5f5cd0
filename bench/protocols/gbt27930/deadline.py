"""A receive timeout on the bench Clock that costs one timer however often it is fed."""

from __future__ import annotations

from collections.abc import Callable

from bench.core.clock import Clock, Timer

_EPS = 1e-9


class Deadline:
    """Calls ``on_expire()`` once when ``seconds`` pass without ``feed()``.

    Feeding only moves the due time; the single pending timer re-arms itself when it
    fires early, so a message fed every 50 ms does not leave a trail of cancelled timers.
    """

    def __init__(self, clock: Clock, on_expire: Callable[[], None]):
        self.clock = clock
        self.on_expire = on_expire
        self.seconds = 0.0
        self.due: float | None = None
        self._timer: Timer | None = None

    @property
    def active(self) -> bool:
        return self.due is not None

    def arm(self, seconds: float) -> None:
        """(Re)start: expire ``seconds`` from now unless fed."""
        self.seconds = seconds
        self._set_due(self.clock.now() + seconds)

    def feed(self) -> None:
        if self.due is not None:
            self._set_due(self.clock.now() + self.seconds)

    def cancel(self) -> None:
        self.due = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _set_due(self, due: float) -> None:
        self.due = due
        if self._timer is not None and self._timer.when <= due:
            return  # the pending timer fires first and re-arms for the new due time
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.clock.call_at(due, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self.due is None:
            return
        if self.clock.now() + _EPS >= self.due:
            self.due = None
            self.on_expire()
        else:
            self._timer = self.clock.call_at(self.due, self._fire)
