"""Benchmark (not part of the test command): 8 hours of bench time of continuous DC charging on
the simulated bench, through the real session API, with a platform power-limit change every
minute (the soak of tests/test_soak.py, eight times longer).

Prints the wall time; peak RSS and the RSS growth per hour (a straight-line fit of VmRSS
sampled every minute after a 10-minute warm-up); the frames each side sent and received, per
message, with every one accounted for (what one side sent, the other received); and the drift
of the periodic frames measured from their receive times (last − first − (n − 1) × period,
and the largest distance of a receive time from first + k × period).

    python benchmarks/bench_long_run.py [--hours 8]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))  # the soak's runner lives with its test

from tests.test_soak import GOAL_MB_PER_H, accounting_problems, growth, run_soak, sim_log_growth  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--keep", action="store_true", help="keep the run folder (traces, logs)")
    args = parser.parse_args()

    def progress(elapsed_s: float, rss_mb: float) -> None:
        minutes = round(elapsed_s / 60.0)
        if minutes and minutes % 60 == 0:
            print(f"  … {minutes // 60} h of bench time, VmRSS {rss_mb:.1f} MB", file=sys.stderr, flush=True)

    run_dir = Path(tempfile.mkdtemp(prefix="long-run-")) / "run"
    try:
        f = run_soak(args.hours, run_dir, progress=progress)
    finally:
        if not args.keep:
            shutil.rmtree(run_dir.parent, ignore_errors=True)
    slope, stderr = growth(f["samples"])
    rss = [m for _, m in f["samples"]]
    print(
        f"{f['bench_hours']:.2f} h of bench time (DC charging, {f['commands']} platform commands): "
        f"{f['wall_s']:.1f} s wall ({f['bench_hours'] * 3600.0 / f['wall_s']:.0f}× real time)"
    )
    print(
        f"  peak RSS {f['peak_rss_in_run_mb']:.1f} MB while charging, {f['peak_rss_mb']:.1f} MB with the "
        f"read-back at the end; VmRSS {rss[0]:.1f} → {rss[-1]:.1f} MB after the warm-up"
    )
    print(
        f"  RSS growth {slope:.2f} ± {stderr:.2f} MB/h (fit of {len(rss)} samples), of which the simulated "
        f"instruments' command logs ≈ {sim_log_growth(f):.2f} MB/h; goal < {GOAL_MB_PER_H:g} MB/h"
    )
    followed = "yes" if not f["missed_commands"] else f["missed_commands"][:3]
    charging = "yes" if not f["not_charging"] else f["not_charging"][:3]
    print(f"  power limit followed after every command: {followed}; charging throughout: {charging}")

    print("  frames (bench = the BMS emulator's side, charger = the simulated charger's):")
    print(f"    {'message':<8} {'bench sent':>11} {'charger rcvd':>13} {'charger sent':>13} {'bench rcvd':>11}")
    names = sorted(set().union(*(f[k] for k in ("bench_sent", "charger_sent", "bench_received", "charger_received"))))
    for name in names:
        print(
            f"    {name:<8} {f['bench_sent'].get(name, 0):>11,} {f['charger_received'].get(name, 0):>13,} "
            f"{f['charger_sent'].get(name, 0):>13,} {f['bench_received'].get(name, 0):>11,}"
        )
    sent = sum(f["bench_sent"].values()) + sum(f["charger_sent"].values())
    received = sum(f["bench_received"].values()) + sum(f["charger_received"].values())
    problems = accounting_problems(f)
    print(
        f"    total {sent:,} sent, {received:,} received: "
        + ("every frame accounted for" if not problems else "NOT ACCOUNTED: " + "; ".join(problems))
    )
    print(
        f"    the frame log of the test holds {f['frames_in_log']:,} frames "
        f"(read back {f['bsm_in_log']:,} BSM of {f['bench_sent'].get('BSM', 0):,} sent)"
    )

    print("  periodic frames, from receive times (messages received over at least half of the run):")
    print(f"    {'at':<8} {'message':<10} {'count':>9} {'period':>9} {'mean period':>16} {'drift':>12} {'max dev':>12}")
    for side in ("charger", "bench"):
        for name, p in sorted(f[f"periods_at_{side}"].items()):
            if p["span_s"] < f["bench_hours"] * 3600.0 / 2:
                continue
            print(
                f"    {side:<8} {name:<10} {p['count']:>9,} {p['nominal_s'] * 1e3:>7.0f} ms "
                f"{p['mean_s'] * 1e3:>13.9f} ms {p['drift_s'] * 1e6:>9.3f} µs "
                f"{p['max_deviation_s'] * 1e6:>9.3f} µs"
            )
    print(
        f"  platform.log {f['platform_log_lines']:,} lines, sim_history.jsonl {f['sim_history_lines']:,} lines "
        f"(written as they grew); on disk {sum(f['disk_bytes'].values()) / 1e6:,.1f} MB: "
        + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in f["disk_bytes"].items() if size > 1e6)
        + (f"; kept in {f['run_dir']}" if args.keep else "")
    )


if __name__ == "__main__":
    main()
