"""Modbus piles whose empty event FIFO looks different (issue 12, item 8).

The simulated pile shows "not available" in the event registers of an empty FIFO; a real pile
may show 0 in all of them (count 0, kind 0: no code of the map), or leave the last event's
values there. Either way ``event_count`` 0 says the FIFO is empty (README.md "Event FIFO"): the
bench reads it as empty, raises nothing and acknowledges nothing more.

The pile here is written for these tests from the shipped AC map (its addresses and codes), not
the simulated pile's device: only the FIFO registers, filled by hand.
"""

from __future__ import annotations

from collections import deque

import pytest

from bench.core.profile import ModbusEndpoint
from bench.platform.errors import PlatformProtocolError
from bench.platform.log import MessageLog
from bench.platform.modbus import ModbusChannel
from bench.protocols.modbus.registers import load_pile_map, shipped_pile_map
from instruments.sim.hub import SocketHub
from instruments.sim.modbus import ILLEGAL_DATA_ADDRESS, ModbusException, ModbusFrontEnd
from tests.support.transcript import new_clock

SHOWN = ("event_count", "event_seq", "event_kind", "event_time", "event_time_ms", "event_detail")


class FifoPile:
    """The event FIFO of a pile, by the map's addresses. ``empty_shows``: "zeros" (every event
    register 0) or "last event" (the registers keep the event acknowledged last, count 0)."""

    def __init__(self, pile_map, empty_shows: str):
        self.map = pile_map
        self.empty_shows = empty_shows
        self.fifo: deque[dict] = deque()
        self.last: dict | None = None
        self.acks: list[int] = []
        self.seq = 0
        self.raw_kind: int | None = None  # shown instead of the waiting event's kind code

    def queue(self, kind: str, pile_time: float, detail: str) -> None:
        self.seq += 1
        self.fifo.append({"event_seq": self.seq, "event_kind": kind, "event_time": int(pile_time), "detail": detail})

    def _shown(self) -> dict[int, int]:
        event = self.fifo[0] if self.fifo else (self.last if self.empty_shows == "last event" else None)
        words: dict[int, int] = {}
        for name in SHOWN:
            reg = self.map[name]
            if event is None:
                encoded = [0] * reg.count
            elif name == "event_count":
                encoded = self.map.encode(name, len(self.fifo))
            elif name == "event_time_ms":
                encoded = self.map.encode(name, 0.0)
            elif name == "event_detail":
                encoded = self.map.encode(name, event["detail"])
            elif name == "event_kind" and self.raw_kind is not None and self.fifo:
                encoded = [self.raw_kind]
            else:
                encoded = self.map.encode(name, event[name])
            words.update(zip(range(reg.address, reg.end), encoded))
        return words

    # -- ModbusDevice ---------------------------------------------------------------------
    def read_holding(self, address: int, count: int) -> list[int]:
        words = self._shown()
        if any(a not in words for a in range(address, address + count)):
            raise ModbusException(ILLEGAL_DATA_ADDRESS)
        return [words[a] for a in range(address, address + count)]

    def read_input(self, address: int, count: int) -> list[int]:
        raise ModbusException(ILLEGAL_DATA_ADDRESS)

    def write(self, address: int, values: list[int]) -> None:
        if address != self.map["event_ack"].address or len(values) != 1:
            raise ModbusException(ILLEGAL_DATA_ADDRESS)
        self.acks.append(values[0])
        if self.fifo and self.fifo[0]["event_seq"] == values[0]:
            self.last = self.fifo.popleft()

    def identification(self) -> dict[int, str]:
        return {0: "Test", 1: self.map.name, 2: "1"}


@pytest.fixture
def rig():
    made = []

    def build(empty_shows: str):
        clock = new_clock()
        path = shipped_pile_map("sim-ac-pile")
        pile = FifoPile(load_pile_map(path), empty_shows)
        hub = SocketHub(clock)
        port = hub.serve(ModbusFrontEnd("pile", pile, unit_id=1))
        hub.start()
        channel = ModbusChannel(ModbusEndpoint("127.0.0.1", port, 1, path), clock, MessageLog())
        made.append((hub, channel))
        return clock, pile, channel

    yield build
    for hub, channel in made:
        channel.close()
        hub.stop()


@pytest.mark.parametrize("empty_shows", ["zeros", "last event"])
def test_an_empty_fifo_is_read_as_empty_whatever_its_registers_show(rig, empty_shows):
    clock, pile, channel = rig(empty_shows)
    assert 0 not in pile.map.codes["event_kind"].values()  # kind 0 decodes to nothing: the case at hand
    assert channel.events() == []  # empty from the start
    pile.queue("start", clock.wall_time() + 3.0, "remote start")
    pile.queue("anomaly", clock.wall_time() + 4.0, "CP short")
    events = channel.events()
    assert [(e.kind, e.detail) for e in events] == [("start", "remote start"), ("anomaly", "CP short")]
    assert events[0].pile_time == int(clock.wall_time() + 3.0)
    assert pile.acks == [1, 2] and not pile.fifo
    assert channel.events() == events  # the empty FIFO again: nothing raised, nothing added
    clock.sleep(3.5)  # the background poll reads the empty FIFO three times
    assert channel.errors == []
    assert pile.acks == [1, 2]  # nothing acknowledged twice
    pile.queue("stop", clock.wall_time(), "remote stop")
    clock.sleep(1.0)
    assert [e.kind for e in channel.events(refresh=False)] == ["start", "anomaly", "stop"]


def test_a_waiting_event_whose_kind_is_no_code_is_refused_and_kept(rig):
    clock, pile, channel = rig("zeros")
    pile.queue("start", clock.wall_time(), "remote start")
    pile.raw_kind = 0  # a waiting event (count 1) of kind 0: that is the pile's error, not an empty FIFO
    with pytest.raises(PlatformProtocolError, match=r"event_kind \(holding register 202\): code 0 is not in the map"):
        channel.events()
    assert pile.acks == []  # not acknowledged: the pile keeps it
