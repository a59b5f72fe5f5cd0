"""Small pieces the simulated SCPI instruments share: wiring, identity, readings with noise.

Every front end is built as ``Cls(name, clock, identity, wiring, rng, **settings)``:
``identity`` is (maker, model, serial, firmware), ``wiring`` maps a channel or element
number to a plant signal name (measuring instruments) or to the instrument's port (sources
and loads), ``rng`` is the seeded numpy Generator that all of the instrument's noise comes
from, so that a run repeats byte for byte.
"""

from __future__ import annotations

import math

import numpy as np

from instruments.sim.plant.ports import Plant, Signal


class Unwired:
    """A channel with nothing connected: 0 V, never crosses a trigger level."""

    unit = "V"

    def __init__(self, name: str = "unwired"):
        self.name = name

    def at(self, t: float) -> float:
        return 0.0

    def sample(self, times: np.ndarray) -> np.ndarray:
        return np.zeros(len(times))

    def next_crossing(self, start: float, end: float, level: float, rising: bool) -> float | None:
        return None


def resolve_signal(plant: Plant | None, ref: str | Signal, owner: str, where: str) -> Signal:
    """A wiring entry (a signal name, or a Signal object) → the plant's Signal."""
    if not isinstance(ref, str):
        return ref
    if plant is None:
        raise ValueError(f"{owner}: {where} is wired to {ref!r} but no plant was given")
    try:
        return plant.signal(ref)
    except KeyError:
        raise ValueError(
            f"{owner}: {where} is wired to {ref!r}, which the plant does not have "
            f"(it has {', '.join(plant.signal_names())})"
        ) from None


def idn(identity: tuple[str, ...]) -> str:
    return ",".join(str(field) for field in identity)


class Meter:
    """One reading path of an instrument: gaussian noise, then rounding to the resolution."""

    def __init__(self, rng: np.random.Generator, resolution: float, noise: float | None = None):
        self.rng = rng
        self.resolution = resolution
        self.noise = resolution if noise is None else noise  # 1 sigma

    def read(self, value: float) -> float:
        noisy = value + self.rng.normal(0.0, self.noise) if self.noise > 0 else value
        return round(noisy / self.resolution) * self.resolution


def decade_resolution(full_scale: float, counts: float) -> float:
    """The power of ten at or just below full_scale / counts (read-back resolution)."""
    return 10.0 ** math.floor(math.log10(full_scale / counts))


class Settings:
    """Mix-in for ScpiFrontEnd: declare a setting and its query together."""

    def _setting(self, pattern: str, read, write) -> None:
        self.command(pattern, write)
        self.command(pattern + "?", read)


class RootFallback:
    """Mix-in for instruments that take a command after ``;`` from the root when it does not
    fit the current path (see ScpiFrontEnd.root_fallback)."""

    root_fallback = True
