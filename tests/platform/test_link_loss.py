"""4.2.5 platform link loss: the bench cuts the link and restores it (PlatformChannel.cut_link /
restore_link); the simulated pile notices (Modbus: no request for its link timeout; OCPP: the
connection closed), records it, and the bench reads it once the link is back. Nothing the cut
itself causes is raised later."""

from __future__ import annotations

import pytest

from bench.platform.errors import PlatformLost
from instruments.sim.platform.modbus_device import LINK_TIMEOUT_S


def test_modbus_cut_the_pile_records_it_and_the_bench_reads_it_after_restore(modbus_bench):
    rig = modbus_bench(link_watchdog=True)
    channel = rig.open()
    rig.clock.sleep(3.0)  # polled every second: the pile hears the platform
    assert rig.port.link == []
    cut = rig.clock.now()
    channel.cut_link()
    with pytest.raises(PlatformLost, match="cut the link"):
        channel.realtime()
    rig.clock.sleep(3 * LINK_TIMEOUT_S)
    assert len(rig.port.link) == 1 and rig.port.link[0][1].startswith("lost")
    assert LINK_TIMEOUT_S <= rig.port.link[0][0] - cut <= LINK_TIMEOUT_S + 1.0
    assert channel.events() == []  # nothing is read while the link is cut
    channel.restore_link()
    assert [e.kind for e in channel.events()] == ["communication_fault"]
    assert rig.port.link[-1][1] == "restored"
    assert channel.errors == []


def test_modbus_a_pile_without_the_watchdog_records_nothing(modbus_bench):
    rig = modbus_bench()
    channel = rig.open()
    channel.cut_link()
    rig.clock.sleep(3 * LINK_TIMEOUT_S)
    channel.restore_link()
    assert channel.events() == [] and rig.port.link == []


def test_ocpp_cut_the_pile_reconnects_after_restore_and_uploads(ocpp_bench):
    rig = ocpp_bench()
    rig.connected(check_period_s=1.0)
    rig.channel.cut_link()
    rig.clock.sleep(5.0)  # the pile tries again every second and is refused
    assert not rig.channel.connected
    assert [what for _, what in rig.port.link] == ["lost: connection to the central system closed"]
    with pytest.raises(PlatformLost):
        rig.channel.read_clock()
    rig.channel.restore_link()
    rig.clock.sleep(2.0)
    assert rig.channel.connected
    assert rig.port.link[-1][1] == "restored"
    assert "communication_fault" in [e.kind for e in rig.channel.events()]
    assert rig.channel.read_clock() == pytest.approx(rig.port.clock(), abs=1.0)
    assert rig.channel.errors == []
