"""Ten minutes of bench time, virtual: BMS emulator + charger state machine + conformance
monitor + trace writers (.asc, .blf, candump) on python-can's virtual bus. Prints wall seconds.

Target (issue 3): under 2 s of wall time.

    python benchmarks/bench_session.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))  # the test fakes: a small charger plant

from bench.protocols.gbt27930.bms_config import BmsConfig  # noqa: E402
from bench.protocols.gbt27930.trace import TraceRecorder  # noqa: E402
from tests.gbt27930.fakes import EmulatedSession  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    total = args.minutes * 60.0
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        emu = EmulatedSession(config=BmsConfig(send_bmv=True, send_bmt=True))
        recorder = TraceRecorder(emu.observer_bus, tmp, "session")
        emu.charge()
        steps = [(60.0 * k, 400.0, 20.0 + 20.0 * (k % 5), "cc") for k in range(int(args.minutes))]
        emu.bms.request_profile(steps)
        emu.clock.sleep_until(total - 5.0)
        emu.bms.stop()
        emu.clock.sleep_until(total)
        recorder.close()
        wall = time.perf_counter() - start
        findings = emu.monitor.findings
        sizes = {s: p.stat().st_size for s, p in recorder.paths.items()}
        print(f"{args.minutes:g} min of virtual bench time: {wall:.2f} s wall (target < 2 s)")
        print(
            f"  {recorder.frames:,} frames recorded; trace sizes "
            + ", ".join(f"{s} {n / 1e6:.1f} MB" for s, n in sizes.items())
        )
        print(
            f"  phases: {', '.join(p for _, p in emu.monitor.phases)}; BMS {emu.bms.phase}, "
            f"charger {emu.charger.phase}; monitor findings: {len(findings)}"
        )
        emu.close()


if __name__ == "__main__":
    main()
