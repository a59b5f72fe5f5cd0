"""A python-can bus whose traffic is stamped and delivered on the bench Clock.

Both the bench (BMS emulator, monitor, trace writers) and the simulated charger sit on a
``ClockedBus``. Frames are stamped with bench time when sent; received frames are
drained by a clock poller (``bus.recv(0)``), so no thread of ours ever touches the bus
and a virtual run is identical run to run.

Each ClockedBus keeps its controller's error counters as ISO 11898-1 fault confinement
does (simplified): a received error frame adds 1 to the receive error counter and a good
frame takes 1 off; a destroyed transmission adds 8 to the transmit error counter per attempt
and the controller retransmits until it is bus-off (counter > 255), after which ``send``
raises ``can.CanOperationError`` until the bus is re-initialised. On hardware the adapter's
own controller does this and python-can reports it; python-can's ``virtual`` interface has
no physical layer, so a ``VirtualWire`` per virtual channel stands for the wire: the
simulated bench disturbs it (``destroy_transmissions``) as a wiring fault disturbs a bus.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import can
from can.interfaces.virtual import VirtualBus

from bench.core.clock import Clock, Handle

Listener = Callable[[can.Message], None]
# ISO 11898-1 fault confinement: error passive above 127, bus-off above 255; +8 per transmit error.
ERROR_PASSIVE_LIMIT = 127
BUS_OFF_LIMIT = 255
TRANSMIT_ERROR_STEP = 8


class VirtualWire:
    """The wire of one virtual channel: frames of every node but one destroyed until a time."""

    def __init__(self) -> None:
        self._spared: ClockedBus | None = None
        self._until: float | None = None
        self._active = False

    def destroy_transmissions(self, spared: ClockedBus | None, until: float | None) -> None:
        """From now on every frame a node other than ``spared`` sends is destroyed (bit errors),
        until bench time ``until`` (None: until ``restore``)."""
        self._spared, self._until, self._active = spared, until, True

    def restore(self) -> None:
        self._active = False

    def destroys(self, bus: ClockedBus, now: float) -> bool:
        if not self._active or bus is self._spared:
            return False
        if self._until is not None and now >= self._until:
            self._active = False
            return False
        return True


_WIRES: weakref.WeakValueDictionary[object, VirtualWire] = weakref.WeakValueDictionary()


def virtual_wire(channel: object) -> VirtualWire:
    """The wire of a python-can virtual channel (one per channel, kept while a bus uses it)."""
    wire = _WIRES.get(channel)
    if wire is None:
        wire = _WIRES[channel] = VirtualWire()
    return wire


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
        self._wire = virtual_wire(bus.channel_id) if isinstance(bus, VirtualBus) else None
        self._clear_errors()

    # -- the controller's error state (ISO 11898-1 fault confinement, simplified) -------------
    def _clear_errors(self) -> None:
        self.tx_errors = 0  # transmit error counter
        self.rx_errors = 0  # receive error counter
        self.error_frames = 0  # error frames received since the controller was (re)initialised
        self.bus_off = False

    @property
    def error_passive(self) -> bool:
        return self.tx_errors > ERROR_PASSIVE_LIMIT or self.rx_errors > ERROR_PASSIVE_LIMIT

    def send(self, msg: can.Message) -> None:
        """Send now, stamped with bench time; subscribers of sent frames see it too."""
        msg.timestamp = self.clock.now()
        msg.is_rx = False
        if self.bus_off:
            raise can.CanOperationError(f"the controller is bus-off (transmit error counter {self.tx_errors})")
        if self._wire is not None and self._wire.destroys(self, msg.timestamp):
            # Every attempt is destroyed; the controller retransmits until it is bus-off.
            attempts = 0
            while self.tx_errors <= BUS_OFF_LIMIT:
                self.tx_errors += TRANSMIT_ERROR_STEP
                attempts += 1
            self.bus_off = True
            raise can.CanOperationError(
                f"{attempts} transmissions destroyed by bus errors: the controller is "
                f"bus-off (transmit error counter {self.tx_errors} > {BUS_OFF_LIMIT})"
            )
        self.bus.send(msg)
        if self.tx_errors:
            self.tx_errors -= 1
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
            if msg.is_error_frame:
                self.error_frames += 1
                self.rx_errors = min(self.rx_errors + 1, BUS_OFF_LIMIT + 1)
            elif self.rx_errors:
                self.rx_errors -= 1
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
