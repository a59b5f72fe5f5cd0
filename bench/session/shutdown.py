"""Stopping a run from outside: SIGINT, SIGTERM, SIGHUP, and the parent process going away.

Each of the three signals ends the run the way Ctrl-C does: the current test is interrupted
(pytest tears its fixtures down, so the safe state runs) and the run record is written with
``complete: false``. The handler itself only notes the request; the interruption is raised
at a safe point, never in the middle of an instrument transaction or a clock callback:

* at the start of the next wait on the bench's clock (``check``, called by ``Clock``), and
  between tests (the plugin stops the session after the current test);
* never while the safe state runs (``protected``): its own waits go on;
* once: after the interruption, teardown (the safe state, the record) runs undisturbed, and
  a second signal while the run is stopping is ignored.

``watch_parent`` covers a SIGKILL of ``bench conformance``: the child notices that it has been
re-parented and stops itself with SIGTERM, so no pytest process is left driving instruments.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
# How often the child looks for its parent. Bench choice: well inside the EV simulator's
# watchdog, which de-energises the bench on its own anyway.
PARENT_POLL_S = 0.25
# The parent tells its child its pid in this variable (bench conformance).
PARENT_PID_ENV = "BENCH_PARENT_PID"


class Shutdown:
    """The run's reaction to stop requests (one per process)."""

    def __init__(self) -> None:
        self.requested: str | None = None  # the first signal's name
        self._protected = 0
        self._raised = False
        self._previous: dict[int, object] = {}

    # -- signals -------------------------------------------------------------------------------
    def install(self) -> None:
        """Handle SIGINT, SIGTERM and SIGHUP (main thread only; elsewhere nothing changes)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def uninstall(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _on_signal(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if self.requested is not None:
            _say(f"{name} ignored: the run is already stopping ({self.requested}) and runs the safe state")
            return
        self.requested = name
        _say(f"{name}: stopping the run at the next safe point (safe state, then the run record)")

    def check(self) -> None:
        """Raise the requested interruption here, if there is one, once, outside the safe state."""
        if self.requested is not None and not self._protected and not self._raised:
            self._raised = True
            raise KeyboardInterrupt(self.requested)

    @contextlib.contextmanager
    def protected(self):
        """A section a stop request must not cut short (the safe state)."""
        self._protected += 1
        try:
            yield
        finally:
            self._protected -= 1

    # -- the parent ----------------------------------------------------------------------------
    def watch_parent(self, parent_pid: int | None = None) -> threading.Thread | None:
        """Stop this process (SIGTERM to itself) once its parent ``parent_pid`` has gone.

        Without ``parent_pid``, the pid in $BENCH_PARENT_PID, else nothing is watched.
        """
        if parent_pid is None:
            text = os.environ.get(PARENT_PID_ENV, "")
            parent_pid = int(text) if text.isdigit() else None
        if parent_pid is None:
            return None
        thread = threading.Thread(target=_watch, args=(parent_pid,), name="bench-parent-watch", daemon=True)
        thread.start()
        return thread


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    _say(f"the parent process {parent_pid} has gone; stopping")
    os.kill(os.getpid(), signal.SIGTERM)


def _say(text: str) -> None:
    """One line on file descriptor 2; a closed or broken stderr (a dead `tee`, a hung-up tty)
    must never turn into an exception inside the run."""
    try:
        os.write(2, f"bench: {text}\n".encode("utf-8", "replace"))
    except OSError:
        pass


SHUTDOWN = Shutdown()
