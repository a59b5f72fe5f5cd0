"""Plain OCPP 1.6J piles, one behaviour each (issue 12, item 7): the WebSocket subprotocol, time
stamps without zone, values the bench cannot read, piles without the bench's DataTransfers,
and transaction ids across the sessions of a run. Frames are written by hand (RawChargePoint)
or sent by the ``ocpp`` package's client; loopback only."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
import websockets

from bench.api.platform import needs_capability
from bench.core.profile import OcppEndpoint, load_profile
from bench.platform.channel import open_channel
from bench.platform.errors import (
    HANDSHAKE_KINDS,
    PlatformExtensionMissing,
    PlatformProtocolError,
    PlatformRefused,
    PlatformUnsupported,
)
from bench.platform.log import MessageLog
from bench.platform.ocpp import OcppChannel
from bench.platform.transaction_ids import FILE_NAME, TransactionIds
from bench.protocols.platform import ocpp_mapping as m
from instruments import registry
from tests.platform.conftest import CHARGE_POINT_ID
from tests.platform.raw_charge_point import RawChargePoint, wait_for

ROOT = Path(__file__).resolve().parents[2]
ACCEPTED = {
    "SetChargingProfile": lambda uid: [3, uid, {"status": "Accepted"}],
    "TriggerMessage": lambda uid: [3, uid, {"status": "Rejected"}],
}


def connect_offering(url: str, subprotocols: list[str] | None) -> int:
    """Open the WebSocket offering ``subprotocols`` (None: no header); the HTTP status of a refusal."""

    async def attempt() -> int:
        try:
            connection = await websockets.connect(url, subprotocols=subprotocols, proxy=None, open_timeout=5)
        except websockets.InvalidStatus as refused:
            return refused.response.status_code
        await connection.close()
        return 101

    return asyncio.run(attempt())


# -- the subprotocol -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("offered", "kind", "cause"),
    [
        (None, "no_subprotocol", "the pile offered no WebSocket subprotocol (no Sec-WebSocket-Protocol header)"),
        (
            ["OCPP1.6"],
            "wrong_subprotocol",
            "offered the WebSocket subprotocol(s) 'OCPP1.6', not 'ocpp1.6' (OCPP-J 1.6 §3.1.2) "
            "('OCPP1.6' differs in case: the name is matched exactly)",
        ),
        (["ocpp2.0.1"], "wrong_subprotocol", "offered the WebSocket subprotocol(s) 'ocpp2.0.1', not 'ocpp1.6'"),
    ],
)
def test_a_subprotocol_mismatch_is_logged_and_named_by_wait_connected(ocpp_bench, tmp_path, offered, kind, cause):
    bench = ocpp_bench(log_path=tmp_path / "platform.log")
    assert connect_offering(bench.channel.url, offered) == 400
    with pytest.raises(PlatformProtocolError) as caught:
        bench.channel.wait_connected(5.0)  # at once, not after the timeout
    error = caught.value
    assert error.kind == kind and kind in HANDSHAKE_KINDS
    assert cause in str(error) and f"'{CHARGE_POINT_ID}'" in str(error) and "did not connect" not in str(error)
    logged = (tmp_path / "platform.log").read_text(encoding="utf-8")
    assert f"error: PlatformProtocolError: {kind}: refused charge point '{CHARGE_POINT_ID}'" in logged
    assert cause in logged
    bench.connected()  # a pile offering ocpp1.6 gets in, and the channel works
    bench.channel.start()


def test_ocpp16_among_other_subprotocols_is_taken(ocpp_bench):
    bench = ocpp_bench()
    assert connect_offering(bench.channel.url, ["ocpp2.0.1", "ocpp1.6"]) == 101
    assert "connected (subprotocol ocpp1.6)" in bench.log.text() and "subprotocol:" not in bench.log.text()


def test_a_mismatch_while_the_pile_is_connected_is_logged_not_raised(ocpp_bench):
    bench = ocpp_bench()
    bench.connected()
    assert connect_offering(bench.channel.url, None) == 400
    assert bench.channel.errors == [] and "no_subprotocol" in bench.log.text()
    bench.channel.start()


# -- values of accepted messages: findings, never raised from a later command ----------------
def test_a_start_without_zone_does_not_fail_the_next_command(ocpp_bench):
    bench = ocpp_bench()
    raw = RawChargePoint(bench.channel.url, ACCEPTED)
    raw.connect()
    try:
        bench.channel.wait_connected(5.0)
        raw.send(
            '[2,"s1","StartTransaction",{"connectorId":1,"idTag":"X","meterStart":0,"timestamp":"2026-01-05T01:00:00"}]'
        )
        wait_for(lambda: any('"s1"' in frame for frame in raw.received))
        assert bench.channel.set_power_limit(3000).value == 3000.0  # sent and answered
        assert any('"SetChargingProfile"' in frame for frame in raw.received)
        (event,) = bench.channel.events()
        assert event.pile_time == m.from_iso("2026-01-05T01:00:00Z")  # read as UTC
        assert event.detail.endswith("; pile time without zone, read as UTC")
        assert bench.channel.errors == [] and bench.channel.frame_errors == []
        (finding,) = bench.channel.findings
        assert finding.kind == "time_without_zone"
        assert "StartTransaction timestamp '2026-01-05T01:00:00' has no time zone" in str(finding)
        assert "finding: time_without_zone: StartTransaction timestamp" in bench.log.text()
    finally:
        raw.close()


METER_VALUES = {
    "a time without zone": (
        '{"timestamp":"2026-01-05T01:00:00","sampledValue":[{"value":"400.5","measurand":"Voltage"}]}',
        {"voltage_v": 400.5, "pile_time": m.from_iso("2026-01-05T01:00:00Z")},
    ),
    "a value that is no number": (
        '{"timestamp":"2026-01-05T01:00:00Z","sampledValue":[{"value":"four hundred","measurand":"Voltage"},'
        '{"value":"7.5","measurand":"Power.Active.Import","unit":"kW"}]}',
        {"voltage_v": None, "power_w": 7500.0, "pile_time": m.from_iso("2026-01-05T01:00:00Z")},
    ),
    "a unit OCPP does not have here": (
        '{"timestamp":"2026-01-05T01:00:00Z","sampledValue":[{"value":"16","measurand":"Current.Import",'
        '"unit":"Percent"},{"value":"400","measurand":"Voltage"}]}',
        {"current_a": None, "voltage_v": 400.0},
    ),
    "a time that is no time": (
        '{"timestamp":"yesterday","sampledValue":[{"value":"400","measurand":"Voltage"}]}',
        {"voltage_v": 400.0, "pile_time": None},
    ),
}


@pytest.mark.parametrize("case", list(METER_VALUES))
def test_meter_values_are_never_discarded(ocpp_bench, case):
    sample, expected = METER_VALUES[case]
    bench = ocpp_bench()
    raw = RawChargePoint(bench.channel.url, ACCEPTED)
    raw.connect()
    try:
        bench.channel.wait_connected(5.0)
        raw.send(f'[2,"v1","MeterValues",{{"connectorId":1,"meterValue":[{sample}]}}]')
        wait_for(lambda: bench.channel.latest_realtime is not None)
        wait_for(lambda: any('"v1"' in frame for frame in raw.received))
        assert json.loads(raw.received[-1]) == [3, "v1", {}]
        reading = bench.channel.latest_realtime
        for field, value in expected.items():
            assert getattr(reading, field) == value, field
        assert bench.channel.findings, "the problem is kept"
        assert bench.channel.errors == []  # nothing raised from the next command
        bench.channel.set_power_limit(1000)
    finally:
        raw.close()


# -- a pile without the bench's DataTransfers --------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "every"),
    [
        ({"status": "UnknownVendorId"}, True),
        ({"status": "UnknownMessageId"}, False),
    ],
)
def test_a_vendor_data_transfer_the_pile_does_not_take_is_named(ocpp_bench, answer, every):
    bench = ocpp_bench()
    raw = RawChargePoint(bench.channel.url, {"DataTransfer": lambda uid: [3, uid, answer]})
    raw.connect()
    try:
        bench.channel.wait_connected(5.0)
        with pytest.raises(PlatformExtensionMissing) as caught:
            bench.channel.wake_vehicle()
        error = caught.value
        assert isinstance(error, PlatformRefused) and error.kind == "not_offered"
        assert error.capability == "the platform's wake-up command"
        assert f"DataTransfer WakeVehicle answered {answer['status']}" in str(error)
        expected = set(m.VENDOR_CAPABILITIES) if every else {m.WAKE_VEHICLE}
        assert set(bench.channel.missing_extensions) == expected
        with pytest.raises(PlatformExtensionMissing, match="the 4.2.7 BMS data on request"):
            bench.channel.bms_info()  # nothing uploaded on its own either
        assert "the pile does not offer the bench's" in bench.log.text()
        assert bench.channel.errors == []
    finally:
        raw.close()


def test_without_get_clock_or_meter_values_the_clock_cannot_be_read(ocpp_bench):
    bench = ocpp_bench()
    raw = RawChargePoint(
        bench.channel.url, {"DataTransfer": lambda uid: [3, uid, {"status": "UnknownVendorId"}], **ACCEPTED}
    )
    raw.connect()
    try:
        bench.channel.wait_connected(5.0)
        with pytest.raises(PlatformUnsupported) as caught:  # the case that needs it is skipped
            bench.channel.read_clock()
        assert "cannot read the pile's clock" in str(caught.value)
        assert "TriggerMessage(MeterValues) answered Rejected" in str(caught.value)
    finally:
        raw.close()


def test_a_set_clock_the_pile_does_not_take_goes_through_heartbeat(ocpp_bench):
    bench = ocpp_bench()
    answers = {
        "DataTransfer": lambda uid: [4, uid, "NotImplemented", "no vendor extensions", {}],
        "TriggerMessage": lambda uid: [3, uid, {"status": "Accepted"}],
    }
    raw = RawChargePoint(bench.channel.url, answers)
    raw.connect()
    try:
        bench.channel.wait_connected(5.0)
        target = bench.clock.wall_time() + 42.0

        def pile_sends_heartbeat():  # what the pile does after accepting TriggerMessage(Heartbeat)
            wait_for(lambda: any('"TriggerMessage"' in frame for frame in raw.received))
            raw.send('[2,"h1","Heartbeat",{}]')

        helper = threading.Thread(target=pile_sends_heartbeat)
        helper.start()
        ack = bench.channel.set_clock(target)
        helper.join(5.0)
        assert ack.value == pytest.approx(target, abs=0.001)
        trigger = [json.loads(f) for f in raw.received if '"TriggerMessage"' in f][0]
        assert trigger[3] == {"requestedMessage": "Heartbeat"}
        wait_for(lambda: any('"h1"' in frame for frame in raw.received))  # the answer crossing loopback
        answer = [json.loads(f) for f in raw.received if '"h1"' in f][0]
        assert answer[2]["currentTime"] == m.to_iso(target)  # the virtual clock has not moved
    finally:
        raw.close()


# -- transaction ids --------------------------------------------------------------------------
def start_transactions(channel: OcppChannel, count: int) -> list[int]:
    """The transaction ids the Central System answers ``count`` StartTransactions with."""
    raw = RawChargePoint(channel.url)
    raw.connect()
    try:
        channel.wait_connected(5.0)
        ids = []
        for n in range(count):
            raw.send(
                f'[2,"t{n}","StartTransaction",{{"connectorId":1,"idTag":"X","meterStart":0,'
                '"timestamp":"2026-01-05T01:00:00Z"}]'
            )
            unique_id = f'"t{n}"'
            wait_for(lambda: any(unique_id in frame for frame in raw.received))  # noqa: B023 (waited for at once)
            ids.append(json.loads(raw.received[-1])[2]["transactionId"])
        return ids
    finally:
        raw.close()


def test_transaction_ids_are_unique_across_the_sessions_of_a_run(tmp_path, clock):
    """Two sessions of one run (each its own channel, as each profile has): ids go on counting."""
    profile = load_profile(ROOT / "profiles" / "sim-ac-7kw-ocpp.toml", registry.transports())
    run_folder = tmp_path / "run-1"
    ids = []
    for _session in range(2):
        log = MessageLog()
        channel = open_channel(profile.dut, clock, log, run_folder=run_folder)
        try:
            ids += start_transactions(channel, 2)
        finally:
            channel.close()
    assert ids == [1, 2, 3, 4]
    assert json.loads((run_folder / FILE_NAME).read_text()) == {"next": 5}


def test_without_a_run_folder_ids_count_from_one(clock):
    channel = OcppChannel(OcppEndpoint("127.0.0.1", 0, "CP-T"), clock, MessageLog(), rated_power_w=7000.0)
    try:
        assert start_transactions(channel, 2) == [1, 2]
    finally:
        channel.close()


def test_a_counter_file_that_is_no_counter_is_named(tmp_path):
    path = tmp_path / FILE_NAME
    path.write_text('{"next": "seven"}')
    with pytest.raises(ValueError, match=rf"{FILE_NAME}: 'next' must be an integer 1 … 2147483647, got 'seven'"):
        TransactionIds(path).next()


# -- a case that needs a vendor extension -------------------------------------------------------
def test_a_case_needing_a_vendor_extension_is_skipped_naming_it(ocpp_bench):
    bench = ocpp_bench()
    answers = {
        "DataTransfer": lambda uid: [4, uid, "NotImplemented", "no handler", {}],
        "SetChargingProfile": lambda uid: [3, uid, {"status": "Rejected"}],
    }
    raw = RawChargePoint(bench.channel.url, answers)
    raw.connect()
    try:
        bench.channel.wait_connected(5.0)
        with pytest.raises(pytest.skip.Exception) as skipped:
            with needs_capability("the wake-up command"):
                bench.channel.wake_vehicle()
        reason = str(skipped.value)
        assert reason.startswith("the wake-up command needs what the pile does not offer: not_offered: ")
        assert "the platform's wake-up command (vendor DataTransfer org.chargerbench WakeVehicle)" in reason
        with pytest.raises(PlatformRefused):  # anything else stays an error
            with needs_capability("the wake-up command"):
                bench.channel.set_power_limit(1000)
    finally:
        raw.close()
