"""The conformance monitor on hand-made traffic: each deviation is a finding of its own kind."""

import can
import pytest

from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930 import transport as tp
from bench.protocols.gbt27930.catalogue import BY_NAME, TP_CM_PGN, TP_DT_PGN
from bench.protocols.gbt27930.codec import encode
from bench.protocols.gbt27930.ids import BMS_ADDRESS, CHARGER_ADDRESS, frame_id
from bench.protocols.gbt27930.monitor import ConformanceMonitor

CHM = encode("CHM", {"protocol_version": "1.1"})
BHM = encode("BHM", {"max_charge_voltage": 400.0})
BCL = encode("BCL", {"voltage_demand": 400.0, "current_demand": -20.0, "mode": "cc"})
CCS = encode(
    "CCS", {"output_voltage": 380.0, "output_current": -20.0, "charging_time": 1, "charging_permitted": "permitted"}
)


class Feeder:
    def __init__(self, **kw):
        self.monitor = ConformanceMonitor(**kw)

    def send(self, t, name, data, *, priority=None, src=None, dest=None):
        spec = BY_NAME[name]
        charger = spec.sender == "charger"
        src = src if src is not None else (CHARGER_ADDRESS if charger else BMS_ADDRESS)
        dest = dest if dest is not None else (BMS_ADDRESS if charger else CHARGER_ADDRESS)
        self.raw(t, frame_id(priority or spec.priority, spec.pgn, dest, src), data)

    def raw(self, t, can_id, data, extended=True):
        self.monitor.feed(can.Message(timestamp=t, arbitration_id=can_id, data=data, is_extended_id=extended))

    def every(self, name, data, start, stop, period):
        n = round((stop - start) / period)
        for i in range(n):
            self.send(start + i * period, name, data)

    def kinds(self):
        return [f.kind for f in self.monitor.findings]


def handshake(f, until=2.0):
    for i in range(round(until / 0.25)):  # in time order, as a bus delivers them
        f.send(i * 0.25, "CHM", CHM)
        f.send(i * 0.25 + 0.01, "BHM", BHM)


def test_periods_within_tolerance_give_no_finding():
    f = Feeder()
    f.every("CHM", CHM, 0.0, 5.0, 0.26)  # +4 %
    assert f.monitor.findings == []
    stats = f.monitor.stats()["CHM"]
    assert stats["count"] == 19 and stats["mean_period_s"] == pytest.approx(0.26)


def test_mean_period_outside_the_tolerance_is_a_finding():
    f = Feeder()
    f.every("CHM", CHM, 0.0, 5.0, 0.30)  # +20 %
    assert f.kinds() == [fk.PERIOD_DEVIATION]
    assert f.monitor.findings[0].details["mean_s"] == pytest.approx(0.30)
    lenient = Feeder(period_tolerance=0.25)
    lenient.every("CHM", CHM, 0.0, 5.0, 0.30)
    assert lenient.monitor.findings == []


def test_worst_deviation_is_recorded():
    f = Feeder()
    for t in (0.0, 0.25, 0.5, 0.8, 1.0, 1.25, 1.5):
        f.send(t, "CHM", CHM)
    assert f.monitor.stats()["CHM"]["worst_deviation_s"] == pytest.approx(0.05)


def test_a_pause_is_not_an_interval():
    f = Feeder()
    f.every("CHM", CHM, 0.0, 2.0, 0.25)
    f.every("CHM", CHM, 10.0, 12.0, 0.25)  # the message stopped and restarted
    assert f.monitor.findings == [] and f.monitor.stats()["CHM"]["intervals"] == 14


def test_wrong_length_priority_direction_and_unknown_pgn():
    f = Feeder()
    f.send(0.0, "CHM", CHM + b"\xff")
    f.send(0.1, "BHM", BHM, priority=7)
    f.send(0.2, "CRM", bytes(8), src=BMS_ADDRESS, dest=CHARGER_ADDRESS)
    f.raw(0.3, frame_id(6, 0x3000, CHARGER_ADDRESS, BMS_ADDRESS), bytes(8))
    f.raw(0.4, 0x123, bytes(8), extended=False)
    f.raw(0.5, frame_id(6, 0x2600, 0x11, 0x22), CHM)
    kinds = f.kinds()
    for kind in (fk.WRONG_LENGTH, fk.WRONG_PRIORITY, fk.WRONG_DIRECTION, fk.UNKNOWN_MESSAGE, fk.FOREIGN_FRAME):
        assert kind in kinds, kind
    assert kinds.count(fk.FOREIGN_FRAME) == 2


def test_values_out_of_range_are_counted_once():
    f = Feeder()
    handshake(f)
    bad = encode(
        "BSD",
        {"soc": 100, "min_cell_voltage": 3.3, "max_cell_voltage": 3.4, "min_temperature": 20, "max_temperature": 25},
    )
    bad = bytes((120,)) + bad[1:]
    for t in (3.0, 3.25, 3.5):
        f.send(t, "BSD", bad)
    found = [x for x in f.monitor.findings if x.kind == fk.VALUE_OUT_OF_RANGE]
    assert len(found) == 1 and found[0].details["count"] == 3


