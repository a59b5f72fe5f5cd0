"""Fakes for the instrument front-end tests: hand-made plant signals, ports that record what an
instrument did to the circuit (and report terminal values the test chooses), and a raw
line client for talking to a front end through a real SocketHub socket.
"""

from __future__ import annotations

import math
import socket
from contextlib import contextmanager

import numpy as np

from instruments.sim.hub import SocketHub


# -- signals ---------------------------------------------------------------------------------
class FunctionSignal:
    """A signal given by a vectorised function of bench time; crossings found by scanning."""

    def __init__(self, name: str, fn, unit: str = "V", scan_step: float = 1e-5):
        self.name = name
        self.unit = unit
        self.fn = fn
        self.scan_step = scan_step
        self.sampled = 0  # samples handed out, to check the instruments' appetite
        self.clock = None  # set by FakePlant: then sampling is checked against bench time
        self.keep_s = None  # the plant keeps only this much past

    def at(self, t: float) -> float:
        return float(self.sample(np.array([t]))[0])

    def sample(self, times: np.ndarray) -> np.ndarray:
        times = np.asarray(times, dtype=float)
        self.sampled += len(times)
        if self.clock is not None and len(times):
            now = self.clock.now()
            assert times.max() <= now + 1e-9, f"{self.name} sampled at {times.max()} after now ({now})"
            if self.keep_s is not None:
                assert times.min() >= now - self.keep_s, f"{self.name} sampled before its kept history"
        return np.broadcast_to(np.asarray(self.fn(times), dtype=float), times.shape).copy()

    def next_crossing(self, start, end, level, rising):
        t = start
        while t < end:
            grid = np.arange(t, min(end, t + 100_000 * self.scan_step) + self.scan_step / 2, self.scan_step)
            v = np.asarray(self.fn(grid), dtype=float) - level
            hits = np.nonzero((v[:-1] < 0) & (v[1:] >= 0) if rising else (v[:-1] > 0) & (v[1:] <= 0))[0]
            if len(hits):
                k = hits[0]
                return float(grid[k] + (grid[k + 1] - grid[k]) * v[k] / (v[k] - v[k + 1]))
            t = grid[-1]
        return None


class Constant(FunctionSignal):
    def __init__(self, name: str, value: float, unit: str = "V"):
        super().__init__(name, lambda t: np.full(np.shape(t), value), unit)

    def next_crossing(self, start, end, level, rising):
        return None


class Pwm(FunctionSignal):
    """A trapezoidal PWM: 50 % rising crossings at ``t0 + k/frequency``; linear edges of
    ``edge_s`` (full swing); ``duty`` measured at the 50 % level."""

    def __init__(
        self, name: str, high: float, low: float, frequency: float, duty: float, edge_s: float = 2e-6, t0: float = 0.0
    ):
        self.high, self.low, self.period, self.duty, self.edge, self.t0 = high, low, 1.0 / frequency, duty, edge_s, t0
        super().__init__(name, self._value)

    def _shape(self, x):
        e, d = self.edge, self.duty * self.period
        return np.clip(np.minimum((x + e / 2) / e, (d + e / 2 - x) / e), 0.0, 1.0)

    def _value(self, t):
        p = np.mod(np.asarray(t) - self.t0, self.period)
        return self.low + (self.high - self.low) * np.maximum(self._shape(p), self._shape(p - self.period))

    def next_crossing(self, start, end, level, rising):
        f = (level - self.low) / (self.high - self.low)
        if not 0.0 < f < 1.0:
            return None
        offset = (f - 0.5) * self.edge if rising else self.duty * self.period + (0.5 - f) * self.edge
        k = math.ceil((start - self.t0 - offset) / self.period)
        t = self.t0 + offset + k * self.period
        if t < start:
            t += self.period
        return t if t <= end else None


def sine(name: str, rms: float, frequency: float = 50.0, phase_deg: float = 0.0, unit: str = "V"):
    omega, phase = 2 * math.pi * frequency, math.radians(phase_deg)
    return FunctionSignal(name, lambda t: math.sqrt(2) * rms * np.sin(omega * t + phase), unit, scan_step=1e-5)


def step(name: str, before: float, after: float, at: float, unit: str = "V"):
    return FunctionSignal(name, lambda t: np.where(t < at, before, after), unit)


class FakePlant:
    """Signals by name. With a clock, a signal refuses to be sampled in the future or (with
    ``keep_s``) further back than the plant keeps its history, as the real plant's contract says."""

    def __init__(self, *signals, kind: str = "ac", clock=None, keep_s: float | None = None):
        self.kind = kind
        self.signals = {s.name: s for s in signals}
        for signal in signals:
            signal.clock, signal.keep_s = clock, keep_s

    def signal(self, name: str):
        return self.signals[name]

    def signal_names(self) -> tuple[str, ...]:
        return tuple(self.signals)


