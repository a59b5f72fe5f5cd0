"""`bench sim --profile P`: serve the simulated bench in its own process, paced to wall time.

Anyone can then point a VISA, Modbus or OCPP tool (or another bench) at it: the command prints
the resource string of every simulated instrument, the pile's control endpoint and, for a DC
charger, the socketcand endpoint that offers the simulated CAN bus on loopback. Ctrl-C stops it.
"""

from __future__ import annotations

import sys

from bench.core.errors import BenchError

NAME = "sim"
HELP = "serve a simulated profile's instruments on loopback, paced to wall time, until Ctrl-C"


def add_arguments(parser) -> None:
    parser.add_argument("--profile", required=True, help="a simulated bench profile (TOML)")
    parser.add_argument(
        "--central-system",
        metavar="URL",
        help="OCPP piles: connect the simulated charge point to this Central System URL",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="stop after this many seconds (default: run until Ctrl-C)",
    )


def run(args) -> int:
    from bench.core.clock import RealClock
    from bench.core.profile import load_profile
    from bench.session.launcher import launch_simulated_bench
    from instruments import registry

    profile = load_profile(args.profile, registry.transports())
    if not profile.bench.simulated:
        raise BenchError(f"{profile.path}: bench.simulated: true (bench sim serves simulated profiles only)")
    clock = RealClock()
    sim, served = launch_simulated_bench(profile, clock)
    bridge = None
    try:
        if served.can is not None:
            from bench.session.launcher import socketcand_bridge

            bridge = socketcand_bridge(served.can.channel, clock)
        if args.central_system and served.dut.control == "ocpp16":
            sim.connect_central_system(args.central_system)
        _print_endpoints(served, bridge)
        deadline = None if args.duration is None else clock.now() + args.duration
        while deadline is None or clock.now() < deadline:
            clock.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        if bridge is not None:
            bridge.stop()
        sim.stop()
    print("bench sim: stopped", flush=True)
    return 0


def _print_endpoints(profile, bridge) -> None:
    out = sys.stdout
    out.write(
        f"bench sim: serving {profile.dut.manufacturer} {profile.dut.model} ({profile.dut.kind.upper()}) "
        f"from {profile.path}\n"
    )
    for role, config in profile.instruments.items():
        out.write(f"  {role:<9} {config.driver:<23} {config.resource}\n")
    dut = profile.dut
    if dut.control == "modbus":
        out.write(
            f"  pile control  Modbus TCP {dut.modbus.host}:{dut.modbus.port} unit {dut.modbus.unit_id} "
            f"(map {dut.modbus.map_file.name})\n"
        )
    else:
        out.write(
            f"  pile control  OCPP 1.6J charge point {dut.ocpp.charge_point_id!r}: start with "
            f"--central-system ws://HOST:PORT to connect it\n"
        )
    if bridge is not None:
        settings = bridge.client_settings()
        out.write(
            f"  can       socketcand {bridge.describe()} — python-can: "
            f"can.Bus(interface='socketcand', host='{settings.options.get('host')}', "
            f"port={settings.options.get('port')}, channel='{settings.channel}')\n"
        )
    out.write("bench sim: ready (Ctrl-C to stop)\n")
    out.flush()
