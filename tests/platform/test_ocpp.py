"""OCPP 1.6J adapter: the Central System's own rules, its error paths, and delivery on the clock."""

from __future__ import annotations

import json

import pytest

from bench.core.clock import RealClock
from bench.core.errors import BenchError
from bench.platform.errors import PlatformLost, PlatformProtocolError, PlatformRefused
from bench.platform.log import NOTE, TO_PILE
from bench.protocols.platform import ocpp_mapping as m
from tests.platform.conftest import CHARGE_POINT_ID
from tests.platform.fake_port import FakePlatformPort
from tests.platform.raw_charge_point import RawChargePoint, wait_for


def frames(log, direction=None, action=None):
    out = []
    for record in log.records:
        if record.direction == NOTE or (direction and record.direction != direction):
            continue
        frame = json.loads(record.text)
        if action is None or (frame[0] == 2 and frame[2] == action):
            out.append(frame)
    return out


# -- error paths ----------------------------------------------------------------------------
def test_a_charge_point_with_another_id_is_refused_and_logged(ocpp_bench):
    bench = ocpp_bench()
    intruder = bench.charge_point("CP-9999")
    with pytest.raises(ConnectionRefusedError, match="HTTP 404"):
        intruder.connect()
    assert not bench.channel.connected
    assert len(bench.channel.errors) == 1
    assert "'CP-9999'" in bench.log.text() and "refused" in bench.log.text()
    with pytest.raises(PlatformRefused) as caught:
        bench.channel.start()
    assert isinstance(caught.value, BenchError)
    assert "'CP-9999'" in str(caught.value) and f"'{CHARGE_POINT_ID}'" in str(caught.value)
    assert bench.port.calls == []
    bench.connected()  # the right pile still gets in, and the channel works
    bench.channel.start()
    assert [name for _, name, _ in bench.port.calls] == ["start"]


def test_a_malformed_frame_is_reported_and_the_channel_stays_usable(ocpp_bench):
    bench = ocpp_bench()
    raw = RawChargePoint(bench.channel.url, {"RemoteStartTransaction": lambda uid: [3, uid, {"status": "Accepted"}]})
    raw.connect()
    try:
        bench.channel.wait_connected(5.0)
        raw.send("{this is not an OCPP frame")
        wait_for(lambda: bench.channel.errors)
        error = bench.channel.errors[0]
        assert isinstance(error, PlatformProtocolError)
        assert "malformed OCPP frame" in str(error) and "not valid JSON" in str(error)
        assert "{this is not an OCPP frame" in str(error) and bench.channel.url in str(error)
        assert "{this is not an OCPP frame" in bench.log.text()
        with pytest.raises(PlatformProtocolError):
            bench.channel.start()  # raised once, from the next call; nothing sent
        assert frames(bench.log, TO_PILE, "RemoteStartTransaction") == []
        bench.channel.start()  # the connection stayed open
        assert frames(bench.log, TO_PILE, "RemoteStartTransaction")
    finally:
        raw.close()


def test_a_call_breaking_the_schema_gets_a_callerror_and_is_reported(ocpp_bench):
    bench = ocpp_bench()
    raw = RawChargePoint(bench.channel.url)
    raw.connect()
    try:
        bench.channel.wait_connected(5.0)
        raw.send('[2,"x1","MeterValues",{"connectorId":"one","meterValue":[]}]')
        wait_for(lambda: raw.received)
        assert json.loads(raw.received[0])[:3] == [4, "x1", "TypeConstraintViolation"]
        assert isinstance(bench.channel.errors[0], PlatformProtocolError)
        assert "'one' is not of type 'integer'" in str(bench.channel.errors[0])
    finally:
        raw.close()


def test_a_lost_connection_names_the_endpoint(ocpp_bench):
    bench = ocpp_bench()
    cp = bench.connected()
    bench.channel.start()
    cp.drop()  # no close frame: the pile is gone
    wait_for(lambda: bench.channel.errors)
    with pytest.raises(PlatformLost) as caught:
        bench.channel.stop()
    text = str(caught.value)
    assert bench.channel.url in text and f"'{CHARGE_POINT_ID}'" in text
    assert "RemoteStopTransaction: no charge point connected" in text
    assert "disconnected (no close frame)" in str(bench.channel.errors[0])
    with pytest.raises(PlatformLost, match="TriggerMessage: no charge point connected"):
        bench.channel.realtime()


def test_a_refused_command_names_the_answer(ocpp_bench):
    bench = ocpp_bench()
    bench.connected()

    def refuse(watts):
        raise ValueError("above the rating")

    bench.port.set_power_limit = refuse
    with pytest.raises(PlatformRefused, match="SetChargingProfile answered Rejected"):
        bench.channel.set_power_limit(90_000)


