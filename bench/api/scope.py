"""Scope captures for test cases: signals by wiring name, one acquisition, evidence saved.

A capture names signals by their wiring point ("cp", "aux_voltage", ...); the profile's
``[instruments.scope] channels`` says which channel sees which. The trigger is an edge on
one signal, or forced (a steady level has no edge). Bench actions may be scheduled during
the acquisition (``actions``: seconds after arming → callable), so that one record holds
both the cause and the effect (S2 closing and the contactor closing). A forced trigger's
bench time lines the record up with CAN frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

DIVISIONS = 10
# A signal is spread over 7 of the 8 vertical divisions (room above its largest value).
SCREEN_DIVISIONS_USED = 7


@dataclass
class Trigger:
    signal: str
    level_v: float
    slope: str = "rising"


@dataclass
class Record:
    waveforms: dict  # signal → Waveform (instruments.scope.base.Waveform)
    armed_at: float
    forced_at: float | None
    done_at: float
    notes: list[str] = field(default_factory=list)

    def times(self, signal: str) -> np.ndarray:
        return self.waveforms[signal].times

    def volts(self, signal: str) -> np.ndarray:
        return self.waveforms[signal].volts

    def bench_times(self, signal: str) -> np.ndarray:
        """Sample times on the bench clock (needs a forced trigger)."""
        if self.forced_at is None:
            raise ValueError("only a forced trigger puts the record on the bench clock")
        return self.forced_at + self.times(signal)

    @property
    def sample_interval(self) -> float:
        return next(iter(self.waveforms.values())).dt


class ScopeCapture:
    """Sets the scope up (only what changed) and takes single acquisitions."""

    def __init__(self, session):
        self.session = session
        self._settings: dict = {}

    def _set(self, key, value, apply: Callable[[], None]) -> None:
        if self._settings.get(key) != value:
            apply()
            self._settings[key] = value

    def capture(
        self,
        volts_per_div: dict[str, float],
        *,
        seconds_per_div: float,
        trigger: Trigger | None = None,
        pre_trigger: float = 0.5,
        timeout_s: float = 10.0,
        force_after_s: float | None = None,
        actions: list[tuple[float, Callable[[], None]]] = (),
        offsets_v: dict[str, float] | None = None,
    ) -> Record:
        """One acquisition of the signals in ``volts_per_div``.

        ``pre_trigger``: fraction of the record before the trigger. With ``trigger`` None the
        trigger is forced as soon as the scope is armed (or after ``force_after_s``).
        """
        session = self.session
        scope = session.instrument("scope")
        clock = session.clock
        channels = {signal: session.scope_channel(signal) for signal in volts_per_div}
        for signal, vdiv in volts_per_div.items():
            offset = (offsets_v or {}).get(signal, 0.0)
            channel = channels[signal]
            self._set(
                ("channel", channel),
                (vdiv, offset),
                lambda c=channel, v=vdiv, o=offset: scope.configure_channel(c, v, o),
            )
        position = seconds_per_div * DIVISIONS * (0.5 - pre_trigger)
        self._set("timebase", (seconds_per_div, position), lambda: scope.configure_timebase(seconds_per_div, position))
        if trigger is not None:
            channel = channels[trigger.signal]
            self._set(
                "trigger",
                (channel, trigger.level_v, trigger.slope),
                lambda: scope.configure_trigger(channel, trigger.level_v, trigger.slope),
            )
        elif force_after_s is None:
            force_after_s = 0.0
        armed_at = clock.now()
        timers = [clock.call_later(delay, action) for delay, action in actions]
        try:
            records = scope.capture(list(channels.values()), timeout_s, force_after_s)
        finally:
            for timer in timers:
                timer.cancel()
        waveforms = {signal: records[channel] for signal, channel in channels.items()}
        first = next(iter(waveforms.values()))
        return Record(waveforms, armed_at, first.forced_at, first.bench_time)


@dataclass(frozen=True)
class Band:
    """A limit drawn on a record's plot: the band a signal must stay in."""

    label: str
    low: float | None
    high: float | None


def signal_unit(signal: str) -> str:
    """The unit a record's signal is in: a current probe's channel is in amperes."""
    return "A" if signal.endswith("current") else "V"


