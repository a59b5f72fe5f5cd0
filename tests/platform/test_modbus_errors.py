"""Modbus adapter: exception responses, a lost pile, values that do not fit, missing registers."""

from __future__ import annotations

import pytest

from bench.core.errors import BenchError, InstrumentLost
from bench.platform.errors import (
    ModbusExceptionResponse,
    PlatformLost,
    PlatformUnsupported,
    PlatformValueError,
)
from bench.protocols.modbus.registers import shipped_pile_map as shipped_map


def bench_map(tmp_path, old: str, new: str):
    """The DC charger's map with one change: the bench's copy no longer matches the pile."""
    text = shipped_map("sim-dc-charger").read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "bench-copy.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_exception_response_names_register_address_and_code(modbus_bench, tmp_path):
    bench = modbus_bench()
    channel = bench.open(bench_map(tmp_path, "address = 1100", "address = 1500"))  # vin where the pile has none
    with pytest.raises(ModbusExceptionResponse) as caught:
        channel.bms_info()
    error = caught.value
    assert isinstance(error, BenchError) and error.code == 0x02
    text = str(error)
    for part in (
        "'vin'",
        "input register 1500–1508",
        "Modbus exception 0x02 (illegal data address)",
        f"127.0.0.1:{bench.tcp_port} unit 1",
    ):
        assert part in text, text
    assert bench.log.records[-1].text.startswith("exception 0x02")


def test_a_code_the_pile_does_not_know_is_exception_03(modbus_bench, tmp_path):
    bench = modbus_bench()
    channel = bench.open(bench_map(tmp_path, "wake_vehicle = 30", "wake_vehicle = 99"))
    with pytest.raises(
        ModbusExceptionResponse,
        match=r"write of 'command' \(holding register 2000\) .* 0x03 "
        r"\(illegal data value\)",
    ):
        channel.wake_vehicle()
    assert bench.port.calls == []
    channel.start()  # the channel is still usable
    assert [name for _, name, _ in bench.port.calls] == ["start"]


def test_lost_connection_names_the_endpoint(modbus_bench):
    bench = modbus_bench()
    channel = bench.open(event_poll_s=None)
    channel.realtime()
    bench.hub.drop("pile")  # the pile disappears
    with pytest.raises(PlatformLost) as caught:
        channel.realtime()
    assert isinstance(caught.value, InstrumentLost)
    assert f"modbus 127.0.0.1:{bench.tcp_port} unit 1" in str(caught.value)
    assert "connection lost or no answer" in str(caught.value)
    with pytest.raises(PlatformLost, match=f"127.0.0.1:{bench.tcp_port}"):  # reconnecting fails too
        channel.stop()


def test_a_loss_seen_by_the_event_poll_is_raised_once_from_the_next_call(modbus_bench):
    bench = modbus_bench()
    channel = bench.open()
    bench.clock.sleep(1.5)
    bench.hub.drop("pile")
    bench.clock.sleep(3.0)  # three polls fail: one error for the outage
    assert len(channel.errors) == 1 and isinstance(channel.errors[0], PlatformLost)
    with pytest.raises(PlatformLost) as caught:
        channel.events(refresh=False)
    assert caught.value is channel.errors[0]
    assert channel.events(refresh=False) == []  # raised once; then the channel answers again
    assert "error: PlatformLost" in bench.log.text()


def test_a_setpoint_that_does_not_fit_is_refused_before_sending(modbus_bench):
    bench = modbus_bench()
    channel = bench.open(event_poll_s=None)
    sent = len(bench.front_end.log)
    with pytest.raises(PlatformValueError, match=r"power_limit = 1e\+06 W does not fit .* nothing was sent"):
        channel.set_power_limit(1e6)
    with pytest.raises(PlatformValueError):
        channel.set_current_limit(-5)
    assert len(bench.front_end.log) == sent and bench.port.calls == []


def test_a_command_the_map_lacks_is_unsupported(modbus_bench, tmp_path):
    bench = modbus_bench()
    channel = bench.open(bench_map(tmp_path, "wake_vehicle = 30\n", ""))
    with pytest.raises(PlatformUnsupported, match="no \\[codes.command\\] wake_vehicle"):
        channel.wake_vehicle()


def test_ac_map_has_no_bms_fields(modbus_bench):
    bench = modbus_bench("sim-ac-pile")
    channel = bench.open(event_poll_s=None)
    assert channel.bms_info() == {}
    assert channel.realtime().state == "preparing"
