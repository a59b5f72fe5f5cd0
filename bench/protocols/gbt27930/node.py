"""What the BMS emulator and the charger state machine share: a GB/T 27930 node on the Clock.

A node listens to its peer on a ClockedBus (J1939 transport included), decodes what it
receives into ``peer`` (the peer's data as learned from frames), records findings and
events, sends its own messages once or periodically, and keeps named receive deadlines.
It owns no thread and no library timer: everything is a clock callback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import can

from bench.core.canbus import ClockedBus
from bench.core.clock import Periodic
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930 import timing
from bench.protocols.gbt27930.catalogue import BY_NAME, TP_CM_PGN, TP_DT_PGN
from bench.protocols.gbt27930.codec import CODEC, Problem
from bench.protocols.gbt27930.deadline import Deadline
from bench.protocols.gbt27930.extension import ExtensionCodec, ExtensionMessage
from bench.protocols.gbt27930.findings import Finding, FindingLog
from bench.protocols.gbt27930.ids import GLOBAL_ADDRESS, parse_id
from bench.protocols.gbt27930.transport import TransportEndpoint


@dataclass(frozen=True)
class NodeEvent:
    time: float
    name: str
    details: dict[str, Any] = field(default_factory=dict)


class PeerView:
    """The other side's data, only as learned from its frames: last values and when."""

    def __init__(self) -> None:
        self.last: dict[str, dict[str, Any]] = {}
        self.times: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def update(self, name: str, values: dict[str, Any], t: float) -> None:
        self.last[name] = values
        self.times[name] = t
        self.counts[name] = self.counts.get(name, 0) + 1

    def get(self, name: str) -> dict[str, Any] | None:
        return self.last.get(name)

    def value(self, name: str, key: str, default: Any = None) -> Any:
        values = self.last.get(name)
        return default if values is None else values.get(key, default)

    def clear(self) -> None:
        self.last.clear()
        self.times.clear()
        self.counts.clear()


