"""Hand-written command/response transcripts, played by a loopback TCP server.

A driver under test talks to the transcript exactly as to the instrument (pyvisa-py over
``TCPIP0::127.0.0.1::<port>::SOCKET``). Each step is (what the driver must send, what the
instrument answers): the answer is text (a line terminator is added), bytes (sent as they
are, e.g. a definite-length block followed by LF) or None (a setting: no answer). The first
line that differs from the script ends the conversation: the server closes the socket and
records the mismatch, so the test fails with both lines.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from bench.core.clock import VirtualClock
from bench.core.profile import Accuracy, InstrumentConfig


@dataclass
class Transcript:
    steps: list[tuple[str, str | bytes | None]]
    terminator: bytes = b"\n"
    received: list[str] = field(default_factory=list)
    mismatch: str | None = None

    def __post_init__(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(1)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def resource(self) -> str:
        return f"TCPIP0::127.0.0.1::{self.port}::SOCKET"

    @property
    def done(self) -> bool:
        return self.mismatch is None and len(self.received) == len(self.steps)

    def _serve(self) -> None:
        conn, _ = self._sock.accept()
        buffer = bytearray()
        with conn:
            for expected, answer in self.steps:
                while (end := buffer.find(self.terminator)) < 0:
                    chunk = conn.recv(65536)
                    if not chunk:
                        self.mismatch = f"connection closed; expected {expected!r}"
                        return
                    buffer += chunk
                line = buffer[:end].decode("ascii", errors="replace").strip()
                del buffer[: end + len(self.terminator)]
                self.received.append(line)
                if line != expected:
                    self.mismatch = f"step {len(self.received)}: expected {expected!r}, driver sent {line!r}"
                    return
                if answer is None:
                    continue
                conn.sendall(answer if isinstance(answer, bytes) else answer.encode("ascii") + self.terminator)
            # Hold the line open until the driver closes, so a late extra command is seen.
            conn.settimeout(0.2)
            try:
                extra = conn.recv(65536)
                if extra:
                    self.mismatch = f"driver sent more than the transcript: {extra[:80]!r}"
            except OSError:
                pass

    def close(self) -> None:
        self._sock.close()
        self._thread.join(timeout=2)

    def assert_played(self) -> None:
        self._thread.join(timeout=2)
        assert self.mismatch is None, self.mismatch
        assert len(self.received) == len(self.steps), (
            f"driver stopped after {len(self.received)} of {len(self.steps)} steps; "
            f"next: {self.steps[len(self.received)][0]!r}"
        )


def instrument_config(
    role: str,
    driver: str,
    resource: str,
    *,
    channels=None,
    rating=None,
    accuracy=None,
    model: str = "",
    timeout_s: float = 2.0,
    options=None,
) -> InstrumentConfig:
    """An InstrumentConfig as the profile loader would build it, for driver tests."""
    return InstrumentConfig(
        role=role,
        driver=driver,
        resource=resource,
        visa_backend="@py",
        model=model,
        serial="",
        calibration_due=None,
        accuracy={k: Accuracy(**v) for k, v in (accuracy or {}).items()},
        channels=dict(channels or {}),
        rating=dict(rating or {}),
        timeout_s=timeout_s,
        options=dict(options or {}),
    )


def new_clock() -> VirtualClock:
    return VirtualClock(epoch=1_767_574_800.0)
