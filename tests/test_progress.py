"""Live progress of long waits: on a terminal one line rewritten in place and erased at the
end, below the cursor so pytest's own progress line survives; on a pipe plain lines at most
every 5 s; nothing for a wait shorter than 2 s, nothing under virtual time. The reporter gets
its ticks from inside the real clock's wait loop."""

from __future__ import annotations

import fcntl
import inspect
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from bench.core.clock import Clock, RealClock, VirtualClock
from bench.core.errors import WaitTimeout
from bench.session.progress import WaitProgress, case_label, progress_text
from tests.support.runs import ROOT

ERASE = "\r\x1b[2K"


class FakeStream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


class FakeWall:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Screen:
    """Just enough of a VT100 to see what an operator would see: printable text, CR, LF,
    ESC D / ESC M (index / reverse index, scrolling at the edges), ESC 7 / ESC 8 (save /
    restore cursor), CSI 2K / K (erase line); other CSI sequences (colours) are ignored."""

    def __init__(self, rows: int = 24, columns: int = 200):
        self.lines = [[" "] * columns for _ in range(rows)]
        self.rows, self.columns = rows, columns
        self.row = self.col = 0
        self.saved = (0, 0)
        self.scrolled_off: list[str] = []

    def _down(self):
        if self.row == self.rows - 1:
            self.scrolled_off.append("".join(self.lines.pop(0)).rstrip())
            self.lines.append([" "] * self.columns)
        else:
            self.row += 1

    def _up(self):
        if self.row == 0:
            self.lines.insert(0, [" "] * self.columns)
            self.lines.pop()
        else:
            self.row -= 1

    def feed(self, data: str) -> Screen:
        i = 0
        while i < len(data):
            ch = data[i]
            if ch == "\x1b":
                nxt = data[i + 1]
                if nxt == "[":
                    match = re.match(r"\x1b\[([0-9;?]*)([@-~])", data[i:])
                    params, final = match.groups()
                    if final == "K":
                        line = self.lines[self.row]
                        if params == "2":
                            line[:] = [" "] * self.columns
                        elif params in ("", "0"):
                            line[self.col :] = [" "] * (self.columns - self.col)
                    i += len(match.group(0))
                    continue
                if nxt == "D":
                    self._down()
                elif nxt == "M":
                    self._up()
                elif nxt == "7":
                    self.saved = (self.row, self.col)
                elif nxt == "8":
                    self.row, self.col = self.saved
                else:
                    raise AssertionError(f"unexpected escape {data[i : i + 2]!r}")
                i += 2
                continue
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self._down()
            elif ch >= " ":
                if self.col < self.columns:
                    self.lines[self.row][self.col] = ch
                self.col += 1
            i += 1
        return self

    def text(self, row: int) -> str:
        return "".join(self.lines[row]).rstrip()

    def all_text(self) -> str:
        return "\n".join(self.scrolled_off + [self.text(r) for r in range(self.rows)])


def run_wait(
    progress: WaitProgress, wall: FakeWall, what: str, limit: float | None, duration: float, step: float = 0.01
) -> None:
    token = progress.begin(what, limit)
    start = wall.t
    for k in range(1, round(duration / step) + 1):
        wall.t = start + k * step
        progress.tick()
    progress.end(token)


# -- the format ---------------------------------------------------------------------------
def test_the_line_names_the_case_what_is_awaited_and_the_time_against_the_limit():
    assert progress_text("4.2.6", "output at 30 kW", 12.4, 60.0) == "4.2.6 output at 30 kW: 12.4 s of 60 s"
    assert progress_text("4.2.10.4", "wake-up", 3.04, 10) == "4.2.10.4 wake-up: 3.0 s of 10 s"
    assert progress_text("4.2.6", "vehicle ready", 3.0, None) == "4.2.6 vehicle ready: 3.0 s"
    assert progress_text("", "waiting", 2.5, 2.5) == "waiting: 2.5 s of 2.5 s"
    assert case_label(["changji:4.2.6"], "test_output[30]") == "4.2.6"
    assert case_label([], "test_output[30]") == "test_output[30]"


def test_for_stream_decides_the_form_from_isatty():
    assert WaitProgress.for_stream(FakeStream(tty=True)).tty is True
    assert WaitProgress.for_stream(FakeStream(tty=False)).tty is False
    assert WaitProgress.for_stream(object()).tty is False  # no isatty at all: plain lines