class ProtocolNode:
    """Base of ``BmsEmulator`` and ``ChargerStateMachine``."""

    role: str = ""  # catalogue.BMS or catalogue.CHARGER: messages this node sends
    error_message: str = ""  # "BEM" or "CEM": what this node sends when a message times out
    # A frame of the peer whose length the standard does not give is not that message: dropped
    # (recorded as a finding and an event), as if it had not come (the charger; issue 13).
    discards_wrong_length: bool = False

    def __init__(self, bus: ClockedBus, address: int, peer_address: int, extension: ExtensionCodec | None = None):
        self.bus = bus
        self.extension = extension
        self.clock = bus.clock
        self.address = address
        self.peer_address = peer_address
        self.findings = FindingLog()
        self.events: list[NodeEvent] = []
        self.peer = PeerView()
        self.phase = "idle"
        self.listening = True
        self._silent_all = False
        self._silenced: set[str] = set()
        self._periodic: dict[str, Periodic] = {}
        self._deadlines: dict[str, Deadline] = {}
        self._phase_serial = 0  # callbacks scheduled with later() belong to one phase
        self.reconnects = 0
        self.max_reconnects = timing.MAX_RECONNECTS  # a misbehaving node may have its own
        self.transport = TransportEndpoint(bus, address, self._on_transfer, self.findings.report)
        self._rx_handle = bus.on_receive(self._on_frame)

    # -- receiving ------------------------------------------------------------------------
    def _on_frame(self, msg: can.Message) -> None:
        if not self.listening or not msg.is_extended_id:
            return
        _, pgn, dest, src = parse_id(msg.arbitration_id)
        if src != self.peer_address or dest not in (self.address, GLOBAL_ADDRESS):
            return
        data = bytes(msg.data)
        if pgn == TP_CM_PGN or pgn == TP_DT_PGN:
            self.transport.handle(pgn, data, src, dest, msg.timestamp)
        else:
            self._receive(pgn, data, msg.timestamp)

    def _on_transfer(self, pgn: int, data: bytes, src: int, dest: int, start: float, end: float) -> None:
        if self.listening:
            self._receive(pgn, data, end)

    def _receive(self, pgn: int, data: bytes, t: float) -> None:
        decoded = CODEC.decode(pgn, data)
        if decoded is None:
            self._receive_extension(pgn, data, t)
            return
        spec, values, problems = decoded
        self._report(problems, spec.name, pgn, t)
        if spec.sender == self.role:
            return
        if self.discards_wrong_length and any(kind == fk.WRONG_LENGTH for kind, _, _ in problems):
            self.event("discarded", message=spec.name, length=len(data))
            return
        self.peer.update(spec.name, values, t)
        handler = getattr(self, f"_on_{spec.name}", None)
        if handler is not None:
            handler(values, t)

    def _receive_extension(self, pgn: int, data: bytes, t: float) -> None:
        decoded = self.extension.decode(pgn, data) if self.extension is not None else None
        if decoded is None:
            return
        ext, values, problems = decoded
        self._report(problems, ext.name, pgn, t)
        self.peer.update(ext.name, values, t)

    def _report(self, problems: Iterable[Problem], name: str, pgn: int, t: float) -> None:
        for kind, text, field_name in problems:
            self.findings.report(Finding(kind, t, text, pgn), key=(kind, name, field_name))

    # -- sending --------------------------------------------------------------------------
    def send(self, name: str, values: dict[str, Any], length: int | None = None) -> None:
        """Encode and send one message now (through TP when longer than 8 bytes)."""
        if self._silent_all or name in self._silenced:
            return
        codec = CODEC.by_name[name]
        data = codec.encode(values, length)
        self.transport.send(codec.spec.pgn, data, self.peer_address, codec.spec.priority)

    def send_extension(self, ext: ExtensionMessage, values: dict[str, Any]) -> None:
        if self._silent_all or ext.name in self._silenced or self.extension is None:
            return
        self.transport.send(ext.pgn, self.extension.encode(ext, values), self.peer_address, ext.priority)

    def repeat(self, key: str, period: float, fn: Callable[[], None]) -> None:
        """Call ``fn`` every ``period`` s, the first time now (replaces ``key``)."""
        self.cancel(key)
        self._periodic[key] = self.clock.every(period, fn)

    def every(self, name: str, period: float, build: Callable[[], dict[str, Any]], length: int | None = None) -> None:
        """Send ``name`` with ``build()``'s values every ``period`` s, the first one now."""
        self.repeat(name, period, lambda: self.send(name, build(), length))

    def later(self, delay: float, fn: Callable[..., object], *args: Any) -> None:
        """Call ``fn`` after ``delay`` s unless the phase has changed by then."""
        serial = self._phase_serial

        def run() -> None:
            if serial == self._phase_serial:
                fn(*args)

        self.clock.call_later(delay, run)

    def cancel(self, *keys: str) -> None:
        for key in keys:
            periodic = self._periodic.pop(key, None)
            if periodic is not None:
                periodic.cancel()

    def cancel_all(self) -> None:
        self.cancel(*list(self._periodic))

    def sending(self, key: str) -> bool:
        return key in self._periodic

    def silence(self, names: Iterable[str] | None = None) -> None:
        """Stop transmitting ``names`` (all messages when None); the state machine runs on."""
        if names is None:
            self._silent_all = True
        else:
            self._silenced.update(names)
        self.event("silenced", messages=sorted(names) if names is not None else "all")

    def resume(self) -> None:
        self._silent_all = False
        self._silenced.clear()
        self.event("resumed")

    # -- receive deadlines ----------------------------------------------------------------
    def expect(self, key: str, seconds: float, on_expire: Callable[[], None]) -> None:
        deadline = self._deadlines.get(key)
        if deadline is None:
            deadline = self._deadlines[key] = Deadline(self.clock, lambda: None)
        deadline.on_expire = on_expire
        deadline.arm(seconds)

    def feed(self, key: str) -> None:
        deadline = self._deadlines.get(key)
        if deadline is not None:
            deadline.feed()

    def unexpect(self, *keys: str) -> None:
        for key in keys:
            deadline = self._deadlines.get(key)
            if deadline is not None:
                deadline.cancel()

    def unexpect_all(self) -> None:
        self.unexpect(*self._deadlines)

    def quiet(self) -> None:
        """Stop every periodic message and deadline (a phase change or a reset)."""
        self.cancel_all()
        self.unexpect_all()

    # -- errors and reconnection (both sides alike) -----------------------------------------
    def enter_error(self, flag: str | None, then: Callable[[], None]) -> None:
        """Phase "error": send BEM/CEM with ``flag`` (None: the peer reported the error), and
        call ``then`` after ``RECONNECT_DELAY_S``."""
        self.quiet()
        self.set_phase("error")
        if flag is not None:
            self.every(self.error_message, BY_NAME[self.error_message].period_s, lambda: {flag: "timeout"})
        self.later(timing.RECONNECT_DELAY_S, then)

    def next_attempt(self) -> bool:
        """Count a reconnection attempt; after ``max_reconnects`` give up (phase "aborted")."""
        self.cancel(self.error_message)
        if self.reconnects >= self.max_reconnects:
            self.quiet()
            self.set_phase("aborted")
            return False
        self.reconnects += 1
        self.event("reconnect", attempt=self.reconnects)
        return True

    def end(self) -> None:
        self.quiet()
        self.set_phase("ended")

    # -- bookkeeping ----------------------------------------------------------------------
    def event(self, name: str, **details: Any) -> None:
        self.events.append(NodeEvent(self.clock.now(), name, details))

    def set_phase(self, phase: str) -> None:
        self._phase_serial += 1
        if phase != self.phase:
            self.phase = phase
            self.event("phase", phase=phase)

    def events_named(self, name: str) -> list[NodeEvent]:
        return [e for e in self.events if e.name == name]

    def close(self) -> None:
        self.quiet()
        self.transport.close()
        self._rx_handle.remove()
