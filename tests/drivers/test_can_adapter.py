"""The CAN adapter built from the profile's [can] settings."""

from __future__ import annotations

import uuid

import can
import pytest

from bench.core.canbus import virtual_bus
from bench.core.errors import InstrumentError, InstrumentLost
from bench.core.profile import CanSettings
from instruments.can import describe, open_can
from instruments.can.adapter import bus_arguments
from tests.support.transcript import new_clock


def settings(interface, channel, bitrate=250_000, **options):
    return CanSettings(interface=interface, channel=channel, bitrate=bitrate, options=options)


def test_virtual_adapter_exchanges_frames_on_bench_time():
    clock = new_clock()
    channel = f"adapter-{uuid.uuid4().hex}"
    adapter = open_can(settings("virtual", channel), clock)
    peer = virtual_bus(channel, clock, name="peer")
    try:
        assert describe(adapter) == f"virtual channel {channel} at 250000 bit/s (Virtual bus channel {channel})"
        got, seen = [], []
        adapter.on_receive(got.append)
        peer.on_receive(seen.append)
        clock.sleep(1.5)
        peer.send(can.Message(arbitration_id=0x182756F4, data=b"\x01\x01\x00", is_extended_id=True))
        adapter.send(can.Message(arbitration_id=0x1826F456, data=b"\x01\x01\x00", is_extended_id=True))
        clock.sleep(0.01)
        # bench-time stamps survive the virtual bus: the same run gives the same trace
        assert [(m.arbitration_id, bytes(m.data), m.timestamp) for m in got] == [(0x182756F4, b"\x01\x01\x00", 1.5)]
        assert [(m.arbitration_id, m.timestamp) for m in seen] == [(0x1826F456, 1.5)]
    finally:
        adapter.close()
        peer.close()


def test_an_unknown_interface_names_interface_and_channel():
    with pytest.raises(InstrumentError) as info:
        open_can(settings("nosuch-adapter", "3"), new_clock())
    assert not isinstance(info.value, InstrumentLost)
    assert str(info.value).startswith(
        "can: CAN interface 'nosuch-adapter' channel '3': python-can cannot use this adapter"
    )


def test_a_channel_that_cannot_be_opened_is_a_lost_adapter():
    # No SocketCAN device of that name (or no SocketCAN at all): python-can raises OSError.
    with pytest.raises(InstrumentLost) as info:
        open_can(settings("socketcan", "nosuchcan9"), new_clock())
    assert str(info.value).startswith(
        "can: cannot open CAN interface 'socketcan' channel 'nosuchcan9' at 250000 bit/s ("
    )
    assert "\n" not in str(info.value)


def test_bus_arguments_pass_the_profile_through():
    assert bus_arguments(settings("pcan", "PCAN_USBBUS1", fd=False)) == {
        "interface": "pcan",
        "channel": "PCAN_USBBUS1",
        "bitrate": 250_000,
        "fd": False,
    }
    assert bus_arguments(settings("kvaser", "0"))["channel"] == 0  # index-numbered adapters