# -- pipe form ----------------------------------------------------------------------------
def test_on_a_pipe_plain_lines_at_most_one_every_5_s():
    wall, stream = FakeWall(), FakeStream(tty=False)
    progress = WaitProgress.for_stream(stream, wall=wall)
    progress.case = "4.2.6"
    token = progress.begin("output at 30 kW", 60.0)
    start = wall.t
    for k in range(600):  # 60 s of ticks, 0.1 s apart, starting 0.4 s in
        wall.t = start + 0.4 + k * 0.1
        progress.tick()
    progress.end(token)

    out = stream.getvalue()
    assert "\r" not in out and "\x1b" not in out
    assert out.startswith("\n")  # never runs on from pytest's half-written line
    lines = out.strip("\n").split("\n")
    assert lines[:3] == [
        "4.2.6 output at 30 kW: 2.0 s of 60 s",
        "4.2.6 output at 30 kW: 7.0 s of 60 s",
        "4.2.6 output at 30 kW: 12.0 s of 60 s",
    ]
    elapsed = [float(re.search(r": (\d+\.\d) s of 60 s$", line).group(1)) for line in lines]
    assert all(b - a >= 5.0 - 1e-9 for a, b in zip(elapsed, elapsed[1:]))
    assert len(lines) == 12  # 2, 7, … 57 s: nothing in between, nothing at the end


def test_on_a_pipe_the_exact_format():
    wall, stream = FakeWall(), FakeStream(tty=False)
    progress = WaitProgress(stream, tty=False, wall=wall)
    progress.case = "4.2.6"
    token = progress.begin("output at 30 kW", 60)
    start = wall.t
    for second in range(20):  # one tick a second, 0.4 s past the second
        wall.t = start + second + 0.4
        progress.tick()
    progress.end(token)
    assert stream.getvalue() == (
        "\n4.2.6 output at 30 kW: 2.4 s of 60 s\n"
        "4.2.6 output at 30 kW: 7.4 s of 60 s\n"
        "4.2.6 output at 30 kW: 12.4 s of 60 s\n"
        "4.2.6 output at 30 kW: 17.4 s of 60 s\n"
    )


# -- terminal form ------------------------------------------------------------------------
def test_on_a_terminal_one_line_rewritten_in_place_bounded_and_erased():
    wall, stream = FakeWall(), FakeStream(tty=True)
    progress = WaitProgress.for_stream(stream, wall=wall)
    progress.case = "4.2.6"
    token = progress.begin("output at 30 kW", 60.0)
    start = wall.t
    seen = []
    for k in range(1, 1001):  # 10 s of ticks 10 ms apart: far more often than it may draw
        wall.t = start + k * 0.01
        progress.tick()
        if k == 500:
            seen.append(stream.getvalue())
    progress.end(token)

    out = stream.getvalue()
    assert "\n" not in out
    draws = out.count(ERASE) - 1  # the last one erases
    assert 70 <= draws <= 81  # from 2 s to 10 s at most 10 a second
    assert out.endswith(ERASE + "\x1b8")  # erased, cursor back where it was
    assert "4.2.6 output at 30 kW: 5.0 s of 60 s" in seen[0]
    frames = out.split(ERASE)
    assert frames[1] == "4.2.6 output at 30 kW: 2.0 s of 60 s"
    assert all(re.fullmatch(r"4\.2\.6 output at 30 kW: \d+\.\d s of 60 s", f) for f in frames[1:-1])


@pytest.mark.parametrize("row", [0, 23], ids=["top", "bottom-row-scrolls"])
def test_on_a_terminal_pytests_half_written_line_survives(row):
    screen = Screen(rows=24)
    screen.row = row
    screen.feed("tests/test_dc.py ..")
    wall, stream = FakeWall(), FakeStream(tty=True)
    progress = WaitProgress(stream, tty=True, wall=wall)
    progress.case = "4.2.6"
    token = progress.begin("output at 30 kW", 60.0)
    start = wall.t
    for k in range(1, 125):
        wall.t = start + k * 0.1
        progress.tick()
    drawn = stream.getvalue()
    screen.feed(drawn)
    here = screen.row
    assert screen.text(here) == "4.2.6 output at 30 kW: 12.4 s of 60 s"  # drawn below, in place
    assert screen.text(here - 1) == "tests/test_dc.py .."

    progress.end(token)
    screen.feed(stream.getvalue()[len(drawn) :]).feed(".")  # pytest goes on where it was
    lines = screen.all_text().splitlines()
    assert "output at 30 kW" not in screen.all_text()
    assert screen.text(screen.row) == "tests/test_dc.py ..."
    assert all(line == "" for line in lines[lines.index("tests/test_dc.py ...") + 1 :])


