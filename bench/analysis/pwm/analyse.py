"""CP PWM analysis of one record (GB/T 18487.1 Annex A quantities): per-cycle figures, their
statistics, and the averaged figures with their expanded uncertainty.

1. Bad samples (NaN holes; raw codes at the ADC's ends, i.e. clipped) are held at the last good
   value for the edge search, and every cycle that touches one is left out.
2. Levels from a histogram of a strided subsample (levels.py); a record without two levels is a
   DC level, "no PWM".
3. Edges with hysteresis between the levels (edges.py), timed at the mid level.
4. Full cycles (cycles.py): frequency, duty, high and low level, rise and fall (10–90 % of the
   settled levels) of each; their mean, standard deviation, minimum and maximum.
5. The uncertainty budget (uncertainty.py).

A record may be volts, or raw integer codes with the scope's ``Scale`` (preamble y increment,
origin, reference): the analysis runs on the codes and every figure comes out in volts and
seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.analysis.pwm import cycles as cy
from bench.analysis.pwm.edges import schmitt_edges, ten_ninety
from bench.analysis.pwm.levels import find_levels, stride_for
from bench.analysis.pwm.uncertainty import Budget, ScopeAccuracy, budget, edge_noise_s

# Two levels closer than this are one level with noise (CP levels differ by 15 V or more).
MIN_SEPARATION_V = 2.0
# A record with more bad samples than this share cannot be judged at all (levels included).
MAX_BAD_SHARE = 0.01
FIGURES = ("frequency_hz", "duty_pct", "high_v", "low_v", "rise_s", "fall_s")


@dataclass(frozen=True)
class Scale:
    """Raw code → volts, as the scope's preamble gives it: (code − reference) × increment + origin."""

    increment: float
    origin: float = 0.0
    reference: float = 0.0

    def __post_init__(self) -> None:
        if not self.increment > 0:
            raise ValueError(f"a scope's y increment is a positive number of volts per code, got {self.increment!r}")

    def volts(self, code: float) -> float:
        return (code - self.reference) * self.increment + self.origin


@dataclass(frozen=True)
class Statistic:
    mean: float
    std: float
    min: float
    max: float
    count: int


@dataclass(frozen=True)
class CycleTable:
    """Per full cycle: start (s, record time), frequency, duty, levels, rise and fall (NaN where
    not measurable)."""

    start_s: np.ndarray
    period_s: np.ndarray
    frequency_hz: np.ndarray
    duty_pct: np.ndarray
    high_v: np.ndarray
    low_v: np.ndarray
    rise_s: np.ndarray
    fall_s: np.ndarray

    COLUMNS = ("start_s", "period_s", "frequency_hz", "duty_pct", "high_v", "low_v", "rise_s", "fall_s")

    def __len__(self) -> int:
        return len(self.start_s)

    def rows(self) -> list[list[float]]:
        rows: list[list[float]] = np.column_stack([getattr(self, name) for name in self.COLUMNS]).tolist()
        return rows


@dataclass(frozen=True)
class PwmAnalysis:
    frequency_hz: float | None  # None when the record holds no full cycle
    duty_pct: float | None
    high_v: float
    low_v: float
    rise_s: float | None
    fall_s: float | None
    periods: int  # full cycles judged
    steady: bool  # no PWM: a DC level (high_v == low_v == the level)
    uncertainty: Budget | None = None  # expanded (k = 2), of the figures above
    cycles: CycleTable | None = None
    statistics: dict[str, Statistic] = field(default_factory=dict)
    noise_v: float = 0.0  # plateau scatter (rms)
    sample_interval_s: float = 0.0
    bad_samples: int = 0  # NaN or clipped
    problem: str = ""  # why nothing may be judged from this record ("" when fine)

    @property
    def level_v(self) -> float:
        return self.high_v

    @property
    def duty_uncertainty_pct(self) -> float | None:
        return self.uncertainty.duty_pct if self.uncertainty else None

    @property
    def frequency_uncertainty_hz(self) -> float | None:
        return self.uncertainty.frequency_hz if self.uncertainty else None


def analyse_pwm(
    times: np.ndarray,
    volts: np.ndarray,
    *,
    scale: Scale | None = None,
    accuracy: ScopeAccuracy | None = None,
    clip_codes: tuple[int, int] | None = None,
) -> PwmAnalysis:
    """The record's figures; ``times`` evenly spaced (s). ``volts`` are codes when ``scale`` is
    given (``clip_codes``: the codes that mean clipped; default the dtype's ends)."""
    times = np.asarray(times)
    t0 = float(times[0]) if len(times) else 0.0
    dt = float(times[1] - times[0]) if len(times) > 1 else 1.0
    return analyse_record(np.asarray(volts), t0, dt, scale=scale, accuracy=accuracy, clip_codes=clip_codes)


