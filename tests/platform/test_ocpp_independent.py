"""The bench's Central System against an independent OCPP 1.6J charge point (issue 12, item 7).

The pile is tests/platform/independent_charge_point.py: the ``ocpp`` package's ChargePoint on
its own thread, no project code, no vendor DataTransfer. Real clock, loopback, a few seconds.
It covers boot, status, meter values, remote start and stop, charging profiles, time sync
through the Central System's currentTime, the vendor-only commands (named as missing, never an
error) and the OCPP 1.6 security extension's messages.
"""

from __future__ import annotations

import json
import math

import pytest
from ocpp.v16 import call

from bench.core.clock import RealClock
from bench.core.profile import OcppEndpoint
from bench.platform.errors import PlatformExtensionMissing
from bench.platform.log import FROM_PILE, NOTE, TO_PILE, MessageLog
from bench.platform.ocpp import OcppChannel
from bench.protocols.platform import ocpp_mapping as m
from tests.platform.independent_charge_point import RunningChargePoint
from tests.platform.raw_charge_point import wait_for

CHARGE_POINT_ID = "PLAIN-0001"
PILE_CLOCK_OFF_S = -5000.0  # the pile's clock before it adopts the Central System's


@pytest.fixture
def plain(tmp_path):
    """(clock, channel, pile) builder: the Central System listening, the pile connected and booted."""
    made = []

    def build(**pile_options):
        clock = RealClock()
        log = MessageLog(tmp_path / "platform.log")
        channel = OcppChannel(
            OcppEndpoint("127.0.0.1", 0, CHARGE_POINT_ID), clock, log, rated_power_w=7000.0, call_timeout_s=3.0
        )
        pile = RunningChargePoint(channel.base_url, CHARGE_POINT_ID, clock_offset_s=PILE_CLOCK_OFF_S, **pile_options)
        made.append((channel, pile, log))
        pile.connect()
        channel.wait_connected(5.0)
        return clock, channel, pile

    yield build
    for channel, pile, log in made:
        pile.close()
        channel.close()
        log.close()


def sent(channel: OcppChannel, action: str) -> list[dict]:
    """The payloads of the CALLs ``action`` the Central System sent, oldest first."""
    out = []
    for record in channel.log.records:
        if record.direction == TO_PILE:
            frame = json.loads(record.text)
            if frame[0] == 2 and frame[2] == action:
                out.append(frame[3])
    return out


def answers_to(channel: OcppChannel, action: str) -> list[dict]:
    """The CALLRESULT payloads the Central System sent to the pile's CALLs ``action``."""
    ids, out = set(), []
    for record in channel.log.records:
        if record.direction == NOTE:
            continue
        frame = json.loads(record.text)
        if record.direction == FROM_PILE and frame[0] == 2 and frame[2] == action:
            ids.add(frame[1])
        elif record.direction == TO_PILE and frame[0] in (3, 4) and frame[1] in ids:
            out.append(frame)
    return out


def wait_for_event(clock, channel, kind: str):
    clock.wait_until(lambda: any(e.kind == kind for e in channel.events()), 3.0, poll=0.01, what=f"{kind} event")
    return [e for e in channel.events() if e.kind == kind][-1]


