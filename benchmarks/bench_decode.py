"""Decode throughput of the GB/T 27930 trace path on the real capture repeated to 100 k frames.

Prints frames/s for python-can's reader alone, for the decode path alone (the conformance
monitor fed frames already in memory) and for `decode_trace` end to end (reader + monitor).
Goal (issue 3): end to end at least half of what the reader alone manages.

    python benchmarks/bench_decode.py [--frames 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import can

from bench.protocols.gbt27930.decode import decode_trace
from bench.protocols.gbt27930.monitor import ConformanceMonitor

CAPTURE = Path(__file__).parents[1] / "tests" / "data" / "gbt27930" / "candump-2023-12-25_220841.log"


def repeated_capture(path: Path, frames: int) -> int:
    """Write the capture again and again, shifted in time, until ``frames`` lines."""
    lines = [line.split() for line in CAPTURE.read_text().splitlines() if line.strip()]
    first, last = float(lines[0][0][1:-1]), float(lines[-1][0][1:-1])
    span = last - first + 1.0
    written = 0
    with open(path, "w") as out:
        copy = 0
        while written < frames:
            for stamp, channel, frame in lines:
                if written == frames:
                    break
                out.write(f"({float(stamp[1:-1]) + copy * span:.6f}) {channel} {frame}\n")
                written += 1
            copy += 1
    return written


def rate(label: str, frames: int, seconds: float) -> float:
    per_s = frames / seconds
    print(f"  {label:<44} {per_s:>10,.0f} frames/s  ({seconds:.3f} s)")
    return per_s


def best_of(runs: int, fn) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "repeated.log"
        frames = repeated_capture(path, args.frames)
        print(f"GB/T 27930 decode, {frames:,} frames (the real capture repeated), best of {args.runs}")

        def read_only():
            with can.LogReader(str(path)) as reader:
                for _ in reader:
                    pass

        reader_rate = rate("python-can LogReader alone", frames, best_of(args.runs, read_only))
        with can.LogReader(str(path)) as reader:
            messages = list(reader)

        def monitor_only():
            monitor = ConformanceMonitor(relative_time=True, on_change=lambda e: None)
            for msg in messages:
                monitor.feed(msg)
            _ = monitor.findings  # what a decode asks for at the end

        rate("decode path alone (monitor, frames in memory)", frames, best_of(args.runs, monitor_only))
        end_to_end = rate(
            "decode_trace end to end (reader + decode)", frames, best_of(args.runs, lambda: decode_trace(path))
        )
        print(f"  end to end / reader alone: {end_to_end / reader_rate:.2f} (goal ≥ 0.50)")


if __name__ == "__main__":
    main()
