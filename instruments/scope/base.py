"""The oscilloscope role: what the bench session asks of any scope, whatever its dialect.

One acquisition (docs/instruments.md §1 and §2c "One acquisition, completion found by polling"):
arm, poll the run state through the bench clock (never a blocking ``*OPC?`` and never a
query pending while the clock moves), force the trigger when a steady DC level gives no
edge, stop and report when no trigger came, then read each channel's preamble and binary
record. Dialects fill in the hooks (`_arm`, `_poll_state`, `_force_trigger`, `_stop`,
`_read_channel`).
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy

from bench.core.errors import InstrumentError, NoTrigger
from instruments.base import Driver

# docs/instruments.md §1/§2c polling sequences: "every 50 to 100 ms".
POLL_PERIOD_S = 0.05
# A measurement that cannot be made: Keysight +9.9E+37, Rigol 9.9e37, Tektronix 9.91E37
# (docs/instruments.md §1 "Built-in measurements", §2a, §2c).
INVALID_MEASUREMENT = 9.9e37
PREAMBLE_FIELDS = (
    "format",
    "type",
    "points",
    "count",
    "xincrement",
    "xorigin",
    "xreference",
    "yincrement",
    "yorigin",
    "yreference",
)
_INTEGER_FIELDS = {"format", "type", "points", "count", "xreference", "yreference"}


class State(enum.Enum):
    WAITING = "armed, waiting for a trigger"
    BUSY = "acquiring"
    DONE = "stopped, record complete"


@dataclass(eq=False)
class Waveform:
    """One channel of one acquisition, in volts; holes and clipped samples are NaN."""

    channel: int
    t0: float  # s, time of sample 0 relative to the trigger
    dt: float  # s between samples
    volts: numpy.ndarray  # float64
    preamble: Mapping[str, float] = field(default_factory=dict)
    forced: bool = False  # the trigger was forced (no edge came)
    bench_time: float = 0.0  # bench-clock time at which the finished record was seen
    # Bench time at which the forced trigger was sent: record time 0 is this bench instant
    # (to within the instrument's command latency), so the record lines up with CAN frames.
    forced_at: float | None = None

    @property
    def times(self) -> numpy.ndarray:
        return self.t0 + self.dt * numpy.arange(len(self.volts))

    @property
    def valid(self) -> numpy.ndarray:
        """Mask of samples that hold a voltage (not a hole, not clipped)."""
        return ~numpy.isnan(self.volts)


def parse_preamble(role: str, query: str, reply: str) -> dict[str, float]:
    """The 10-field preamble shared by Keysight (§1) and Rigol (§2c), in that order."""
    parts = [p.strip() for p in reply.split(",")]
    if len(parts) != len(PREAMBLE_FIELDS):
        raise InstrumentError(role, f"{query!r} → {reply!r}: expected {len(PREAMBLE_FIELDS)} comma-separated fields")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InstrumentError(role, f"{query!r} → {reply!r}: a field is not a number") from None
    return {name: int(v) if name in _INTEGER_FIELDS else v for name, v in zip(PREAMBLE_FIELDS, values)}


def measurement_value(value: float) -> float | None:
    """A built-in measurement's reply: the 9.9E+37 family means "could not be measured"."""
    return None if abs(value) >= INVALID_MEASUREMENT else value


class Oscilloscope(Driver, abc.ABC):
    """Role "scope". Channels are numbered from 1 as on the front panel."""

    roles = ("scope",)
    channel_count = 4
    slopes = ("rising", "falling")
    couplings = ("DC", "AC")
    measurements: tuple[str, ...] = ("frequency", "period", "duty", "vmax", "vmin", "vtop", "vbase", "vpp")

    def __init__(self, config, clock, dut_guard=None):
        super().__init__(config, clock, dut_guard)
        self.trigger_channel: int | None = None

    # -- set-up --------------------------------------------------------------------------------
    @abc.abstractmethod
    def configure_channel(
        self, channel: int, volts_per_div: float, offset_v: float = 0.0, coupling: str = "DC", probe: float = 1.0
    ) -> None:
        """Turn the channel on with this vertical scale, offset (V at screen centre), coupling, probe ratio."""

    @abc.abstractmethod
    def configure_timebase(self, seconds_per_div: float, position_s: float = 0.0) -> None:
        """Horizontal scale; ``position_s`` = delay from the trigger to the screen reference."""

    @abc.abstractmethod
    def configure_trigger(self, channel: int, level_v: float, slope: str = "rising") -> None:
        """Edge trigger on ``channel`` at ``level_v``; slope "rising" or "falling"."""

    # -- acquisition ---------------------------------------------------------------------------
    def capture(self, channels: list[int], timeout_s: float, force_after_s: float | None = None) -> dict[int, Waveform]:
        """One acquisition; the records of ``channels`` by channel number.

        ``force_after_s``: bench seconds after arming from which the trigger is forced once the
        scope is armed and waiting (0 for a steady DC level, which has no edge); None never
        forces. Raises InstrumentError when no trigger came within ``timeout_s`` (the
        acquisition is stopped first).
        """
        for channel in channels:
            self.check_channel(channel)
        start = self.clock.now()
        self._arm()
        forced = False
        forced_at = None
        while True:
            elapsed = self.clock.now() - start
            state = self._poll_state(elapsed)
            if state is State.DONE:
                break
            if not forced and force_after_s is not None and elapsed >= force_after_s and state is State.WAITING:
                forced_at = self.clock.now()
                self._force_trigger()
                forced = True
            elif elapsed >= timeout_s:
                self._stop()
                source = f"CHAN{self.trigger_channel}" if self.trigger_channel else "the trigger source"
                what = "even after a forced trigger" if forced else "and the trigger was not forced"
                raise NoTrigger(
                    self.role,
                    f"no trigger on {source} within {timeout_s:g} s ({what}); capture of channel(s) "
                    f"{', '.join(map(str, channels))} stopped, last state: {state.value}",
                )
            self.clock.sleep(POLL_PERIOD_S)
        done_at = self.clock.now()
        records = {}
        for channel in channels:
            t0, dt, volts, preamble = self._read_channel(channel)
            records[channel] = Waveform(channel, t0, dt, volts, preamble, forced, done_at, forced_at)
        return records

    @abc.abstractmethod
    def _arm(self) -> None:
        """Start one single acquisition; return at once."""

    @abc.abstractmethod
    def _poll_state(self, elapsed_s: float) -> State:
        """One complete status query/answer."""

    @abc.abstractmethod
    def _force_trigger(self) -> None: ...

    @abc.abstractmethod
    def _stop(self) -> None: ...

    @abc.abstractmethod
    def _read_channel(self, channel: int) -> tuple[float, float, numpy.ndarray, dict]:
        """(t0, dt, volts, preamble) of the stopped record of ``channel``."""

    # -- measurements --------------------------------------------------------------------------
    @abc.abstractmethod
    def measure(self, item: str, channel: int) -> float | None:
        """A built-in measurement of the last acquisition (duty in percent); None = not measurable."""

    # -- helpers -------------------------------------------------------------------------------
    def check_channel(self, channel: int) -> int:
        if not (isinstance(channel, int) and 1 <= channel <= self.channel_count):
            raise InstrumentError(self.role, f"channel {channel!r} does not exist (1 … {self.channel_count})")
        return channel

    def check_choice(self, what: str, value: str, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise InstrumentError(self.role, f"{what} {value!r} not supported; use one of {', '.join(allowed)}")
        return value