# -- ports -----------------------------------------------------------------------------------
class _RecordingPort:
    """Records every call; terminal readings are whatever the test sets (plant state)."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.voltage = 0.0  # terminal voltage the plant shows
        self.current = 0.0  # terminal current the plant shows

    def _note(self, name: str, *args) -> None:
        self.calls.append((name, *args))

    def last(self, name: str):
        """Arguments of the latest call of ``name`` (a tuple), or None."""
        for call in reversed(self.calls):
            if call[0] == name:
                return call[1:]
        return None

    def terminal_voltage(self) -> float:
        return self.voltage

    def terminal_current(self) -> float:
        return self.current


class FakeBatteryPort(_RecordingPort):
    def __init__(self):
        super().__init__()
        self.regulation: set[str] = {"off"}

    def set_output(self, on):
        self._note("set_output", on)

    def set_priority(self, mode):
        self._note("set_priority", mode)

    def set_voltage(self, volts):
        self._note("set_voltage", volts)

    def set_current(self, amps):
        self._note("set_current", amps)

    def set_current_limits(self, source_a, sink_a):
        self._note("set_current_limits", source_a, sink_a)

    def set_power_limits(self, source_w, sink_w):
        self._note("set_power_limits", source_w, sink_w)

    def status(self) -> set[str]:
        return set(self.regulation)


class FakeLoadPort(_RecordingPort):
    def set_input(self, on):
        self._note("set_input", on)

    def set_mode(self, mode):
        self._note("set_mode", mode)

    def set_current(self, amps):
        self._note("set_current", amps)

    def set_voltage(self, volts):
        self._note("set_voltage", volts)

    def set_cv_current_limit(self, amps):
        self._note("set_cv_current_limit", amps)


class FakeAcPort(_RecordingPort):
    def set_output(self, on):
        self._note("set_output", on)

    def set_voltage(self, volts_rms):
        self._note("set_voltage", volts_rms)

    def set_frequency(self, hz):
        self._note("set_frequency", hz)

    def set_current_limit(self, amps_rms):
        self._note("set_current_limit", amps_rms)


# -- wire ------------------------------------------------------------------------------------
class LineClient:
    """Raw socket client: LF-terminated commands, replies read exactly as the bytes come."""

    def __init__(self, port: int, timeout: float = 5.0):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        # as pyvisa-py does: a small write must not wait in our send buffer (Nagle) while
        # the virtual clock, seeing nothing in flight, moves on
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()

    def _fill(self, size: int) -> None:
        while len(self.buffer) < size:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("front end closed the connection")
            self.buffer += chunk

    def _take(self, size: int) -> bytes:
        self._fill(size)
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def write(self, text: str) -> None:
        self.sock.sendall(text.encode("ascii") + b"\n")

    def read_line(self) -> str:
        while (end := self.buffer.find(b"\n")) < 0:
            self._fill(len(self.buffer) + 1)
        line = bytes(self.buffer[:end]).decode("ascii")
        del self.buffer[: end + 1]
        return line

    def ask(self, text: str) -> str:
        self.write(text)
        return self.read_line()

    def sync(self) -> None:
        """Round trip: every command written before has been handled. (A bare write may
        still be in the kernel's loopback path when the virtual clock asks the hub what is in
        flight; a driver is safe because it reads the error queue after each setting.)"""
        assert self.ask("*OPC?") == "1"

    def ask_block(self, text: str) -> tuple[bytes, bytes]:
        """Send a query answered by a definite-length block + LF; return (header, payload)."""
        self.write(text)
        return self.read_block()

    def read_block(self) -> tuple[bytes, bytes]:
        start = self._take(2)
        assert start[:1] == b"#", f"expected a block, got {start!r}"
        digits = int(start[1:2])
        length_text = self._take(digits)
        payload = self._take(int(length_text))
        terminator = self._take(1)
        assert terminator == b"\n", f"block not followed by LF but {terminator!r}"
        return start + length_text, payload

    def close(self) -> None:
        self.sock.close()


def advance(clock, client: LineClient, seconds: float) -> None:
    """Let bench time pass once the instrument has handled everything sent so far."""
    client.sync()
    clock.sleep(seconds)


@contextmanager
def served(front_end, clock):
    """Serve one front end on a SocketHub and connect a LineClient to it."""
    hub = SocketHub(clock)
    port = hub.serve(front_end)
    hub.start()
    client = LineClient(port)
    try:
        yield hub, client
    finally:
        client.close()
        hub.stop()
    assert hub.errors == [], hub.errors
