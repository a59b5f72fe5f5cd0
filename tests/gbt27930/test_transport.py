"""J1939 transport on the bench Clock: RTS/CTS both ways, BAM, timeouts and anomalies as findings."""

import can
import pytest

from bench.core.canbus import virtual_bus
from bench.core.clock import VirtualClock
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930 import timing
from bench.protocols.gbt27930 import transport as tp
from bench.protocols.gbt27930.catalogue import TP_CM_PGN, TP_DT_PGN
from bench.protocols.gbt27930.ids import frame_id, parse_id

BMS, CHARGER, STRANGER = 0xF4, 0x56, 0x57
BRM_49 = bytes(range(1, 50))


BUSES = []


def _bus(clock, name):
    """An endpoint on a channel of this test's own (a channel shared across tests leaks frames)."""
    bus = virtual_bus(f"tp-test-{id(clock)}", clock, name)
    BUSES.append(bus)
    return bus


class Node:
    """A TransportEndpoint on its own bus endpoint, recording what it delivers and finds."""

    def __init__(self, clock, address, **kw):
        self.bus = _bus(clock, f"node{address:02x}")
        self.messages, self.findings = [], []
        self.endpoint = tp.TransportEndpoint(
            self.bus, address, lambda *a: self.messages.append(a), self.findings.append, **kw
        )
        self.bus.on_receive(self._frame)

    def _frame(self, msg):
        _, pgn, dest, src = parse_id(msg.arbitration_id)
        if pgn in (TP_CM_PGN, TP_DT_PGN):
            self.endpoint.handle(pgn, bytes(msg.data), src, dest, msg.timestamp)

    def kinds(self):
        return [f.kind for f in self.findings]


class Wire:
    """A raw endpoint: sends hand-made frames as ``address`` and records everything on the bus."""

    def __init__(self, clock, address=STRANGER):
        self.clock = clock
        self.address = address
        self.bus = _bus(clock, "wire")
        self.seen = []
        self.bus.on_receive(lambda m: self.seen.append((m.timestamp, parse_id(m.arbitration_id), bytes(m.data))))

    def cm(self, dest, data):
        self.bus.send(can.Message(arbitration_id=frame_id(7, TP_CM_PGN, dest, self.address), data=data))

    def dt(self, dest, data):
        self.bus.send(can.Message(arbitration_id=frame_id(7, TP_DT_PGN, dest, self.address), data=data))

    def cms_from(self, src):
        return [(t, data) for t, (_, pgn, _, s), data in self.seen if pgn == TP_CM_PGN and s == src]


@pytest.fixture
def clock():
    yield VirtualClock()
    while BUSES:
        BUSES.pop().close()


def test_rts_cts_transfer_matches_the_real_capture_handshake(clock):
    bms, charger, wire = Node(clock, BMS), Node(clock, CHARGER), Wire(clock)
    bms.endpoint.send(0x0200, BRM_49, CHARGER, 7)
    clock.sleep(0.1)
    assert charger.messages == [(0x0200, BRM_49, BMS, CHARGER, 0.0, 0.0)]
    assert [d.hex().upper() for _, d in wire.cms_from(BMS)] == ["10310007FF000200"]
    assert [d.hex().upper() for _, d in wire.cms_from(CHARGER)] == ["110701FFFF000200", "13310007FF000200"]
    dts = [d for _, (_, pgn, _, _), d in wire.seen if pgn == TP_DT_PGN]
    assert [d[0] for d in dts] == [1, 2, 3, 4, 5, 6, 7]
    assert bms.findings == charger.findings == []
    assert not bms.endpoint.busy


def test_receiver_window_asks_for_packets_in_groups(clock):
    bms, charger, wire = Node(clock, BMS), Node(clock, CHARGER, max_packets_per_cts=2), Wire(clock)
    bms.endpoint.send(0x0200, BRM_49, CHARGER, 7)
    clock.sleep(0.1)
    ctss = [d for _, d in wire.cms_from(CHARGER) if d[0] == tp.CTS]
    assert [(d[1], d[2]) for d in ctss] == [(2, 1), (2, 3), (2, 5), (1, 7)]
    assert charger.messages[0][1] == BRM_49


def test_paced_packets_and_queued_transfers_arrive_in_order(clock):
    bms, charger = Node(clock, BMS, dt_interval_s=0.01), Node(clock, CHARGER)
    bms.endpoint.send(0x0600, b"A" * 13, CHARGER, 7)
    bms.endpoint.send(0x1100, b"B" * 9, CHARGER, 7)
    assert bms.endpoint.busy
    clock.sleep(0.5)
    assert [(m[0], m[1]) for m in charger.messages] == [(0x0600, b"A" * 13), (0x1100, b"B" * 9)]
    assert charger.messages[0][5] == pytest.approx(0.01)  # packet 2 of BCP 10 ms after packet 1
    assert not bms.endpoint.busy and charger.findings == []


