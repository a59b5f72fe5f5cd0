"""A hand-driven OCPP-J client for error tests: it sends exactly the frames a test gives it
and answers the Central System's CALLs with canned frames."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import websockets

from bench.protocols.platform.loop_thread import LoopThread


class RawChargePoint:
    def __init__(self, url: str, answers: dict[str, Callable[[str], list]] | None = None):
        self.url = url
        self.answers = answers or {}
        self.received: list[str] = []
        self._loop = LoopThread("raw-charge-point")
        self._websocket = None

    def connect(self) -> None:
        async def open_():
            return await websockets.connect(self.url, subprotocols=["ocpp1.6"], proxy=None, ping_interval=None)

        self._websocket = self._loop.run(open_(), 5.0)
        self._loop.submit(self._answer())

    async def _answer(self) -> None:
        try:
            async for frame in self._websocket:
                self.received.append(frame)
                message = json.loads(frame)
                if message[0] == 2 and message[2] in self.answers:
                    await self._websocket.send(json.dumps(self.answers[message[2]](message[1])))
        except websockets.ConnectionClosed:
            pass

    def send(self, frame: str | bytes) -> None:
        self._loop.run(self._websocket.send(frame), 5.0)

    def close(self) -> None:
        if self._websocket is not None:
            self._loop.run(self._websocket.close(), 5.0)
        self._loop.stop()


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Real-time wait for something another thread does (a frame crossing loopback)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)