def test_a_session_with_an_independent_charge_point(plain):
    clock, channel, pile = plain()
    cp = pile.cp

    # boot: accepted, the Central System's time and heartbeat interval; the pile took the time
    assert channel.boot == {"vendor": "Elsewhere", "model": "Plain-7"}
    (boot_answer,) = answers_to(channel, "BootNotification")
    assert boot_answer[2]["status"] == "Accepted" and boot_answer[2]["interval"] == 300
    assert abs(m.from_iso(boot_answer[2]["currentTime"]) - clock.wall_time()) < 2.0
    assert cp.adopted == [boot_answer[2]["currentTime"]]

    # status and meter values
    clock.wait_until(lambda: channel.status.get(1) == "available", 3.0, poll=0.01, what="status")
    idle = channel.realtime()
    assert (idle.voltage_v, idle.power_w, idle.state, idle.energy_kwh) == (230.0, 0.0, "available", 1.234)
    assert abs(idle.pile_time - clock.wall_time()) < 2.0  # stamped on the pile's clock, synced at boot

    # remote start: the transaction the pile reports is the one the bench gave it
    channel.start()
    start = wait_for_event(clock, channel, "start")
    # The pile takes its transaction id from the StartTransaction answer on its own thread,
    # after the bench has sent it (and noted the start event).
    clock.wait_until(lambda: cp.transaction_id is not None, 3.0, poll=0.01, what="the pile's transaction id")
    assert channel.transaction_id == cp.transaction_id
    assert f"transaction {channel.transaction_id}" in start.detail and start.pile_time is not None
    assert sent(channel, "RemoteStartTransaction") == [{"connectorId": 1, "idTag": m.ID_TAG}]
    clock.wait_until(lambda: channel.status.get(1) == "charging", 3.0, poll=0.01, what="charging")

    # charging profiles: an immediate limit, a timed change, then a limit that clears it
    assert channel.set_power_limit(3700.04).value == 3700.0
    profile = cp.profiles[-1]
    assert profile["charging_profile_purpose"] == "TxProfile" and profile["transaction_id"] == cp.transaction_id
    assert profile["charging_schedule"]["charging_schedule_period"] == [{"start_period": 0, "limit": 3700.0}]
    assert channel.realtime().power_w == 3700.0
    change_at = float(math.ceil(clock.wall_time() + 120))
    channel.timed_power_change(change_at, 2000.0)
    timed = cp.profiles[-1]
    assert (timed["stack_level"], timed["charging_profile_kind"]) == (1, "Absolute")
    assert m.from_iso(timed["charging_schedule"]["start_schedule"]) == change_at
    channel.set_current_limit(16.0)
    assert cp.cleared == [m.TIMED_PROFILE_ID]
    assert cp.profiles[-1]["charging_schedule"]["charging_rate_unit"] == "A"

    # remote stop of that transaction
    transaction = channel.transaction_id
    channel.stop()
    stop = wait_for_event(clock, channel, "stop")
    assert f"transaction {transaction}" in stop.detail and channel.transaction_id is None
    assert sent(channel, "RemoteStopTransaction") == [{"transactionId": transaction}]

    # time sync the standard way: the pile has no DataTransfer, takes currentTime from a Heartbeat
    cp.clock_offset_s = PILE_CLOCK_OFF_S  # its clock drifted off again
    target = clock.wall_time() + 100.0
    ack = channel.set_clock(target)
    assert ack.value == pytest.approx(target, abs=0.001)
    heartbeat = answers_to(channel, "Heartbeat")[-1]
    assert m.from_iso(heartbeat[2]["currentTime"]) == pytest.approx(clock.wall_time() + 100.0, abs=0.5)
    wait_for(lambda: cp.adopted[-1] == heartbeat[2]["currentTime"])  # the answer crossing loopback
    assert channel.read_clock() == pytest.approx(clock.wall_time() + 100.0, abs=0.5)  # from its MeterValues
    assert set(channel.missing_extensions) == set(m.VENDOR_CAPABILITIES)

    # what only a vendor extension does is named as missing, not an error of the pile
    with pytest.raises(PlatformExtensionMissing) as caught:
        channel.wake_vehicle()
    assert caught.value.capability == "the platform's wake-up command"
    assert "WakeVehicle" in str(caught.value) and "NotImplemented" in str(caught.value)

    assert channel.errors == [] and channel.frame_errors == [] and channel.findings == []


def test_the_security_extension_messages_are_taken_and_logged(plain):
    clock, channel, pile = plain()
    cp = pile.cp
    stamp = cp.timestamp()
    pile.run(cp.send(call.SecurityEventNotification(type="FirmwareUpdated", timestamp=stamp, tech_info="v2.1")))
    pile.run(cp.send(call.LogStatusNotification(status="Uploading", request_id=7)))
    pile.run(cp.send(call.SignedFirmwareStatusNotification(status="Downloading", request_id=8)))
    signed = pile.run(cp.send(call.SignCertificate(csr="-----BEGIN CERTIFICATE REQUEST-----MIIB")))
    assert signed.status == "Rejected"  # the bench is no certificate authority
    for action in ("SecurityEventNotification", "LogStatusNotification", "SignedFirmwareStatusNotification"):
        (answer,) = answers_to(channel, action)
        assert answer[0] == 3, answer  # a CALLRESULT, no CALLERROR
    notes = [r.text for r in channel.log.records if r.direction == NOTE]
    assert any("security event 'FirmwareUpdated'" in text and "'v2.1'" in text for text in notes), notes
    assert "the pile sent LogStatusNotification: status 'Uploading', requestId 7" in notes
    assert "the pile sent SignedFirmwareStatusNotification: status 'Downloading', requestId 8" in notes
    assert any(text.startswith("the pile sent SignCertificate: a CSR of 39 characters") for text in notes)
    assert channel.errors == [] and channel.frame_errors == []


def test_a_pile_writing_times_without_zone(plain):
    """Times read as UTC with a finding; no upload is discarded; no later command fails."""
    clock, channel, pile = plain(zone="")
    cp = pile.cp
    channel.start()
    start = wait_for_event(clock, channel, "start")
    assert start.pile_time == pytest.approx(clock.wall_time(), abs=2.0)  # read as UTC
    assert "pile time without zone, read as UTC" in start.detail
    assert channel.set_power_limit(3000.0).value == 3000.0  # sent, and the pile has it
    assert cp.profiles[-1]["charging_schedule"]["charging_schedule_period"][0]["limit"] == 3000.0
    reading = channel.realtime()
    assert reading.power_w == 3000.0 and reading.pile_time == pytest.approx(clock.wall_time(), abs=2.0)
    assert channel.errors == []
    kinds = {finding.kind for finding in channel.findings}
    assert kinds == {"time_without_zone"}
    texts = [f.detail for f in channel.findings]
    assert any(t.startswith("time_without_zone: StartTransaction timestamp") for t in texts), texts
    assert any(t.startswith("time_without_zone: MeterValues timestamp") for t in texts), texts
    assert "finding: time_without_zone: StartTransaction timestamp" in channel.log.text()
