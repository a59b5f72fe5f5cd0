"""Both adapters, one behaviour: every command reaches the pile, uploads and events come back
with the pile's time stamp and the bench's arrival time, every message is in the log."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from bench.core.profile import Dut, ModbusEndpoint, OcppEndpoint
from bench.platform import MessageLog, open_channel
from bench.platform.channel import Realtime
from bench.platform.log import FROM_PILE, NOTE, TO_PILE
from bench.platform.modbus import ModbusChannel
from bench.platform.ocpp import OcppChannel
from bench.protocols.modbus.registers import shipped_pile_map as shipped_map
from tests.platform import scenario
from tests.platform.conftest import RTC_OFFSET_S
from tests.platform.fake_port import BATTERY_VALUES, BMS_VALUES


@pytest.fixture(params=["modbus", "ocpp16"])
def rig(request, modbus_bench, ocpp_bench, tmp_path):
    log_path = tmp_path / "platform.log"
    if request.param == "modbus":
        bench = modbus_bench(log_path=log_path)
        channel = bench.open()
    else:
        bench = ocpp_bench(log_path=log_path)
        bench.connected()
        channel = bench.channel
    return SimpleNamespace(
        kind=request.param,
        bench=bench,
        channel=channel,
        clock=bench.clock,
        port=bench.port,
        log=bench.log,
        log_path=log_path,
    )


@pytest.fixture
def ran(rig):
    rig.out = scenario.run(rig.channel, rig.clock, rig.port)
    return rig


def test_every_command_reaches_the_pile_as_sent(ran):
    out, calls = ran.out, ran.port.calls
    names = [name for _, name, _ in calls]
    assert names == [
        "start",
        "set_power_limit",
        "set_current_limit",
        "wake_vehicle",
        "timed_start",
        "timed_power_change",
        "set_clock",
        "stop",
    ]
    args = {name: a for _, name, a in calls}
    assert args["set_power_limit"] == (30_000.0,)
    assert args["set_current_limit"] == (16.1,)  # 0.1 A resolution, half up
    assert args["timed_start"] == (float(round(out["timed_start_at"])),)
    assert args["timed_power_change"] == (float(round(out["change_at"])), 20_000.0)
    assert args["set_clock"][0] == pytest.approx(out["sync_to"], abs=0.001)
    # each Ack says what the pile received and when it acknowledged
    assert out["set_current_limit"].value == 16.1
    assert out["timed_power_change"].value == (round(out["change_at"]), 20_000.0)
    assert out["timed_start"].value == round(out["timed_start_at"])
    assert [ran.port.calls[i][0] for i in (0, 7)] == [out["start"].bench_time, out["stop"].bench_time] == [0.0, 14.0]


def test_realtime_carries_pile_time_and_bench_arrival(ran):
    reading = ran.out["realtime_charging"]
    assert isinstance(reading, Realtime)
    assert (reading.voltage_v, reading.power_w, reading.state) == (400.0, 60_000.0, "charging")
    assert reading.current_a == pytest.approx(150.0)
    assert reading.pile_time == pytest.approx(ran.out["pile_time_at_realtime"], abs=0.001)
    assert reading.pile_time == pytest.approx(ran.clock.epoch + 3.0 + RTC_OFFSET_S, abs=0.001)
    assert reading.bench_time_of_arrival == 3.0


def test_timed_power_change_takes_effect_at_its_time(ran):
    assert ran.out["realtime_before_change"].power_w == 30_000.0
    assert ran.out["realtime_after_change"].power_w == 20_000.0
    assert ran.out["realtime_after_change"].bench_time_of_arrival == 14.0


def test_clock_set_and_read(ran):
    assert ran.out["read_clock"] == pytest.approx(ran.out["sync_to"], abs=0.002)
    assert ran.out["set_clock"].value == pytest.approx(ran.out["sync_to"], abs=0.001)


def test_bms_fields_arrive_unchanged(ran):
    assert ran.out["bms_info"] == BMS_VALUES


def test_events_carry_pile_time_and_arrival_time(ran):
    events = ran.out["events"]
    assert [e.kind for e in events] == ["start", "anomaly", "protection", "communication_fault", "stop"]
    # the fake stamps start/stop when it carries the command out, 2 s after it
    expected = [2.0] + [at for at, _, _ in scenario.EVENTS] + [16.0]
    for event, at in zip(events, expected):
        assert at <= event.bench_time <= at + 1.0, event  # polled (Modbus 1 s) or pushed (OCPP 0.5 s check)
    for event, at in zip(events[:-1], expected):  # before the clock sync
        assert event.pile_time == pytest.approx(ran.clock.epoch + at + RTC_OFFSET_S, abs=0.001), event
    assert "insulation resistance low" in events[1].detail
    assert "over-voltage" in events[2].detail
    stamped_after_sync = events[-1].pile_time  # the clock sync moved the pile's clock
    assert stamped_after_sync == pytest.approx(ran.out["sync_to"] + 2.0, abs=0.01)


def test_log_file_is_written_as_messages_go(ran):
    written = ran.log_path.read_text(encoding="utf-8")  # before close: flushed per message
    assert written == ran.log.text()
    assert written.count("\n") == len(ran.log) > 20


def test_every_request_has_its_answer_in_the_log(ran):
    records = [r for r in ran.log.records if r.direction != NOTE]
    if ran.kind == "modbus":
        sent = [r for r in records if r.direction == TO_PILE]
        requests = ran.bench.front_end.log  # what the pile actually received
        assert len(sent) == len(requests)
        for record, (_, pdu) in zip(sent, requests):
            assert pdu.hex() in record.text
        assert [r.direction for r in records] == [TO_PILE, FROM_PILE] * len(sent)
        return
    frames = [(r.direction, json.loads(r.text)) for r in records]
    calls = {f[1]: (d, f[2]) for d, f in frames if f[0] == 2}
    results = {f[1]: d for d, f in frames if f[0] in (3, 4)}
    assert calls.keys() == results.keys()
    assert all(results[uid] != direction for uid, (direction, _) in calls.items())
    bench_calls = [action for direction, action in calls.values() if direction == TO_PILE]
    assert bench_calls == [
        "RemoteStartTransaction",
        "TriggerMessage",
        "SetChargingProfile",
        "SetChargingProfile",
        "DataTransfer",
        "RemoteStartTransaction",
        "SetChargingProfile",
        "TriggerMessage",
        "TriggerMessage",
        "DataTransfer",
        "DataTransfer",
        "DataTransfer",
        "RemoteStopTransaction",
    ]
    pile_calls = {action for direction, action in calls.values() if direction == FROM_PILE}
    assert pile_calls >= {
        "BootNotification",
        "StatusNotification",
        "StartTransaction",
        "StopTransaction",
        "MeterValues",
        "DataTransfer",
    }


def test_the_battery_status_arrives_in_bench_units(rig):
    status = rig.channel.battery_status()
    assert status.values == BATTERY_VALUES
    assert status.bench_time_of_arrival == rig.clock.now()


def test_a_battery_status_field_the_pile_does_not_give_is_absent(rig):
    del rig.port.battery["soc"]
    rig.port.battery["lowest_temperature"] = None
    values = rig.channel.battery_status().values
    assert "soc" not in values and "lowest_temperature" not in values
    assert values["highest_temperature"] == 31.5


def test_a_missing_bms_field_is_absent(rig):
    del rig.port.bms["vin"]
    rig.port.bms["cooling_status"] = None
    info = rig.channel.bms_info()
    assert "vin" not in info and "cooling_status" not in info
    assert info["lowest_cell_voltage"] == 3.215


def dut(control: str, modbus=None, ocpp=None) -> Dut:
    return Dut(
        kind="dc",
        model="sim",
        manufacturer="sim",
        serial="1",
        firmware="",
        rated_power_kw=60.0,
        voltage_range_v=(200.0, 750.0),
        current_range_a=(0.0, 150.0),
        phases=3,
        nominal_supply_v=380.0,
        supply_frequency_hz=50.0,
        connector="GB/T 20234.3",
        protocol_edition="GB/T 27930-2015",
        control=control,
        modbus=modbus,
        ocpp=ocpp,
    )


def test_open_channel_picks_the_adapter_the_profile_names(modbus_bench, clock):
    bench = modbus_bench()
    endpoint = ModbusEndpoint("127.0.0.1", bench.tcp_port, 1, shipped_map("sim-dc-charger"))
    channel = open_channel(dut("modbus", modbus=endpoint), clock, bench.log, event_poll_s=None)
    try:
        assert isinstance(channel, ModbusChannel) and channel.realtime().voltage_v == 400.0
    finally:
        channel.close()
    channel = open_channel(dut("ocpp16", ocpp=OcppEndpoint("127.0.0.1", 0, "CP-7")), clock, MessageLog())
    try:
        assert isinstance(channel, OcppChannel)
        assert channel.port > 0 and channel.url == f"ws://127.0.0.1:{channel.port}/CP-7"
        assert channel.rated_power_w == 60_000.0
    finally:
        channel.close()
