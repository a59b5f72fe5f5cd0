"""A python-can bus whose traffic is stamped and delivered on the bench Clock.

Both the bench (BMS emulator, monitor, trace writers) and the simulated charger sit on a
``ClockedBus``. Frames are stamped with bench time when sent; received frames are
drained by a clock poller (``bus.recv(0)``), so no thread of ours ever touches the bus
and a virtual run is identical run to run.
"""

from __future__ import annotations

from typing import Callable

import can

from bench.core.clock import Clock, Handle

Listener = Callable[[can.Message], None]


class ClockedBus:
    """Wraps one python-can bus; fans received and sent frames out to subscribers."""

    def __init__(self, bus: can.BusABC, clock: Clock, name: str = "can"):
        self.bus = bus
        self.clock = clock
        self.name = name
        self._rx: list[Listener] = []
        self._tx: list[Listener] = []
        self._poller = clock.add_poller(self.drain)
        self.closed = False
        # Frames sent by a listener while a received frame is being handed out: their
        # send-listeners hear of them only after every listener has seen the received frame,
        # so recorders and monitors see the bus in its true order (a CTS before the data it
        # asked for) whatever order they subscribed in.
        self._delivering = False
        self._held: list[can.Message] = []

    def send(self, msg: can.Message) -> None:
        """Send now, stamped with bench time; subscribers of sent frames see it too."""
        msg.timestamp = self.clock.now()
        msg.is_rx = False
        self.bus.send(msg)
        self.clock.notify_traffic()
        if self._delivering:
            self._held.append(msg)
            return
        for listener in self._tx:
            listener(msg)

    def on_receive(self, listener: Listener) -> Handle:
        self._rx.append(listener)
        return Handle(lambda: self._rx.remove(listener) if listener in self._rx else None)

    def on_send(self, listener: Listener) -> Handle:
        self._tx.append(listener)
        return Handle(lambda: self._tx.remove(listener) if listener in self._tx else None)

    def drain(self) -> None:
        """Deliver every frame waiting on the bus (clock poller)."""
        if self.closed:
            return
        recv = self.bus.recv
        virtual = self.clock.virtual
        while (msg := recv(0)) is not None:
            if not virtual:
                # Hardware stamps frames in its own time base; the bench judges on its clock.
                msg.timestamp = self.clock.now()
            msg.is_rx = True
            self._delivering = True
            try:
                for listener in self._rx:
                    listener(msg)
            finally:
                self._delivering = False
            while self._held:
                held = self._held.pop(0)
                for listener in self._tx:
                    listener(held)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._poller.remove()
        self.bus.shutdown()


def virtual_bus(channel: str, clock: Clock, name: str = "can") -> ClockedBus:
    """A bus on python-can's in-process ``virtual`` interface that keeps the sender's stamps."""
    bus = can.Bus(interface="virtual", channel=channel, preserve_timestamps=True, receive_own_messages=False)
    return ClockedBus(bus, clock, name)
