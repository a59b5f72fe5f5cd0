"""The one place the bench starts the simulated bench (docs/design.md#layers-and-the-import-contract, layer 4).

For a profile with ``simulated = true`` it builds the simulated bench on loopback and
returns the profile with every resource string, the CAN channel and the pile's control
endpoint rewritten to what the simulated instruments listen on.
"""

from __future__ import annotations

from bench.core.clock import Clock
from bench.core.profile import Profile


def launch_simulated_bench(profile: Profile, clock: Clock):
    """Start the simulated bench; return (its handle, the rewritten profile)."""
    from instruments.sim.bench import SimulatedBench

    sim = SimulatedBench(profile, clock)
    try:
        endpoints = sim.start()
    except BaseException:
        sim.stop()
        raise
    return sim, profile.with_resources(endpoints.resources, can=endpoints.can, dut=endpoints.dut)


def socketcand_bridge(channel: str, clock: Clock):
    """The simulated CAN bus offered on loopback through the socketcand protocol (bench sim)."""
    from instruments.sim.socketcand import SocketcandServer

    bridge = SocketcandServer(channel, epoch=clock.epoch)
    bridge.start()
    return bridge
