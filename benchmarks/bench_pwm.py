"""Speed of the CP analysis (issue 11: 10 M samples in ≤ 50 ms, numpy alone).

Times ``analyse_pwm`` on 1 M and 10 M samples of a 1 kHz CP record at 10 MS/s with 100 mV noise
and 2 µs edges, the median of several runs, and its ratio to one plain numpy pass over the same
array (``np.count_nonzero(x > m)``) timed in the same run: the ratio says what the analysis costs
in passes over the record, whatever the machine.

    python benchmarks/bench_pwm.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))  # the synthetic records of the tests

from bench.analysis.pwm import analyse_pwm  # noqa: E402
from tests.analysis.synthetic import cp_record  # noqa: E402

GOAL_10M_MS = 50.0


def median_ms(run, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    for samples in (1_000_000, 10_000_000):
        times, volts = cp_record(30.0, periods=samples / 10_000)
        analyse_pwm(times, volts)  # warm up
        analysis_ms = median_ms(lambda t=times, v=volts: analyse_pwm(t, v), args.runs)
        one_pass_ms = median_ms(lambda v=volts: np.count_nonzero(v > -1.5), args.runs)
        goal = f" (goal ≤ {GOAL_10M_MS:g} ms)" if samples == 10_000_000 else ""
        print(
            f"analyse_pwm, {samples / 1e6:g} M samples: {analysis_ms:.1f} ms{goal}; one numpy pass "
            f"{one_pass_ms:.2f} ms; ratio {analysis_ms / one_pass_ms:.1f}"
        )


if __name__ == "__main__":
    main()