def test_single_frames_need_no_transport(clock):
    bms, wire = Node(clock, BMS), Wire(clock)
    bms.endpoint.send(0x1000, bytes(5), CHARGER, 6)
    clock.sleep(0.01)
    assert [(pid, len(d)) for _, pid, d in wire.seen] == [((6, 0x1000, CHARGER, BMS), 5)]


def test_bam_is_received_and_sent(clock):
    charger, wire = Node(clock, CHARGER), Wire(clock, BMS)
    wire.cm(0xFF, tp.bam(13, 0x0600))
    for i, packet in enumerate(tp.dt_packets(b"C" * 13)):
        clock.call_later(0.05 * (i + 1), wire.dt, 0xFF, packet)
    clock.sleep(0.5)
    assert charger.messages == [(0x0600, b"C" * 13, BMS, 0xFF, 0.0, pytest.approx(0.1))]
    assert wire.cms_from(CHARGER) == []  # nobody answers a BAM
    sender = Node(clock, BMS + 1)
    sender.endpoint.send(0x0600, b"D" * 13, 0xFF, 7)
    clock.sleep(0.5)
    assert charger.messages[-1][:3] == (0x0600, b"D" * 13, BMS + 1)


def test_no_packet_after_cts_times_out_after_t2_and_aborts(clock):
    charger, wire = Node(clock, CHARGER), Wire(clock)
    wire.cm(CHARGER, tp.rts(49, 0x0200))
    clock.sleep(2.0)
    assert charger.kinds() == [fk.TP_TIMEOUT]
    assert charger.findings[0].time == pytest.approx(timing.TP_T2_S)
    abort = wire.cms_from(CHARGER)[-1]
    assert abort[1][:2] == bytes((tp.ABORT, tp.ABORT_TIMEOUT))
    assert charger.messages == []
    # the buffer is released: a new transfer works
    wire.cm(CHARGER, tp.rts(9, 0x1100))
    for packet in tp.dt_packets(b"E" * 9):
        wire.dt(CHARGER, packet)
    clock.sleep(0.1)
    assert charger.messages[-1][1] == b"E" * 9


def test_a_stalled_transfer_times_out_after_t1(clock):
    charger, wire = Node(clock, CHARGER), Wire(clock)
    wire.cm(CHARGER, tp.rts(49, 0x0200))
    wire.dt(CHARGER, tp.dt_packets(BRM_49)[0])
    clock.sleep(2.0)
    assert charger.kinds() == [fk.TP_TIMEOUT]
    assert charger.findings[0].time == pytest.approx(timing.TP_T1_S)


def test_missing_packet_aborts_with_bad_sequence(clock):
    charger, wire = Node(clock, CHARGER), Wire(clock)
    packets = tp.dt_packets(BRM_49)
    wire.cm(CHARGER, tp.rts(49, 0x0200))
    wire.dt(CHARGER, packets[0])
    wire.dt(CHARGER, packets[2])
    clock.sleep(0.1)
    assert charger.kinds() == [fk.TP_MISSING_PACKET]
    assert wire.cms_from(CHARGER)[-1][1][:2] == bytes((tp.ABORT, tp.ABORT_BAD_SEQUENCE))


def test_repeated_packet_is_reported_and_ignored(clock):
    charger, wire = Node(clock, CHARGER), Wire(clock)
    packets = tp.dt_packets(b"F" * 13)
    wire.cm(CHARGER, tp.rts(13, 0x0600))
    for packet in (packets[0], packets[0], packets[1]):
        wire.dt(CHARGER, packet)
    clock.sleep(0.1)
    assert charger.kinds() == [fk.TP_BAD_SEQUENCE]
    assert charger.messages[0][1] == b"F" * 13


def test_size_that_does_not_match_the_packet_count(clock):
    charger, wire = Node(clock, CHARGER), Wire(clock)
    wire.cm(CHARGER, bytes((tp.RTS, 49, 0, 5, 0xFF, 0, 2, 0)))
    clock.sleep(0.1)
    assert charger.kinds() == [fk.TP_SIZE_MISMATCH]
    assert wire.cms_from(CHARGER)[-1][1][0] == tp.ABORT


def test_unexpected_cts_and_data(clock):
    bms, wire = Node(clock, BMS), Wire(clock, CHARGER)
    wire.cm(BMS, tp.cts(7, 1, 0x0200))
    wire.dt(BMS, bytes(8))
    clock.sleep(0.1)
    assert bms.kinds() == [fk.TP_UNEXPECTED_CTS, fk.TP_UNEXPECTED_DATA]