def test_a_line_wider_than_the_terminal_is_cut_so_it_never_wraps():
    master, slave = pty.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 30, 0, 0))
        with open(slave, "w", closefd=False) as tty:
            wall = FakeWall()
            progress = WaitProgress.for_stream(tty, wall=wall)
            assert progress.tty
            progress.case = "4.2.6"
            token = progress.begin("output at 30 kW with a long description", 60.0)
            wall.t += 3.0
            progress.tick()
            progress.end(token)
        out = os.read(master, 4096).decode()
    finally:
        os.close(master)
        os.close(slave)
    frame = out.split(ERASE)[1]
    assert frame == "4.2.6 output at 30 kW with a " and len(frame) == 30 - 1


# -- what never prints ---------------------------------------------------------------------
@pytest.mark.parametrize("tty", [True, False], ids=["tty", "pipe"])
def test_a_wait_shorter_than_2_s_prints_nothing(tty):
    wall, stream = FakeWall(), FakeStream(tty=tty)
    progress = WaitProgress(stream, tty=tty, wall=wall)
    progress.case = "4.2.6"
    run_wait(progress, wall, "output at 30 kW", 60.0, duration=1.5)  # a long limit, met early
    run_wait(progress, wall, "waiting", 1.99, duration=1.99)
    run_wait(progress, wall, "vehicle ready", None, duration=1.5)
    assert stream.getvalue() == ""


class Spy:
    min_wait_s = 0.0

    def __init__(self):
        self.calls = []

    def begin(self, what, limit_s):
        self.calls.append(("begin", what, limit_s))
        return len(self.calls)

    def tick(self):
        self.calls.append(("tick",))

    def end(self, token):
        self.calls.append(("end", token))


def test_a_virtual_clock_wait_of_60_s_prints_nothing():
    clock = VirtualClock()
    stream = FakeStream(tty=True)
    clock.progress = WaitProgress(stream, tty=True, min_wait_s=0.0)
    clock.sleep(60.0)
    clock.call_at(90.0, lambda: None)
    flag = []
    clock.call_at(100.0, flag.append, True)
    clock.wait_until(lambda: bool(flag), 60.0, poll=0.5, what="output at 30 kW")
    clock.wait_settled(lambda: 1.0, band=0.1, hold=30.0, timeout=60.0, poll=1.0)
    assert clock.now() >= 130.0
    assert stream.getvalue() == ""
    spy = clock.progress = Spy()
    clock.sleep(60.0)
    with pytest.raises(WaitTimeout):
        clock.wait_until(lambda: False, 60.0, poll=1.0)
    assert spy.calls == []  # a virtual clock never calls the hook


# -- the real clock ------------------------------------------------------------------------
def test_the_real_clock_ticks_the_reporter_from_inside_its_waits():
    clock = RealClock()
    stream = FakeStream(tty=False)
    progress = clock.progress = WaitProgress(stream, tty=False, min_wait_s=0.2, pipe_interval_s=0.25)
    progress.case = "4.2.6"

    start = clock.now()
    took = clock.wait_until(lambda: clock.now() - start >= 0.6, 5.0, what="output at 30 kW")
    assert took >= 0.6
    clock.sleep(0.55)  # a single plain sleep updates too
    clock.sleep(0.1)  # not longer than min_wait_s: not reported at all
    settle_start = clock.now()
    clock.wait_settled(
        lambda: min(clock.now() - settle_start, 0.3), band=0.001, hold=0.2, timeout=3.0, what="output voltage to settle"
    )

    lines = [line for line in stream.getvalue().split("\n") if line]
    waits = [re.fullmatch(r"4\.2\.6 (.+): (\d+\.\d) s of ([\d.]+) s", line).groups() for line in lines]
    whats = [what for what, _, _ in waits]
    assert sorted(set(whats), key=whats.index) == ["output at 30 kW", "waiting", "output voltage to settle"]
    assert {(what, limit) for what, _, limit in waits} == {
        ("output at 30 kW", "5"),
        ("waiting", "0.55"),
        ("output voltage to settle", "3"),
    }
    assert all(float(elapsed) >= 0.2 for _, elapsed, _ in waits)  # nothing before min_wait_s
    assert whats.count("output at 30 kW") >= 2  # updated during the wait, from inside the clock


