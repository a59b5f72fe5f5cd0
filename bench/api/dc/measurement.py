"""What the DC bench measures of the output: the analyzer's readings, settled values, and scope
records on the bench clock."""

from __future__ import annotations

from collections.abc import Callable

from bench.analysis.dc import time_to_current_off
from bench.api.dc.parts import DcBenchParts
from bench.api.scope import DIVISIONS, SCREEN_DIVISIONS_USED, Record, save_record
from bench.api.timings import (
    CURRENT_POLL_S,
    OUTPUT_POLL_S,
    RAMP_POLL_S,
    RECORD_ACTION_MARGIN_S,
    RECORD_PRE_TRIGGER,
    SETTLE_HOLD_S,
    WINDOW_FACTOR,
    capture_timeout_s,
)
from bench.core.checks import Check
from bench.core.clock import Settled
from bench.core.limits import Limit

# A reading judged against a tolerance counts as settled once it holds within that tolerance
# divided by this (a tenth of it, bench choice) for SETTLE_HOLD_S (``settled_within``).
SETTLE_TOLERANCE_DIVISOR = 10.0
# Scope screens: 8 vertical divisions around a centre; signals are shown from a little
# below 0 to this factor above their largest expected value (the DUT's or the supply's).
SCREEN_HEADROOM = 1.2
AUX_SUPPLY_MAX_V = 15.0  # above the 12 ± 0.6 V auxiliary supply (docs/limits.md §4)
CC1_MAX_V = 15.0  # above detection point 1's 12 V (CC1 open, docs/limits.md §4)


