"""Power-meter arithmetic over one measuring window (power analyzer, AC source read-back).

The window is sampled from the plant's voltage and current signals. When the voltage has an
AC part, the sums run over a whole number of its cycles, between its first and last rising
crossing of its mean (the synchronisation a real power meter does to its sync source), so
that rms and power carry no partial-cycle error. A DC voltage uses the whole window.
Quantities the window cannot give (frequency of a DC signal, phase without a frequency)
are None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from instruments.sim.frontends.waveform_math import edges

# Design figures of this simulation (no instrument spec behind them): the sampling of the
# measuring window, and the relative AC amplitude below which a signal counts as DC.
SAMPLE_RATE_HZ = 20_000.0
DC_RIPPLE = 1e-6
HYSTERESIS = 0.1  # of the AC amplitude, for finding cycles
RECTIFIED_TO_RMS = math.pi / (2 * math.sqrt(2))  # mean-value mode is calibrated to a sine's rms


@dataclass(frozen=True)
class WindowValues:
    urms: float
    irms: float
    udc: float
    idc: float
    umn: float
    imn: float
    uac: float
    iac: float
    upeak: float  # largest |u|
    ipeak: float
    p: float
    s: float
    q: float
    lam: float | None
    phi: float | None  # degrees, current lagging positive
    fu: float | None
    fi: float | None


def sample_window(
    u_signal, i_signal, start: float, end: float, rate: float = SAMPLE_RATE_HZ
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    count = max(2, int(round((end - start) * rate)))
    times = start + (np.arange(count) + 0.5) * ((end - start) / count)
    u = np.asarray(u_signal.sample(times), dtype=float)
    i = np.asarray(i_signal.sample(times), dtype=float)
    return times, u, i


def _cycles(x: np.ndarray) -> np.ndarray:
    """Fractional indices of the rising crossings of the mean (empty for a DC signal)."""
    mean = float(x.mean())
    amplitude = (float(x.max()) - float(x.min())) / 2
    if amplitude <= DC_RIPPLE * (abs(mean) + amplitude) or amplitude == 0.0:
        return np.empty(0)
    return edges(x, mean, HYSTERESIS * amplitude)[0]


def _frequency(crossings: np.ndarray, dt: float) -> float | None:
    if len(crossings) < 2:
        return None
    return (len(crossings) - 1) / ((crossings[-1] - crossings[0]) * dt)


def analyse(times: np.ndarray, u: np.ndarray, i: np.ndarray) -> WindowValues:
    dt = float(times[1] - times[0])
    u_cycles, i_cycles = _cycles(u), _cycles(i)
    fu, fi = _frequency(u_cycles, dt), _frequency(i_cycles, dt)
    window = slice(None)
    if fu is not None:
        window = slice(int(math.ceil(u_cycles[0])), int(math.ceil(u_cycles[-1])))
    uw, iw, tw = u[window], i[window], times[window]
    urms, irms = float(np.sqrt(np.mean(uw * uw))), float(np.sqrt(np.mean(iw * iw)))
    udc, idc = float(uw.mean()), float(iw.mean())
    p = float(np.mean(uw * iw))
    s = urms * irms
    phi = None
    if fu is not None:
        rotation = np.exp(-2j * math.pi * fu * tw)
        u1, i1 = np.sum(uw * rotation), np.sum(iw * rotation)
        if abs(u1) > 0 and abs(i1) > 0:
            phi = (math.degrees(np.angle(u1) - np.angle(i1)) + 180.0) % 360.0 - 180.0
    reactive = math.sqrt(max(s * s - p * p, 0.0))
    return WindowValues(
        urms=urms,
        irms=irms,
        udc=udc,
        idc=idc,
        umn=float(np.mean(np.abs(uw))) * RECTIFIED_TO_RMS,
        imn=float(np.mean(np.abs(iw))) * RECTIFIED_TO_RMS,
        uac=math.sqrt(max(urms * urms - udc * udc, 0.0)),
        iac=math.sqrt(max(irms * irms - idc * idc, 0.0)),
        upeak=float(np.max(np.abs(uw))),
        ipeak=float(np.max(np.abs(iw))),
        p=p,
        s=s,
        q=-reactive if phi is not None and phi < 0 else reactive,
        lam=p / s if s > 0 else None,
        phi=phi,
        fu=fu,
        fi=fi,
    )