def test_abort_received_ends_the_transfer(clock):
    bms, wire = Node(clock, BMS), Wire(clock, STRANGER)
    bms.endpoint.send(0x0200, BRM_49, STRANGER, 7)
    wire.cm(BMS, tp.abort(tp.ABORT_RESOURCES, 0x0200))
    clock.sleep(3.0)
    assert bms.kinds() == [fk.TP_ABORT_RECEIVED]
    assert bms.findings[0].details["reason"] == tp.ABORT_RESOURCES
    assert not bms.endpoint.busy


def test_sender_times_out_after_t3_without_cts(clock):
    bms, wire = Node(clock, BMS), Wire(clock)
    bms.endpoint.send(0x0200, BRM_49, STRANGER, 7)
    clock.sleep(2.0)
    assert bms.kinds() == [fk.TP_TIMEOUT]
    assert bms.findings[0].time == pytest.approx(timing.TP_T3_S)
    assert wire.cms_from(BMS)[-1][1][:2] == bytes((tp.ABORT, tp.ABORT_TIMEOUT))


def test_sender_held_by_cts0_times_out_after_t4(clock):
    bms, wire = Node(clock, BMS), Wire(clock, STRANGER)
    bms.endpoint.send(0x0200, BRM_49, STRANGER, 7)
    clock.call_later(0.1, wire.cm, BMS, tp.cts(0, 1, 0x0200))
    clock.sleep(3.0)
    assert bms.kinds() == [fk.TP_TIMEOUT]
    assert bms.findings[0].time == pytest.approx(0.1 + timing.TP_T4_S)


# -- the observer (monitor, trace decoder) ----------------------------------------------------
class Watch:
    def __init__(self):
        self.messages, self.findings = [], []
        self.observer = tp.TransportObserver(lambda *a: self.messages.append(a), self.findings.append)

    def cm(self, t, src, dest, data):
        self.observer.feed(TP_CM_PGN, data, src, dest, t)

    def dt(self, t, src, dest, data):
        self.observer.feed(TP_DT_PGN, data, src, dest, t)

    def kinds(self):
        return [f.kind for f in self.findings]


def test_observer_reassembles_the_real_capture_brm():
    w = Watch()
    w.cm(0.0, BMS, CHARGER, bytes.fromhex("10310007FF000200"))
    w.cm(0.001, CHARGER, BMS, bytes.fromhex("110701FFFF000200"))
    for i, packet in enumerate(tp.dt_packets(BRM_49)):
        w.dt(0.01 * (i + 1), BMS, CHARGER, packet)
    w.cm(0.08, CHARGER, BMS, bytes.fromhex("13310007FF000200"))
    assert w.messages == [(0x0200, BRM_49, BMS, CHARGER, 0.0, 0.07)]
    assert w.findings == []


def test_observer_reports_late_cts_missing_packet_and_stalled_transfer():
    w = Watch()
    w.cm(0.0, BMS, CHARGER, tp.rts(49, 0x0200))
    w.cm(0.5, CHARGER, BMS, tp.cts(7, 1, 0x0200))  # Tr is 200 ms
    w.dt(0.51, BMS, CHARGER, tp.dt_packets(BRM_49)[1])  # packet 1 never came
    w.cm(1.0, BMS, CHARGER, tp.rts(13, 0x0600))
    w.cm(1.001, CHARGER, BMS, tp.cts(2, 1, 0x0600))
    w.dt(1.01, BMS, CHARGER, tp.dt_packets(b"x" * 13)[0])
    w.observer.expire(5.0)
    assert w.kinds() == [fk.TP_LATE_RESPONSE, fk.TP_MISSING_PACKET, fk.TP_TIMEOUT]
    assert w.findings[-1].time == pytest.approx(1.01 + timing.TP_T1_S)
    assert w.observer.open_transfers == 0


def test_observer_follows_a_retransmission_request():
    w = Watch()
    packets = tp.dt_packets(b"y" * 20)
    w.cm(0.0, BMS, CHARGER, tp.rts(20, 0x0600))
    w.cm(0.0, CHARGER, BMS, tp.cts(3, 1, 0x0600))
    w.dt(0.01, BMS, CHARGER, packets[0])
    w.dt(0.02, BMS, CHARGER, packets[1])
    w.cm(0.03, CHARGER, BMS, tp.cts(2, 2, 0x0600))  # send packet 2 again, then 3
    w.dt(0.04, BMS, CHARGER, packets[1])
    w.dt(0.05, BMS, CHARGER, packets[2])
    assert w.messages and w.messages[0][1] == b"y" * 20
    assert w.findings == []
