"""Stop requests: a signal interrupts the run like Ctrl-C, but never the safe state itself, and a
second signal while the run is stopping is ignored; a child stops when its parent has gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from bench.session.shutdown import Shutdown


def test_a_signal_interrupts_like_ctrl_c_at_the_next_safe_point():
    shutdown = Shutdown()
    shutdown._on_signal(signal.SIGTERM, None)  # the handler only notes it
    assert shutdown.requested == "SIGTERM"
    with pytest.raises(KeyboardInterrupt):
        shutdown.check()  # the start of the next wait on the clock
    shutdown.check()  # once: teardown (the safe state) runs undisturbed


def test_a_signal_during_the_safe_state_waits_until_it_has_finished():
    shutdown = Shutdown()
    finished = []
    with shutdown.protected():
        shutdown._on_signal(signal.SIGHUP, None)
        shutdown.check()  # the safe state's own waits go on
        finished.append("safe state")
    assert finished == ["safe state"]
    with pytest.raises(KeyboardInterrupt):
        shutdown.check()


def test_a_second_signal_while_stopping_is_ignored():
    shutdown = Shutdown()
    shutdown._on_signal(signal.SIGINT, None)
    shutdown._on_signal(signal.SIGTERM, None)
    assert shutdown.requested == "SIGINT"


def test_the_clock_raises_a_stop_request_at_the_start_of_a_wait():
    from bench.core.clock import VirtualClock

    shutdown = Shutdown()
    clock = VirtualClock()
    clock.interrupt = shutdown.check
    fired = []
    clock.call_later(1.0, lambda: fired.append(clock.now()))
    clock.sleep(0.5)
    shutdown._on_signal(signal.SIGTERM, None)
    with pytest.raises(KeyboardInterrupt):
        clock.sleep(1.0)
    assert fired == [] and clock.now() == 0.5  # nothing ran half way
    clock.sleep(1.0)  # teardown's waits
    assert fired == [1.0]


CHILD = """
import sys, time
from bench.session.shutdown import Shutdown
shutdown = Shutdown()
shutdown.install()
shutdown.watch_parent(int(sys.argv[1]))
try:
    for _ in range(600):
        time.sleep(0.05)
        shutdown.check()
except KeyboardInterrupt as stop:
    print("stopped:", stop, flush=True)
"""


def test_a_child_stops_when_its_parent_has_gone(tmp_path, figures):
    # A middle process starts the child and is SIGKILLed; the child is re-parented and stops.
    middle = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, subprocess, sys, time; "
            f"c = subprocess.Popen([sys.executable, '-c', {CHILD!r}, str(os.getpid())], "
            f"stdout=open({str(tmp_path / 'out')!r}, 'w')); print(c.pid, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    child_pid = int(middle.stdout.readline())
    time.sleep(0.5)
    started = time.monotonic()
    os.kill(middle.pid, signal.SIGKILL)
    middle.wait()
    while time.monotonic() - started < 10 and os.path.exists(f"/proc/{child_pid}"):
        try:
            if open(f"/proc/{child_pid}/stat").read().split(") ", 1)[1].startswith("Z"):
                break
        except OSError:
            break
        time.sleep(0.05)
    reaction = time.monotonic() - started
    assert (tmp_path / "out").read_text().strip() == "stopped: SIGTERM"
    figures.add("stop handling", "child stopped after its parent was killed", f"{reaction:.2f} s")