def test_phase_order():
    f = Feeder()
    f.send(0.0, "BCL", BCL)  # no handshake
    handshake(f)
    f.send(2.5, "BRO", encode("BRO", {"ready": "ready"}))
    f.send(3.0, "BCL", BCL)
    f.send(3.1, "BRO", encode("BRO", {"ready": "ready"}))  # configuration after charging began
    msgs = [x.message for x in f.monitor.findings if x.kind == fk.PHASE_ORDER]
    assert any("starts with BCL" in m for m in msgs)
    assert any("BRO (configuration) after the charging phase began" in m for m in msgs)


def test_skipped_phase():
    f = Feeder()
    handshake(f)
    f.send(2.5, "BCL", BCL)
    assert any("configuration skipped" in x.message for x in f.monitor.findings if x.kind == fk.PHASE_ORDER)


def test_restart_after_an_error_is_not_out_of_order():
    f = Feeder()
    handshake(f)
    f.send(2.5, "BRO", encode("BRO", {"ready": "ready"}))
    f.send(3.0, "CEM", encode("CEM", {"bro_timeout": "timeout"}))
    f.send(4.0, "CRM", encode("CRM", {"recognition": "not_recognized", "charger_number": 1}))
    kinds = f.kinds()
    assert kinds == [fk.TIMEOUT_REPORTED]
    assert f.monitor.findings[0].details["flags"] == ["bro_timeout"]
    assert [p for _, p in f.monitor.phases] == ["handshake", "configuration", "error", "handshake"]


def test_a_charging_message_that_stops_is_a_timeout():
    f = Feeder()
    handshake(f)
    f.send(2.5, "BRO", encode("BRO", {"ready": "ready"}))
    f.every("BCL", BCL, 3.0, 5.0, 0.05)
    f.every("CCS", CCS, 3.01, 8.0, 0.05)  # BCL stops at 5 s, CCS goes on
    found = [x for x in f.monitor.findings if x.kind == fk.MESSAGE_TIMEOUT]
    assert len(found) == 1 and found[0].message.startswith("BCL")
    assert found[0].time == pytest.approx(4.95 + 1.0)


def test_charging_messages_may_stop_after_bst():
    f = Feeder()
    handshake(f)
    f.send(2.5, "BRO", encode("BRO", {"ready": "ready"}))
    f.every("BCL", BCL, 3.0, 5.0, 0.05)
    f.send(5.0, "BST", encode("BST", {"soc_reached": "yes"}))
    f.every("CCS", CCS, 3.01, 8.0, 0.05)
    assert fk.MESSAGE_TIMEOUT not in f.kinds()


def test_transport_anomalies_reach_the_monitor():
    f = Feeder()
    rts = frame_id(7, TP_CM_PGN, CHARGER_ADDRESS, BMS_ADDRESS)
    f.raw(0.0, rts, tp.rts(49, 0x0200))
    f.raw(0.1, frame_id(7, TP_DT_PGN, CHARGER_ADDRESS, BMS_ADDRESS), bytes((1,)) + bytes(7))
    f.raw(5.0, frame_id(6, 0x2600, BMS_ADDRESS, CHARGER_ADDRESS), CHM)  # time passes
    assert fk.TP_BAD_SEQUENCE in f.kinds()  # a packet before any CTS
    f.raw(6.0, rts, tp.rts(13, 0x0600))  # no CTS ever comes
    f.raw(6.1, frame_id(6, 0x2600, BMS_ADDRESS, CHARGER_ADDRESS), CHM)
    assert fk.TP_TIMEOUT not in f.kinds()
    f.raw(8.0, frame_id(6, 0x2600, BMS_ADDRESS, CHARGER_ADDRESS), CHM)
    timeouts = [x for x in f.monitor.findings if x.kind == fk.TP_TIMEOUT]
    assert len(timeouts) == 1 and timeouts[0].time == pytest.approx(6.0 + 1.25)


def test_reassembled_messages_are_decoded_and_timed_from_the_rts():
    events = []
    f = Feeder(on_change=events.append)
    data = encode(
        "BCS",
        {
            "voltage": 380.0,
            "current": -10.0,
            "highest_cell_voltage": 3.4,
            "highest_cell_group": 1,
            "soc": 50,
            "remaining_time": 30,
        },
    )
    for k in range(6):
        t = k * 0.25
        f.raw(t, frame_id(7, TP_CM_PGN, CHARGER_ADDRESS, BMS_ADDRESS), tp.rts(9, 0x1100))
        f.raw(t + 0.001, frame_id(7, TP_CM_PGN, BMS_ADDRESS, CHARGER_ADDRESS), tp.cts(2, 1, 0x1100))
        for i, packet in enumerate(tp.dt_packets(data)):
            f.raw(t + 0.01 * (i + 1), frame_id(7, TP_DT_PGN, CHARGER_ADDRESS, BMS_ADDRESS), packet)
    assert len(events) == 1 and events[0].via_tp and events[0].values["current"] == -10.0
    stats = f.monitor.stats()["BCS"]
    assert stats["count"] == 6 and stats["mean_period_s"] == pytest.approx(0.25)