def test_the_real_clock_reports_each_wait_once_and_ticks_at_most_every_0_1_s():
    clock = RealClock()
    spy = clock.progress = Spy()
    spy.min_wait_s = 0.2
    clock.sleep(0.5)
    clock.sleep(0.1)
    clock.wait_until(lambda: True, 60.0, what="ready")
    with pytest.raises(WaitTimeout):
        clock.wait_until(lambda: False, 0.3, poll=0.01, what="never")
    begins = [(c, i + 1) for i, c in enumerate(spy.calls) if c[0] == "begin"]
    assert [c for c, _ in begins] == [("begin", "waiting", 0.5), ("begin", "ready", 60.0), ("begin", "never", 0.3)]
    ends = [c for c in spy.calls if c[0] == "end"]
    assert ends == [("end", token) for _, token in begins]  # each ended, also when it raised
    ticks = len([c for c in spy.calls if c[0] == "tick"])
    assert 3 <= ticks <= 10  # 0.8 s of waiting


def test_the_real_clock_keeps_the_wait_helpers_signatures():
    for name in ("sleep", "sleep_until", "wait_until", "wait_settled"):
        assert inspect.signature(getattr(RealClock, name)) == inspect.signature(getattr(Clock, name)), name


def test_nested_waits_show_the_outermost():
    wall, stream = FakeWall(), FakeStream(tty=False)
    progress = WaitProgress(stream, tty=False, wall=wall)
    progress.case = "4.2.6"
    outer = progress.begin("output at 30 kW", 60.0)
    wall.t += 1.0
    inner = progress.begin("scope capture", 5.0)
    wall.t += 2.0
    progress.tick()
    progress.end(inner)
    progress.end(outer)
    assert stream.getvalue() == "\n4.2.6 output at 30 kW: 3.0 s of 60 s\n"


def test_a_failing_stream_never_breaks_a_wait():
    class Broken(FakeStream):
        def write(self, data):
            raise BrokenPipeError(32, "Broken pipe")

    wall = FakeWall()
    progress = WaitProgress(Broken(tty=True), tty=True, wall=wall)
    run_wait(progress, wall, "output at 30 kW", 60.0, duration=3.0)  # does not raise


# -- end to end: pytest on a pseudo-terminal -------------------------------------------------
CONFTEST = """
import os, sys
import pytest
from bench.session.progress import WaitProgress

def pytest_configure(config):
    # Capturing is suspended here: fd 1 is still the real terminal. Keep a duplicate of it,
    # which pytest's fd capture (dup2 onto fd 1 during each test) does not redirect.
    stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", errors="replace")
    config.stash[KEY] = WaitProgress.for_stream(stream, min_wait_s=0.3)

def pytest_unconfigure(config):
    progress = config.stash.get(KEY, None)
    if progress is not None:
        progress.stream.close()

KEY = pytest.StashKey()

@pytest.fixture
def progress(request):
    progress = request.config.stash[KEY]
    progress.case = request.node.name
    yield progress
    progress.case = ""
"""

TEST = """
from bench.core.clock import RealClock

def test_one(progress):
    print("captured output stays captured")

def test_long_wait(progress):
    clock = RealClock()
    clock.progress = progress
    start = clock.now()
    clock.wait_until(lambda: clock.now() - start >= 0.8, 60.0, what="output at 30 kW")
"""


def test_end_to_end_pytest_on_a_pseudo_terminal(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_wait.py").write_text(TEST)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "TERM": "xterm"}
    # This checkout's bench, whatever an installed one points at (the run's cwd is tmp_path).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-p",
            "no:randomly",
            "test_wait.py",
        ],
        cwd=tmp_path,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        proc.wait(timeout=30)
    raw = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, raw
    assert re.search(r"\r\x1b\[2Ktest_long_wait output at 30 kW: 0\.\d s of 60 s", raw)  # it was live
    screen = Screen(rows=24, columns=100).feed(raw)
    final = screen.all_text()
    assert "output at 30 kW" not in final  # erased
    assert "captured output stays captured" not in final
    assert re.search(r"^test_wait\.py \.\. +\[100%\]$", final, re.M), final  # pytest's line intact
    assert re.search(r"2 passed", final)