def save_record(
    view,
    name: str,
    record: Record,
    plot_window: tuple[float, float] | None = None,
    *,
    bands: dict[str, list[Band]] | None = None,
    caption: str = "",
) -> None:
    """Keep a record as evidence: the raw samples (compressed .npz) and, on runs that keep
    plots (the full grid), a plot (PNG) with a CSV beside it holding exactly the plotted
    points (same window, same decimation): time from trigger in ms, each signal in its unit.
    ``bands`` (per signal) draws the limits on the plot, ``caption`` writes the measured values."""
    test_dir = view.session.evidence.test_dir or view.session.run_dir
    arrays = {}
    for signal, waveform in record.waveforms.items():
        arrays[f"{signal}_volts"] = waveform.volts.astype(np.float32)
        arrays[f"{signal}_t0_dt"] = np.array([waveform.t0, waveform.dt])
    path = test_dir / f"{name}.npz"
    np.savez_compressed(path, **arrays)
    view.session.evidence.attach_file(f"{name} (raw samples, .npz)", path, "application/octet-stream")
    if not view.plots:
        return
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(
        len(record.waveforms), 1, figsize=(9, 2.4 * len(record.waveforms)), sharex=True, squeeze=False
    )
    plotted = {}  # signal → (time ms, volts) as drawn
    for ax, (signal, waveform) in zip(axes[:, 0], record.waveforms.items()):
        times, volts = waveform.times, waveform.volts
        if plot_window is not None:
            keep = (times >= plot_window[0]) & (times <= plot_window[1])
            times, volts = times[keep], volts[keep]
        step = max(1, len(times) // 20000)  # a plot needs no more points than pixels
        times_ms, volts = times[::step] * 1e3, volts[::step]
        ax.plot(times_ms, volts, linewidth=0.7)
        plotted[signal] = (times_ms, volts)
        ax.set_ylabel(f"{signal} ({signal_unit(signal)})")
        ax.grid(True, alpha=0.3)
        for band in (bands or {}).get(signal, []):
            _draw_band(ax, band)
    axes[-1, 0].set_xlabel("time from trigger (ms)")
    if caption:
        axes[0, 0].text(
            0.01,
            0.98,
            caption,
            transform=axes[0, 0].transAxes,
            va="top",
            fontsize=7,
            family="monospace",
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85},
        )
    figure.suptitle(name)
    figure.tight_layout()
    view.save_plot(name, figure)
    pyplot.close(figure)
    header, rows = _plotted_table(plotted)
    view.save_csv(name, header, rows)


def _draw_band(ax, band: Band) -> None:
    low = band.low if band.low is not None else ax.get_ylim()[0]
    high = band.high if band.high is not None else ax.get_ylim()[1]
    ax.axhspan(low, high, color="tab:green", alpha=0.12, label=band.label)
    for edge in (band.low, band.high):
        if edge is not None:
            ax.axhline(edge, color="tab:green", linewidth=0.6, linestyle="--")
    ax.legend(loc="lower right", fontsize=7)


def _plotted_table(plotted: dict) -> tuple[list[str], list[list]]:
    """The plotted points as CSV columns: one time column when every signal was drawn at the
    same times (one acquisition: the usual case), else a time column per signal. Times are
    rounded to 1 ps (float noise off), volts are written as drawn; a hole (NaN) is empty."""

    def cells(values: np.ndarray, digits: int | None = None) -> list:
        values = np.round(values, digits) if digits is not None else values
        out = values.tolist()
        if np.isnan(values).any():
            out = ["" if v != v else v for v in out]
        return out

    series = list(plotted.items())
    first_ms = series[0][1][0] if series else np.array([])
    if all(len(ms) == len(first_ms) and np.array_equal(ms, first_ms) for _, (ms, _v) in series):
        header = ["time (ms)", *(f"{signal} ({signal_unit(signal)})" for signal, _ in series)]
        columns = [cells(first_ms, 9), *(cells(volts) for _, (_ms, volts) in series)]
    else:
        header = [
            label for signal, _ in series for label in (f"{signal} time (ms)", f"{signal} ({signal_unit(signal)})")
        ]
        columns = [column for _, (ms, volts) in series for column in (cells(ms, 9), cells(volts))]
    length = max((len(c) for c in columns), default=0)
    return header, [[c[i] if i < len(c) else "" for c in columns] for i in range(length)]
