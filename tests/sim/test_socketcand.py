"""The socketcand-protocol server: python-can's own socketcand client against it, on loopback."""

from __future__ import annotations

import socket
import time
import uuid

import can
import pytest

from bench.core.canbus import virtual_bus
from instruments.sim.socketcand import SocketcandServer, frame_text
from tests.support.transcript import new_clock

WAIT_S = 2.0  # every wait below is bounded by this


@pytest.fixture
def server():
    made = []

    def start(**kwargs):
        srv = SocketcandServer(f"socketcand-{uuid.uuid4().hex}", **kwargs)
        srv.start()
        made.append(srv)
        return srv

    yield start
    for srv in made:
        srv.stop()


def client_bus(srv):
    return can.Bus(interface="socketcand", host="127.0.0.1", port=srv.port, channel="can0")


def receive(bus, count):
    got, deadline = [], time.monotonic() + WAIT_S
    while len(got) < count and time.monotonic() < deadline:
        msg = bus.recv(timeout=0.1)
        if msg is not None:
            got.append(msg)
    return got


def essentials(messages):
    return [(m.arbitration_id, m.is_extended_id, bytes(m.data)) for m in messages]


class RawClient:
    """A plain socket speaking the protocol, to check the exact text."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        self.buffer = b""

    def open_bus(self, name="can0"):
        assert self.hear() == "< hi >"
        self.say(f"< open {name} >")
        assert self.hear() == "< ok >"

    def say(self, text):
        self.sock.sendall(text.encode("ascii"))

    def hear(self):
        while b">" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buffer += chunk
        end = self.buffer.index(b">") + 1
        text, self.buffer = self.buffer[:end].decode("ascii"), self.buffer[end:]
        return text

    def close(self):
        self.sock.close()


FRAMES = [
    can.Message(arbitration_id=0x1826F456, is_extended_id=True, data=bytes([0x01, 0x01, 0x00])),  # CHM
    can.Message(
        arbitration_id=0x1CEC56F4, is_extended_id=True, data=bytes([0x10, 0x31, 0, 7, 7, 0xFF, 0, 2])
    ),  # TP.CM RTS
    can.Message(arbitration_id=0x123, is_extended_id=False, data=b""),
    can.Message(arbitration_id=0x7FF, is_extended_id=False, data=bytes(range(0xF8, 0x100))),
]


def test_python_can_client_receives_every_frame_of_the_simulated_bus(server):
    srv = server()
    peer = can.Bus(interface="virtual", channel=srv.virtual_channel, receive_own_messages=False)
    client = client_bus(srv)
    try:
        for msg in FRAMES:
            peer.send(msg)
        assert essentials(receive(client, len(FRAMES))) == essentials(FRAMES)
    finally:
        client.shutdown()
        peer.shutdown()


def test_python_can_client_sends_frames_into_the_simulated_bus(server):
    srv = server()
    clock = new_clock()
    bench_side = virtual_bus(srv.virtual_channel, clock, name="sim")
    got = []
    bench_side.on_receive(got.append)
    client = client_bus(srv)
    try:
        for msg in FRAMES:
            client.send(msg)
        deadline = time.monotonic() + WAIT_S
        while len(got) < len(FRAMES) and time.monotonic() < deadline:
            bench_side.drain()
            time.sleep(0.005)
        assert essentials(got) == essentials(FRAMES)
        assert srv.errors == []
    finally:
        client.shutdown()
        bench_side.close()


def test_one_clients_frames_reach_the_others_but_not_itself(server):
    srv = server()
    first, second = client_bus(srv), client_bus(srv)
    try:
        first.send(FRAMES[0])
        assert essentials(receive(second, 1)) == essentials(FRAMES[:1])
        assert first.recv(timeout=0.2) is None
    finally:
        first.shutdown()
        second.shutdown()


def test_protocol_text_as_socketcand_sends_it(server):
    srv = server(epoch=1_000.0)
    clock = new_clock()
    bench_side = virtual_bus(srv.virtual_channel, clock, name="sim")
    raw = RawClient(srv.port)
    try:
        raw.open_bus()
        raw.say("< echo >")
        assert raw.hear() == "< echo >"
        raw.say("< subscribe 0 0 123 >")  # a broadcast-manager command the bench does not offer
        assert raw.hear() == "< error unknown command >"
        raw.say("< rawmode >")
        assert raw.hear() == "< ok >"
        clock.sleep(2.5)
        bench_side.send(can.Message(arbitration_id=0x1826F456, is_extended_id=True, data=b"\x01\x01\x00"))
        bench_side.send(can.Message(arbitration_id=0x0AB, is_extended_id=False, data=b"\xde\xad"))
        # bench time 2.5 s + epoch 1000 s; IDs 8 (extended) or 3 digits; data contiguous hex
        assert raw.hear() == "< frame 1826F456 1002.500000 010100 >"
        assert raw.hear() == "< frame 0AB 1002.500000 DEAD >"
        raw.say("< send 1CEC56F4 2 1 F1 >< send 12 9 0 0 0 0 0 0 0 0 0 >< send 7 1 zz >")
        raw.say("< echo >")
        assert raw.hear() == "< echo >"  # the malformed sends got no answer
        assert len(srv.errors) == 2 and "malformed send command '< send 12 9" in srv.errors[0]
    finally:
        raw.close()
        bench_side.close()


def test_another_bus_name_is_refused_and_the_connection_closes(server):
    srv = server()
    raw = RawClient(srv.port)
    try:
        assert raw.hear() == "< hi >"
        raw.say("< open vcan7 >")
        assert raw.hear() == "< error could not open bus >"
        assert raw.hear() is None
    finally:
        raw.close()


def test_frame_text_rounds_the_timestamp_and_skips_what_socketcand_does_not_carry():
    msg = can.Message(arbitration_id=0x18FF50E5, is_extended_id=True, data=b"\x00", timestamp=41.9999996)
    assert frame_text(msg) == "< frame 18FF50E5 42.000000 00 >"
    assert frame_text(can.Message(arbitration_id=0x1, is_remote_frame=True, is_extended_id=False)) is None


def test_client_settings_reach_the_server_through_the_can_adapter(server):
    from instruments.can import describe, open_can

    srv = server()
    peer = can.Bus(interface="virtual", channel=srv.virtual_channel, receive_own_messages=False)
    adapter = open_can(srv.client_settings(), new_clock())
    try:
        assert describe(adapter).startswith("socketcand channel can0 at 250000 bit/s")
        peer.send(FRAMES[0])
        assert essentials(receive(adapter.bus, 1)) == essentials(FRAMES[:1])
    finally:
        adapter.close()
        peer.shutdown()


def test_the_rawmode_ok_arrives_alone_while_the_bus_is_busy(server):
    """python-can reads the rawmode "< ok >" with one recv() and compares it whole: a client
    thread that wakes late must still find nothing glued to it."""
    import threading

    srv = server()
    peer = can.Bus(interface="virtual", channel=srv.virtual_channel, receive_own_messages=False)
    stop = threading.Event()

    def chatter():
        while not stop.is_set():
            peer.send(FRAMES[0])
            time.sleep(0.0005)

    thread = threading.Thread(target=chatter, daemon=True)
    thread.start()
    raw = RawClient(srv.port)
    try:
        raw.open_bus()
        raw.say("< rawmode >")
        time.sleep(0.02)  # a late reader
        assert raw.sock.recv(256) == b"< ok >"
        assert raw.hear().startswith("< frame 1826F456 ")  # the held frames follow
        client = client_bus(srv)  # python-can's own handshake on the busy bus
        assert essentials(receive(client, 1)) == essentials(FRAMES[:1])
        client.shutdown()
    finally:
        stop.set()
        thread.join(timeout=WAIT_S)
        raw.close()
        peer.shutdown()