def test_a_callerror_answer_is_refused_with_its_code(ocpp_bench):
    bench = ocpp_bench()
    raw = RawChargePoint(
        bench.channel.url, {"DataTransfer": lambda uid: [4, uid, "NotImplemented", "no vendor extensions", {}]}
    )
    raw.connect()
    try:
        bench.channel.wait_connected(5.0)
        with pytest.raises(
            PlatformRefused,
            match="DataTransfer WakeVehicle answered with CALLERROR NotImplemented: no vendor extensions",
        ):
            bench.channel.wake_vehicle()
    finally:
        raw.close()


def test_no_answer_is_a_lost_pile(ocpp_bench):
    bench = ocpp_bench()
    bench.channel.call_timeout_s = 0.3
    raw = RawChargePoint(bench.channel.url)  # answers nothing
    raw.connect()
    try:
        bench.channel.wait_connected(5.0)
        with pytest.raises(PlatformLost, match="RemoteStartTransaction: no answer within 0.3 s"):
            bench.channel.start()
    finally:
        raw.close()


# -- the mapping ----------------------------------------------------------------------------
def test_charging_profiles_as_documented(ocpp_bench):
    bench = ocpp_bench()
    bench.connected()
    at = bench.port.clock() + 30
    bench.channel.set_power_limit(7000)
    bench.channel.timed_power_change(at, 3000)
    bench.channel.set_current_limit(10)
    bench.channel.timed_start(at)
    sent = [f[3] for f in frames(bench.log, TO_PILE) if f[0] == 2]
    limit, timed, clear, current, start = sent[0], sent[1], sent[2], sent[3], sent[4]
    assert limit["csChargingProfiles"] == {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7000.0}]},
    }
    assert timed["csChargingProfiles"]["stackLevel"] == 1
    assert timed["csChargingProfiles"]["chargingSchedule"]["startSchedule"] == m.to_iso(round(at))
    assert clear == {"id": 2}
    assert current["csChargingProfiles"]["chargingSchedule"]["chargingRateUnit"] == "A"
    schedule = start["chargingProfile"]["chargingSchedule"]
    periods = schedule["chargingSchedulePeriod"]
    assert periods[0]["limit"] == 0 and periods[1]["limit"] == 60_000.0
    assert m.from_iso(schedule["startSchedule"]) + periods[1]["startPeriod"] == round(at)
    names = [(name, args) for _, name, args in bench.port.calls]
    assert names == [
        ("set_power_limit", (7000.0,)),
        ("timed_power_change", (float(round(at)), 3000.0)),
        ("set_current_limit", (10.0,)),
        ("timed_start", (float(round(at)),)),
    ]


def test_periodic_messages_are_delivered_at_their_clock_instant(ocpp_bench):
    bench = ocpp_bench()
    bench.connected(meter_interval_s=5.0)
    bench.clock.sleep(21.0)
    arrivals = [r.bench_time_of_arrival for r in bench.channel.meter_history]
    assert arrivals == [5.0, 10.0, 15.0, 20.0]  # delivered and answered before the clock moved on
    stamps = [r.pile_time - bench.clock.epoch for r in bench.channel.meter_history]
    assert stamps == pytest.approx([a + bench.port.offset for a in arrivals], abs=0.001)  # the pile's RTC


def test_meter_interval_by_change_configuration(ocpp_bench):
    bench = ocpp_bench()
    bench.connected(meter_interval_s=5.0)
    assert bench.channel.change_configuration("MeterValueSampleInterval", 2) == "Accepted"
    assert bench.channel.change_configuration("LocalAuthorizeOffline", "true") == "NotSupported"
    bench.clock.sleep(6.5)
    assert [r.bench_time_of_arrival for r in bench.channel.meter_history] == [2.0, 4.0, 6.0]


def test_on_a_real_clock_the_pile_pushes_on_its_own():
    from bench.core.profile import OcppEndpoint
    from bench.platform.log import MessageLog
    from bench.platform.ocpp import OcppChannel
    from instruments.sim.platform.ocpp_charge_point import SimChargePoint

    clock = RealClock()
    port = FakePlatformPort(clock, response_delay_s=0.05)
    channel = OcppChannel(OcppEndpoint("127.0.0.1", 0, "CP-R"), clock, MessageLog(), rated_power_w=60_000.0)
    cp = SimChargePoint(port, clock, channel.base_url, "CP-R", meter_interval_s=0.1, check_period_s=0.02)
    try:
        cp.connect()
        channel.wait_connected(5.0)
        channel.start()
        clock.wait_until(lambda: any(e.kind == "start" for e in channel.events()), 3.0, what="start event")
        clock.wait_until(lambda: len(channel.meter_history) >= 2, 3.0, what="meter values")
        assert channel.realtime().state == "charging"
    finally:
        cp.close()
        channel.close()
