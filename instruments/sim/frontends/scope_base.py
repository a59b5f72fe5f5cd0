"""What a simulated scope front end is before its dialect: identity, channel wiring, the shared
acquisition core, channel and source parsing, and measurements on the latest record."""

from __future__ import annotations

import re

import numpy as np

from instruments.sim.frontends.common import Settings, idn, resolve_signal
from instruments.sim.frontends.scope_measure import measure
from instruments.sim.frontends.scope_record import ScopeCore
from instruments.sim.scpi import ILLEGAL_PARAMETER, UNDEFINED_HEADER, Call, ScpiError, ScpiFrontEnd

_CHANNEL_SOURCE = re.compile(r"^CHAN(?:NEL)?(\d+)$", re.IGNORECASE)


class ScopeFrontEnd(Settings, ScpiFrontEnd):
    def __init__(
        self,
        name: str,
        clock,
        identity: tuple[str, ...],
        wiring: dict,
        rng: np.random.Generator,
        *,
        plant,
        points: int,
        noise_v: float,
        channels: int,
        divisions: int,
        reference_div: float,
        timebase_scale: float,
    ):
        super().__init__(name)
        self.idn = idn(identity)
        for number in wiring:
            if not 1 <= number <= channels:
                raise ValueError(f"{name}: channel {number} does not exist (1..{channels})")
        signals = {n: resolve_signal(plant, ref, name, f"channel {n}") for n, ref in wiring.items()}
        self.core = ScopeCore(
            clock,
            signals,
            rng,
            noise_v=noise_v,
            points=points,
            divisions=divisions,
            reference_div=reference_div,
            channel_count=channels,
            timebase_scale=timebase_scale,
        )
        self.reset_waveform()

    def reset(self) -> None:
        self.core.reset()
        self.reset_waveform()

    def reset_waveform(self) -> None:
        """The dialect's own transfer and measurement settings after *RST."""

    def _channel(self, call: Call):
        """The channel a ``:CHANnel<n>:...`` header names (a missing one is an unknown header)."""
        number = call.suffixes[0]
        if number not in self.core.channels:
            raise ScpiError(*UNDEFINED_HEADER)
        return self.core.channels[number]

    def _source(self, text: str) -> int:
        """``CHAN1`` / ``CHANnel1`` → 1."""
        match = _CHANNEL_SOURCE.match(text.strip())
        if match is None or int(match.group(1)) not in self.core.channels:
            raise ScpiError(*ILLEGAL_PARAMETER)
        return int(match.group(1))

    @staticmethod
    def is_source(text: str) -> bool:
        return _CHANNEL_SOURCE.match(text.strip()) is not None

    def measured(self, item: str, source: int) -> float | None:
        """One automatic measurement on the latest record; None when it cannot be made."""
        record = self.core.record()
        if record is None:
            return None
        low, high = record.channels[source].screen()
        return measure(item, record.volts(source), record.horizontal.dt, low, high)
