"""Live progress of long waits on real hardware, at the operator's terminal.

Every wait on the bench goes through the Clock (docs/design.md#one-clock-two-speeds). A
``RealClock`` with ``clock.progress = WaitProgress(...)`` reports each wait:
``begin(what, limit_s)`` when a ``wait_until`` / ``wait_settled`` / plain sleep longer than
``min_wait_s`` starts, ``tick()`` about every 0.1 s from inside its wait loop, and
``end(token)`` when the wait is over (also when it raises). A ``VirtualClock`` reports
nothing: a simulated run is fast.

What is shown, for the wait in progress once it has lasted ``min_wait_s`` (2 s) of wall
time, so a wait shorter than that never prints anything, whatever its limit::

    4.2.6 output at 30 kW: 12.4 s of 60 s      (case, what is awaited, elapsed of limit)
    4.2.6 waiting: 3.0 s of 10 s               (a plain clock.sleep(10))
    4.2.6 vehicle ready: 3.0 s                 (no limit known)

* On a terminal (``tty=True``): one line, rewritten in place (``\\r`` + erase line) at most
  every ``tty_interval_s`` (0.1 s), and erased when the wait ends. The line is drawn *below*
  the cursor, and the cursor is put back where it was afterwards (VT100 save/restore
  cursor), so a half-written line of someone else's (pytest's ``tests/test_x.py ..``
  progress line) is left as it was.
* On a pipe or a file (``tty=False``): plain full lines, the first one when the wait has
  lasted ``min_wait_s``, then at most one every ``pipe_interval_s`` (5 s) per wait, nothing
  in between and nothing at the end. The first line of each wait starts with a newline, so
  it never runs on from a half-written line.

Nested waits (a ``wait_until`` whose condition reads an instrument that waits itself): the
**outermost** wait is shown, with its own elapsed time and limit; inner waits are tracked
but not shown. The outermost is the one the case is about (the 60 s response, not the 0.5 s
scope capture inside one poll), and the line stays steady instead of flickering between
the two. Ticks come from the clock's innermost loop, so the outer wait still updates.
Ticks come only while the clock itself waits: a condition or reading that blocks (a slow
instrument query) holds the line still until it returns.

The reporter is for the one thread that waits on the clock (the clock allows one waiter).
Writing never raises into a wait: a stream that fails (closed, broken pipe) switches the
reporter off.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from typing import TextIO

# VT100 / ECMA-48 control sequences for the terminal form.
_ERASE_LINE = "\r\x1b[2K"  # carriage return, erase the whole line
# Make room for one line below the cursor without losing its column: index (down one line,
# scrolling at the bottom), reverse index (back up), save cursor; then to the line below.
_OPEN_LINE_BELOW = "\x1bD\x1bM\x1b7\x1bD"
_RESTORE_CURSOR = "\x1b8"


def progress_text(case: str, what: str, elapsed_s: float, limit_s: float | None) -> str:
    """``4.2.6 output at 30 kW: 12.4 s of 60 s`` (no `` of …`` when no limit is known)."""
    head = f"{case} {what}" if case else what
    if limit_s is None:
        return f"{head}: {elapsed_s:.1f} s"
    return f"{head}: {elapsed_s:.1f} s of {limit_s:g} s"


def case_label(clause_keys: Iterable[str], name: str) -> str:
    """The label of a case: its first clause without the document (``changji:4.2.6`` →
    ``4.2.6``), else its name."""
    for key in clause_keys:
        return str(key).split(":", 1)[-1]
    return name


class _Wait:
    __slots__ = ("what", "limit_s", "start", "last_shown")

    def __init__(self, what: str, limit_s: float | None, start: float):
        self.what = what
        self.limit_s = limit_s
        self.start = start
        self.last_shown: float | None = None  # wall time of the last line drawn / printed


class WaitProgress:
    """Shows the bench's long waits on ``stream``; see the module docstring."""

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool,
        min_wait_s: float = 2.0,
        pipe_interval_s: float = 5.0,
        tty_interval_s: float = 0.1,
        wall: Callable[[], float] = time.monotonic,
    ):
        self.stream = stream
        self.tty = bool(tty)
        self.min_wait_s = float(min_wait_s)
        self.pipe_interval_s = float(pipe_interval_s)
        self.tty_interval_s = float(tty_interval_s)
        self.wall = wall
        self.case = ""  # the case label, set by the session per test ("" between tests)
        self._waits: list[_Wait] = []  # outermost first
        self._line_open = False  # a terminal line of ours is on the screen
        self._width: int | None = None
        self._broken = False

    @classmethod
    def for_stream(cls, stream: TextIO, **options) -> WaitProgress:
        """A reporter for ``stream``, in the terminal form if ``stream.isatty()``."""
        try:
            tty = bool(stream.isatty())
        except (AttributeError, OSError, ValueError):
            tty = False
        return cls(stream, tty=tty, **options)

    # -- the clock's side ---------------------------------------------------------------
    def begin(self, what: str, limit_s: float | None) -> object:
        """A wait starts; returns the token to pass to ``end``."""
        if limit_s is not None and not math.isfinite(limit_s):
            limit_s = None
        wait = _Wait(what, None if limit_s is None else float(limit_s), self.wall())
        self._waits.append(wait)
        return wait

    def tick(self) -> None:
        """Called from inside the clock's wait loop; cheap when there is nothing to show."""
        if not self._waits or self._broken:
            return
        wait = self._waits[0]
        now = self.wall()
        elapsed = now - wait.start
        if elapsed < self.min_wait_s:
            return
        first = wait.last_shown is None
        if not first:
            interval = self.tty_interval_s if self.tty else self.pipe_interval_s
            if now - wait.last_shown < interval:
                return
        wait.last_shown = now
        text = progress_text(self.case, wait.what, elapsed, wait.limit_s)
        if self.tty:
            self._draw(text)
        else:
            self._write(("\n" if first else "") + text + "\n")

    def end(self, token: object) -> None:
        """The wait ``token`` is over (done, timed out or interrupted)."""
        if token is None:
            return
        for i, wait in enumerate(self._waits):
            if wait is token:
                del self._waits[i]
                break
        else:
            return
        if i == 0 and self._line_open:
            self._line_open = False
            self._write(_ERASE_LINE + _RESTORE_CURSOR)
        if i == 0 and self._waits:
            # The next one up becomes the one shown (only with waits that did not nest).
            self._waits[0].last_shown = None

    # -- output -------------------------------------------------------------------------
    def _draw(self, text: str) -> None:
        if not self._line_open:
            self._width = self._columns()
            self._line_open = True
            prefix = _OPEN_LINE_BELOW + _ERASE_LINE
        else:
            prefix = _ERASE_LINE
        if self._width:
            text = text[: self._width - 1]  # never wrap: the erase works on one line only
        self._write(prefix + text)

    def _columns(self) -> int | None:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return None
        return columns or None  # a fresh pseudo-terminal reports 0 columns

    def _write(self, data: str) -> None:
        if self._broken:
            return
        try:
            self.stream.write(data)
            self.stream.flush()
        except (OSError, ValueError):
            self._broken = True
            self._line_open = False