class DcMeasurement(DcBenchParts):
    """The output as the analyzer and the scope see it."""

    def wait_current_off(self, end_a: float, *, until: float) -> tuple[float | None, float]:
        """Poll the output current until |I| ≤ ``end_a`` or bench time ``until``; (the bench
        time it was first seen at or below, or None; the resolution of that time)."""
        waited = self.try_wait_until(
            lambda: abs(self.output_current()) <= end_a,
            until - self.now(),
            poll=CURRENT_POLL_S,
            what=f"the output current ≤ {end_a:g} A",
        )
        return (None if waited is None else self.now()), CURRENT_POLL_S

    def settled(self, quantity: str, band: float, timeout: float | None = None) -> float | None:
        """The analyzer's ``quantity`` ("U", "I", "P"), the mean of its readings once they hold
        within ±band of each other for SETTLE_HOLD_S; None when they never do within
        ``timeout`` (default: the command wait of 4.2.6).

        A reading still on its way (moving by more than the band between two readings
        ``RAMP_POLL_S`` apart) is followed at that coarser pace first."""
        settled = self._settle(quantity, band, timeout)
        return None if settled is None else settled.value

    def _settle(self, quantity: str, band: float, timeout: float | None) -> Settled | None:
        return self.try_wait_settled(
            lambda: self._reading(quantity),
            band=band,
            hold=SETTLE_HOLD_S,
            timeout=timeout if timeout is not None else self.command_wait_s(),
            poll=OUTPUT_POLL_S,
            ramp_poll=RAMP_POLL_S,
            what=f"output {quantity} to settle",
        )

    def settled_within(
        self, quantity: str, rule: Limit, reference: float, timeout: float | None = None
    ) -> float | None:
        """``settled`` with the band a tenth of ``rule``'s tolerance around ``reference`` (the
        reading the case then judges against that rule)."""
        settled = self.settle_within(quantity, rule, reference, timeout)
        return None if settled is None else settled.value

    def settle_within(
        self, quantity: str, rule: Limit, reference: float, timeout: float | None = None
    ) -> Settled | None:
        """``settled_within`` with the time it took (``Settled.elapsed``, bench seconds)."""
        return self._settle(quantity, rule.tolerance(reference) / SETTLE_TOLERANCE_DIVISOR, timeout)

    def _reading(self, quantity: str) -> float:
        value = self.output()[quantity]
        return float("nan") if value is None else value

    def capture(
        self,
        name: str,
        volts_per_div: dict[str, float],
        *,
        seconds_per_div: float,
        pre_trigger: float = RECORD_PRE_TRIGGER,
        actions=(),
        save: bool = True,
        offsets_v: dict[str, float] | None = None,
    ) -> Record:
        """A forced-trigger record on the bench clock (its time 0 is the forced trigger)."""
        window = seconds_per_div * DIVISIONS
        record = self.scope.capture(
            volts_per_div,
            seconds_per_div=seconds_per_div,
            trigger=None,
            pre_trigger=pre_trigger,
            timeout_s=capture_timeout_s(window),
            force_after_s=window * pre_trigger,
            actions=list(actions),
            offsets_v=offsets_v,
        )
        if save:
            save_record(self, name, record) if self.plots else self._save_samples(name, record)
        return record

    def _save_samples(self, name: str, record: Record) -> None:
        """Quick runs keep the raw samples only (no plot)."""
        import numpy as np

        test_dir = self.session.evidence.test_dir or self.session.run_dir
        arrays = {f"{signal}_volts": w.volts.astype(np.float32) for signal, w in record.waveforms.items()}
        path = test_dir / f"{name}.npz"
        np.savez_compressed(path, **arrays)
        self.session.evidence.attach_file(f"{name} (raw samples, .npz)", path)

    def record_during(
        self,
        name: str,
        signals: tuple[str, ...],
        window_s: float,
        action: Callable[[], object],
        *,
        pre: float = RECORD_PRE_TRIGGER,
    ) -> tuple[Record, float]:
        """One forced-trigger record of ``window_s`` on the bench clock, with ``action`` done
        RECORD_ACTION_MARGIN_S after the pre-trigger part is filled; (record, the action's
        bench time). ``timings.record_window_s`` gives the window that reaches a time past the
        trigger."""
        when: list[float] = []

        def act():
            when.append(self.now())
            action()

        scales = {signal: self._screen(signal) for signal in signals}
        record = self.capture(
            name,
            {s: v for s, (v, _) in scales.items()},
            seconds_per_div=window_s / DIVISIONS,
            pre_trigger=pre,
            offsets_v={s: o for s, (_, o) in scales.items()},
            actions=[(window_s * pre + RECORD_ACTION_MARGIN_S, act)],
        )
        return record, (when[0] if when else float("nan"))

    def _screen(self, signal: str) -> tuple[float, float]:
        """(V/div, centre) showing ``signal`` from a little below 0 to its largest value."""
        top = {
            "output_current": self.dut.current_range_a[1],
            "inlet_voltage": self.dut.voltage_range_v[1],
            "aux_voltage": AUX_SUPPLY_MAX_V,
            "cc1": CC1_MAX_V,
        }[signal] * SCREEN_HEADROOM
        return top / SCREEN_DIVISIONS_USED, top / 2

    # -- the end of a stop, off a record (4.2.5 faults, battery-safety stops) -------------------
    def check_current_off(
        self, key: str, record: Record, since: float, *, at: dict, timed_from: str, fault: str = ""
    ) -> Check:
        """Judge ``key``: from ``since`` (``timed_from``, e.g. "the short") to the output current
        at or below the rule's ``end_current_a``, off ``record`` and then the analyzer, watched
        for WINDOW_FACTOR × the rule's time. ``fault`` names what was applied, for a stop that
        never came."""
        rule = self.limit(key)
        end_a = rule.figure("end_current_a")
        off, uncertainty = self.current_off_after(record, since, end_a, WINDOW_FACTOR * rule.upper)
        return self.check_duration(
            key,
            None if off is None else off - since,
            window=self.now() - since,
            missing=f"{fault or timed_from}: the output current still above {end_a:g} A",
            uncertainty=uncertainty,
            at=at,
            detail=f"from {timed_from} to the output current ≤ {end_a:g} A",
        )

    def current_off_after(
        self, record: Record, since: float, end_a: float, watch_s: float
    ) -> tuple[float | None, float | None]:
        """(bench time the output current is first ≤ ``end_a`` at or after ``since``, its
        uncertainty) off the scope ``record``; when it is not down by the record's end, from
        the analyzer polled until ``since + watch_s``; (None, None) when it never is."""
        times = record.bench_times("output_current")
        off = time_to_current_off(times, record.volts("output_current"), end_a, after=since)
        if off is not None:
            return off, (self.accuracy("scope", "time", off - since) or 0.0) + record.sample_interval
        off, resolution = self.wait_current_off(end_a, until=since + watch_s)
        return off, None if off is None else resolution
