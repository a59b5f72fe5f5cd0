"""The uncertainty budget of the PWM figures (GUM, JCGM 100:2008), expanded with k = 2.

Inputs, each a standard uncertainty:

* edge-time quantisation: an edge is timed between two samples; rectangular over one sample
  interval, u_q = dt / √12. Treated as systematic (not reduced by averaging): the sample clock
  may be commensurate with the PWM period, so the errors of successive edges need not average out;
* noise: the plateau scatter σ (record units) turned into time by the edge's slope at the mid
  level, u_n = σ / slope, slope = 0.8 · span / (10–90 % time), or span / dt for an edge within one
  sample. Random: reduced by √N over N cycles or edges;
* the scope's time base: ± timebase_ppm, rectangular (/√3), on every time; it cancels in the duty
  (a ratio of two times of the same clock);
* the scope's vertical accuracy: ± (vertical_pct % of the reading + vertical_offset_v),
  rectangular, on the levels only. An offset or gain error moves the levels and the mid level
  together, so it does not move the edges: no term in frequency, duty, rise or fall;
* code quantisation of the levels: one code (y increment), rectangular, u = q / √12; and the
  plateau mean's own scatter, σ / √n over its n samples.

Figures of the means over N full cycles:

* period T = (last rise − first rise) / N: u_T² = 2·(u_q² + u_n²)/N² + (T·tb)²/3;
* frequency f = 1/T: u_f = f · u_T / T;
* mean high time W: u_W² = 2·u_q² + 2·u_n²/N; duty D = W/T:
  u_D = 100 · √((u_W/T)² + (W·u_T/T²)²) in % points (time base left out: it cancels);
* rise or fall time R over N_e edges: u_R² = 2·u_q² + 2·u_n²/N_e + (R·tb)²/3.

A single cycle's figures take N = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

COVERAGE_FACTOR = 2.0
RECTANGULAR = math.sqrt(3.0)


@dataclass(frozen=True)
class ScopeAccuracy:
    """The scope's specification, as the profile gives it."""

    timebase_ppm: float = 0.0
    vertical_pct: float = 0.0  # of the reading
    vertical_offset_v: float = 0.0

    def vertical_u(self, level_v: float) -> float:
        return (abs(level_v) * self.vertical_pct / 100.0 + self.vertical_offset_v) / RECTANGULAR


@dataclass(frozen=True)
class Budget:
    """Expanded uncertainties (k = 2) of the figures; None where the figure is None."""

    frequency_hz: float | None
    duty_pct: float | None
    high_v: float | None
    low_v: float | None
    rise_s: float | None
    fall_s: float | None


def edge_noise_s(noise: float, span: float, edge_s: float | None, dt: float) -> float:
    """u_n: the plateau noise (record units) as a time at the edge's slope."""
    if span <= 0:
        return 0.0
    slope = 0.8 * span / edge_s if edge_s and edge_s > 0 else span / dt
    return noise / slope


def budget(
    *,
    dt: float,
    cycles: int,
    period_s: float | None,
    high_time_s: float | None,
    rise_s: float | None,
    fall_s: float | None,
    edge_noise: float,
    rise_edges: int,
    fall_edges: int,
    levels: tuple[float, float],
    level_scatter: tuple[float, float],
    level_samples: tuple[int, int],
    code_step_v: float,
    accuracy: ScopeAccuracy,
) -> Budget:
    """The expanded uncertainties of the mean figures (noise terms in seconds, levels in volts)."""
    k = COVERAGE_FACTOR
    tb = accuracy.timebase_ppm * 1e-6
    u_q = dt / math.sqrt(12.0)
    frequency = duty = None
    if period_s and cycles > 0:
        u_edges = math.sqrt(2 * (u_q**2 + edge_noise**2)) / cycles  # T from its edges alone
        u_t = math.hypot(u_edges, period_s * tb / RECTANGULAR)
        frequency = k * u_t / period_s**2
        if high_time_s is not None:
            u_w = math.sqrt(2 * u_q**2 + 2 * edge_noise**2 / cycles)
            duty = k * 100.0 * math.hypot(u_w / period_s, high_time_s * u_edges / period_s**2)

    def edge(value: float | None, count: int) -> float | None:
        if value is None or count <= 0:
            return None
        return k * math.sqrt(2 * u_q**2 + 2 * edge_noise**2 / count + (value * tb) ** 2 / 3)

    def level(value: float, scatter: float, samples: int) -> float:
        mean_u = scatter / math.sqrt(samples) if samples > 0 else scatter
        return k * math.sqrt(mean_u**2 + code_step_v**2 / 12 + accuracy.vertical_u(value) ** 2)

    high, low = levels
    return Budget(
        frequency,
        duty,
        level(high, level_scatter[0], level_samples[0]),
        level(low, level_scatter[1], level_samples[1]),
        edge(rise_s, rise_edges),
        edge(fall_s, fall_edges),
    )
