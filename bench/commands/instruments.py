"""`bench instruments --profile P`: open every instrument and show who answers.

For a simulated profile the simulated bench is started first (through the launcher), so
the same drivers talk to it over pyvisa-py, pymodbus and python-can. Nothing is energised.

Exit codes:
  0  every instrument answered, with the expected model (and serial), calibrated on today's date
  1  an instrument (or the CAN adapter) did not open or answer
  2  a profile mistake (one line: file, key, what was expected)
  3  a model or serial does not match, or a calibration is overdue (in a type-test profile also:
     no expected model or no calibration date); a type test on this bench would refuse to start
"""

from __future__ import annotations

from bench.core.errors import BenchError

NAME = "instruments"
HELP = "open every instrument of a profile and print its identity and calibration status"


def add_arguments(parser) -> None:
    parser.add_argument("--profile", required=True, help="bench profile (TOML)")


def run(args) -> int:
    from bench.core.clock import RealClock, VirtualClock
    from bench.core.profile import load_profile
    from bench.session.instrument_guard import REFUSED_EXIT_CODE, identity_record, instrument_problems
    from bench.session.launcher import launch_simulated_bench
    from instruments import registry

    profile = load_profile(args.profile, registry.transports())
    clock = VirtualClock() if profile.bench.simulated else RealClock()
    sim = None
    rows, not_opened = [], 0
    records, opened = [], []
    try:
        if profile.bench.simulated:
            sim, profile = launch_simulated_bench(profile, clock)
        for role, config in profile.instruments.items():
            driver = registry.driver_class(config.driver)(config, clock)
            try:
                driver.open()
                opened.append(driver)
                record = identity_record(config, driver.identity)
            except BenchError as exc:
                not_opened += 1
                rows.append((role, config.driver, config.resource, f"NOT OPENED: {exc}", "", ""))
                continue
            records.append(record)
            match = "" if not config.model else ("matches" if record["model_matches"] else f"EXPECTED {config.model!r}")
            rows.append((role, config.driver, config.resource, record["identity"], match, record["calibration"]))
        if profile.can is not None:
            row = _can_row(profile, clock)
            not_opened += row[3].startswith("NOT OPENED")
            rows.append(row)
    finally:
        for driver in opened:
            try:
                driver.close()
            except BenchError:
                pass
        if sim is not None:
            sim.stop()
    _print(profile, rows)
    problems = instrument_problems(records, profile.bench.mode)
    for problem in problems:
        print(f"  PROBLEM {problem.line()}")
    if not_opened:
        return 1
    return REFUSED_EXIT_CODE if problems else 0


def _can_row(profile, clock):
    from instruments.can.adapter import describe, open_can

    try:
        bus = open_can(profile.can, clock)
    except BenchError as exc:
        return ("can", profile.can.interface, profile.can.channel, f"NOT OPENED: {exc}", "", "")
    try:
        return ("can", "python-can", f"{profile.can.interface}:{profile.can.channel}", describe(bus), "", "")
    finally:
        bus.close()


def _print(profile, rows) -> None:
    print(
        f"profile {profile.path} — {profile.dut.manufacturer} {profile.dut.model} ({profile.dut.kind.upper()})"
        + (" — simulated bench" if profile.bench.simulated else "")
    )
    for role, driver, resource, identity, match, calibration in rows:
        print(f"  {role:<9} {driver:<23} {resource}")
        print(f"            identity: {identity}")
        if match:
            print(f"            model: {match}")
        if calibration:
            print(f"            calibration: {calibration}")
