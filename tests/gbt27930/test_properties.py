"""Property tests: every message round-trips; random frames and TP sequences only give findings."""

import can
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.core.canbus import virtual_bus
from bench.core.clock import VirtualClock
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930 import transport as tp
from bench.protocols.gbt27930.catalogue import MESSAGES, TP_CM_PGN, TP_DT_PGN
from bench.protocols.gbt27930.codec import decode, encode
from bench.protocols.gbt27930.ids import frame_id
from bench.protocols.gbt27930.monitor import ConformanceMonitor

from .samples import message_values

FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TP_KINDS = {k for k in fk.KINDS if k.startswith("tp_")}
PGNS = [m.pgn for m in MESSAGES] + [0xFFA0, 0xFFA1, 0x3000, 0xEA00]


@pytest.mark.parametrize("spec", MESSAGES, ids=lambda m: m.name)
@FEW
@given(data=st.data())
def test_encode_then_decode_gives_the_values_back(spec, data):
    values, length = data.draw(message_values(spec))
    payload = encode(spec.name, values, length)
    _, decoded, problems = decode(spec.pgn, payload)
    assert problems == ()
    assert decoded == values


@settings(max_examples=300, deadline=None)
@given(pgn=st.sampled_from(PGNS), payload=st.binary(max_size=24))
def test_any_payload_decodes_without_raising(pgn, payload):
    result = decode(pgn, payload)
    if result is not None:
        _, values, problems = result
        assert {p[0] for p in problems} <= fk.KINDS
        assert isinstance(values, dict)


ADDRESSES = st.sampled_from([(0xF4, 0x56), (0x56, 0xF4), (0xF4, 0xFF), (0xB5, 0xF4)])


@st.composite
def cm_payload(draw):
    control = draw(st.sampled_from([tp.RTS, tp.CTS, tp.EOMA, tp.BAM, tp.ABORT, 0x42]))
    size = draw(st.integers(0, 2000))
    return (
        bytes((control,))
        + size.to_bytes(2, "little")
        + bytes((draw(st.integers(0, 255)), draw(st.integers(0, 255))))
        + draw(st.sampled_from([0x0200, 0x0600, 0x1100, 0xFFA1])).to_bytes(3, "little")
    )


@st.composite
def tp_frame(draw):
    src, dest = draw(ADDRESSES)
    if draw(st.booleans()):
        pgn, payload = TP_CM_PGN, draw(cm_payload())
    else:
        pgn, payload = TP_DT_PGN, bytes((draw(st.integers(0, 9)),)) + draw(st.binary(min_size=7, max_size=7))
    if draw(st.integers(0, 9)) == 0:
        payload = draw(st.binary(max_size=9))  # a wrong length now and then
    return draw(st.floats(0.0, 0.5)), pgn, src, dest, payload


@FEW
@given(frames=st.lists(tp_frame(), max_size=40))
def test_random_tp_sequences_give_only_transport_findings_to_an_observer(frames):
    found, delivered = [], []
    observer = tp.TransportObserver(lambda *a: delivered.append(a), found.append)
    t = 0.0
    for gap, pgn, src, dest, payload in frames:
        t += gap
        observer.feed(pgn, payload, src, dest, t)
    observer.expire(t + 10.0)
    assert {f.kind for f in found} <= TP_KINDS
    assert observer.open_transfers == 0


@FEW
@given(frames=st.lists(tp_frame(), max_size=40))
def test_random_tp_sequences_give_only_transport_findings_to_an_endpoint(frames):
    clock = VirtualClock()
    bus = virtual_bus(f"prop-{id(frames)}", clock)
    found = []
    endpoint = tp.TransportEndpoint(bus, 0x56, lambda *a: None, found.append)
    try:
        for gap, pgn, src, dest, payload in frames:
            clock.sleep(gap)
            endpoint.handle(pgn, payload, src, dest, clock.now())
        clock.sleep(10.0)
        assert {f.kind for f in found} <= TP_KINDS
        assert not endpoint.busy
    finally:
        endpoint.close()
        bus.close()


@st.composite
def any_frame(draw):
    if draw(st.integers(0, 4)) == 0:
        _, pgn, src, dest, payload = draw(tp_frame())
        return frame_id(7, pgn, dest, src), payload, True
    pgn = draw(st.sampled_from(PGNS))
    src, dest = draw(ADDRESSES)
    can_id = frame_id(draw(st.integers(0, 7)), pgn, dest, src)
    extended = draw(st.integers(0, 19)) > 0
    return (can_id if extended else can_id & 0x7FF), draw(st.binary(max_size=8)), extended


@FEW
@given(frames=st.lists(any_frame(), max_size=60), gaps=st.lists(st.floats(0, 0.3), min_size=60, max_size=60))
def test_random_frames_give_the_monitor_only_findings(frames, gaps):
    monitor = ConformanceMonitor(on_change=lambda e: None)
    t = 0.0
    for (can_id, payload, extended), gap in zip(frames, gaps):
        t += gap
        monitor.feed(can.Message(timestamp=t, arbitration_id=can_id, data=payload, is_extended_id=extended))
    findings = monitor.findings
    assert {f.kind for f in findings} <= fk.KINDS
    assert all(f.time <= t + 2.0 for f in findings)
