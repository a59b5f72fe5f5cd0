"""Synthetic CP records with a known truth: trapezoid PWM between two levels, linear edges,
Gaussian noise, optional ringing after each edge, and the scope's raw codes."""

from __future__ import annotations

import numpy as np

from bench.analysis.pwm import Scale

RATE = 10e6  # samples/s
EDGE_S = 2e-6  # 0–100 % edge time: 10–90 % is 0.8 × this


def cp_record(
    duty_pct: float = 30.0,
    *,
    frequency_hz: float = 1000.0,
    high_v: float = 9.0,
    low_v: float = -12.0,
    noise_v: float = 0.1,
    periods: float = 10.0,
    rate: float = RATE,
    edge_s: float = EDGE_S,
    phase: float = 0.37,
    ringing: float = 0.0,
    seed: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """(times, volts). ``phase``: where in the cycle the record starts (0: a rising edge);
    ``ringing``: overshoot as a share of the span, a damped ring after every edge."""
    n = int(round(periods * rate / frequency_hz))
    t = np.arange(n) / rate
    cycle = (t * frequency_hz + phase) % 1.0
    e, d = edge_s * frequency_hz, duty_pct / 100.0
    shape = np.where(
        cycle < e, cycle / e, np.where(cycle < d, 1.0, np.where(cycle < d + e, 1.0 - (cycle - d) / e, 0.0))
    )
    volts = low_v + (high_v - low_v) * shape
    if ringing:
        span = high_v - low_v
        since_rise = ((cycle - e) % 1.0) / frequency_hz
        since_fall = ((cycle - d - e) % 1.0) / frequency_hz
        ring = lambda s: ringing * span * np.exp(-s / 3e-6) * np.cos(2 * np.pi * s / 2e-6)  # noqa: E731
        volts = (
            volts
            + np.where(cycle >= e, ring(since_rise), 0.0) * (cycle < d)
            - np.where(cycle >= d + e, ring(since_fall), 0.0)
        )
    volts = volts + np.random.default_rng(seed).normal(0.0, noise_v, n)
    return t, volts


def true_edges(duty_pct: float, frequency_hz: float = 1000.0, edge_s: float = EDGE_S) -> dict:
    return {"duty_pct": duty_pct, "frequency_hz": frequency_hz, "rise_s": 0.8 * edge_s, "fall_s": 0.8 * edge_s}


def as_codes(volts: np.ndarray, bits: int, full_scale_v: float = 32.0, centre_v: float = -1.5):
    """The record as a scope's raw codes (unsigned ``bits``) and the scale to read them."""
    codes = 2**bits
    increment = full_scale_v / codes
    scale = Scale(increment=increment, origin=centre_v, reference=codes / 2)
    raw = np.clip(np.round((volts - centre_v) / increment + codes / 2), 0, codes - 1)
    return raw.astype(np.uint8 if bits == 8 else np.uint16), scale