def analyse_record(
    x: np.ndarray,
    t0: float,
    dt: float,
    *,
    scale: Scale | None = None,
    accuracy: ScopeAccuracy | None = None,
    clip_codes: tuple[int, int] | None = None,
) -> PwmAnalysis:
    accuracy = accuracy or ScopeAccuracy()
    gain = scale.increment if scale else 1.0

    def to_volts(value: float) -> float:
        return scale.volts(value) if scale else value

    bad = _bad_samples(x, clip_codes if scale or np.issubdtype(x.dtype, np.integer) else None)
    bad_count = int(bad.sum()) if bad is not None else 0
    if bad_count == len(x):
        return _unjudgeable("no good sample in the record", dt, bad_count)
    if bad is not None:
        x = _held(x, bad)
    stride = stride_for(len(x))
    sub = x[::stride] if bad is None else x[::stride][~bad[::stride]]
    levels = find_levels(sub, MIN_SEPARATION_V / gain)
    high, low = to_volts(levels.high), to_volts(levels.low)
    noise_v = max(levels.noise_high, levels.noise_low) * gain
    if bad_count > MAX_BAD_SHARE * len(x):
        share = 100.0 * bad_count / len(x)
        return _unjudgeable(f"{share:.1f} % of the samples are holes or clipped", dt, bad_count, high, low)
    code_step = gain if scale else 0.0
    level_budget = budget(
        dt=dt,
        cycles=0,
        period_s=None,
        high_time_s=None,
        rise_s=None,
        fall_s=None,
        edge_noise=0.0,
        rise_edges=0,
        fall_edges=0,
        levels=(high, low),
        level_scatter=(levels.noise_high * gain, levels.noise_low * gain),
        level_samples=(levels.samples_high, levels.samples_low),
        code_step_v=code_step,
        accuracy=accuracy,
    )
    if not levels.two_levels:
        return PwmAnalysis(None, None, high, low, None, None, 0, True, level_budget, None, {}, noise_v, dt, bad_count)

    edges = schmitt_edges(x, levels.low, levels.high)
    rise_samples = ten_ninety(x, levels.low, levels.high, edges.rising, edges.rising_width, rising=True)
    fall_samples = ten_ninety(x, levels.low, levels.high, edges.falling, edges.falling_width, rising=False)
    cycles = cy.full_cycles(edges)
    if bad is not None and len(cycles):
        touched = np.cumsum(bad)
        first = np.floor(cycles.start).astype(np.int64)
        last = np.minimum(np.ceil(cycles.start + cycles.period).astype(np.int64), len(x) - 1)
        cycles = cycles.keep(touched[last] - touched[first] == 0)
    if not len(cycles):
        return PwmAnalysis(
            None,
            None,
            high,
            low,
            None,
            None,
            0,
            False,
            level_budget,
            None,
            {},
            noise_v,
            dt,
            bad_count,
            "no full PWM cycle in the record",
        )

    guard = cy.plateau_guard(rise_samples, fall_samples)
    high_codes, high_n = cy.plateau_means(sub, stride, cycles.high_from, cycles.high_to, guard)
    low_codes, low_n = cy.plateau_means(sub, stride, cycles.low_from, cycles.low_to, guard)
    table = CycleTable(
        start_s=t0 + dt * cycles.start,
        period_s=dt * cycles.period,
        frequency_hz=1.0 / (dt * cycles.period),
        duty_pct=100.0 * (cycles.high_to - cycles.high_from) / cycles.period,
        high_v=_scaled(high_codes, scale),
        low_v=_scaled(low_codes, scale),
        rise_s=dt * rise_samples[cycles.rise_edge],
        fall_s=dt * fall_samples[cycles.fall_edge],
    )
    statistics = {name: _statistic(getattr(table, name)) for name in FIGURES}
    n = len(cycles)
    period = float(np.mean(cycles.period) * dt)
    high_time = float(np.mean(cycles.high_to - cycles.high_from) * dt)
    rise = _mean(table.rise_s)
    fall = _mean(table.fall_s)
    span_v = abs(high - low)
    uncertainty = budget(
        dt=dt,
        cycles=n,
        period_s=period,
        high_time_s=high_time,
        rise_s=rise,
        fall_s=fall,
        edge_noise=edge_noise_s(noise_v, span_v, _mean(np.concatenate([table.rise_s, table.fall_s])), dt),
        rise_edges=int(np.isfinite(table.rise_s).sum()),
        fall_edges=int(np.isfinite(table.fall_s).sum()),
        levels=(high, low),
        level_scatter=(levels.noise_high * gain, levels.noise_low * gain),
        level_samples=(levels.samples_high, levels.samples_low),
        code_step_v=code_step,
        accuracy=accuracy,
    )
    return PwmAnalysis(
        1.0 / period,
        100.0 * high_time / period,
        high,
        low,
        rise,
        fall,
        n,
        False,
        uncertainty,
        table,
        statistics,
        noise_v,
        dt,
        bad_count,
    )


def _bad_samples(x: np.ndarray, clip_codes: tuple[int, int] | None) -> np.ndarray | None:
    """Mask of the samples that hold no reading, or None when there is none (the fast path)."""
    if np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(x.dtype)
        ends = clip_codes or (int(info.min), int(info.max))
        if x.min() > ends[0] and x.max() < ends[1]:
            return None
        return np.asarray((x <= ends[0]) | (x >= ends[1]))
    if np.isfinite(np.add.reduce(x, dtype=float)):
        return None
    return np.asarray(~np.isfinite(x))


def _held(x: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """``x`` with each bad sample replaced by the last good one before it (the first good one
    for a leading run)."""
    index = np.where(bad, 0, np.arange(len(x)))
    np.maximum.accumulate(index, out=index)
    first_good = int(np.argmax(~bad))
    index[: first_good + 1] = np.maximum(index[: first_good + 1], first_good)
    return np.asarray(x[index])


def _scaled(codes: np.ndarray, scale: Scale | None) -> np.ndarray:
    if scale is None:
        return codes
    return np.asarray((codes - scale.reference) * scale.increment + scale.origin)


def _mean(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else None


def _statistic(values: np.ndarray) -> Statistic:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return Statistic(float("nan"), float("nan"), float("nan"), float("nan"), 0)
    std = float(finite.std(ddof=1)) if len(finite) > 1 else 0.0
    return Statistic(float(finite.mean()), std, float(finite.min()), float(finite.max()), len(finite))


def _unjudgeable(
    problem: str, dt: float, bad: int, high: float = float("nan"), low: float = float("nan")
) -> PwmAnalysis:
    return PwmAnalysis(None, None, high, low, None, None, 0, False, None, None, {}, 0.0, dt, bad, problem)
