"""The platform's battery monitor (Attachment 3 4.5.3 e): the bench, as the operation platform,
watches the battery status the pile uploads and stops the charging when it finds one of the six
conditions (bench/analysis/battery_conditions.py).

Each ``poll()`` reads the pile's battery status and its real-time output voltage over the
platform channel, keeps them, and judges the newest against the thresholds (``read()`` does the
same without acting: for the uploads before anything is driven). The first time a
condition is met the monitor commands the stop (``channel.stop()``) and keeps the
``Detection``: what it found, when, and when the pile took the stop. Later polls only keep the
uploads. The caller polls (a case's wait loop on the bench clock), so the detection time is the
bench's: the upload latency plus at most one poll period.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.analysis.battery_conditions import BatteryThresholds, ConditionMet, Sample, conditions_met
from bench.platform.channel import PlatformChannel


@dataclass(frozen=True)
class Detection:
    found: tuple[ConditionMet, ...]
    detected_at: float  # bench time of the upload that met a condition
    stop_commanded_at: float  # bench time the pile acknowledged the stop

    @property
    def conditions(self) -> tuple[str, ...]:
        return tuple(met.condition for met in self.found)

    def describe(self) -> str:
        return "; ".join(met.describe() for met in self.found)


@dataclass
class BatteryMonitor:
    channel: PlatformChannel
    thresholds: BatteryThresholds
    samples: list[Sample] = field(default_factory=list)  # every upload it read, oldest first
    detection: Detection | None = None

    def poll(self) -> Detection | None:
        """One look at the uploads, acting on what it finds: the detection (this poll's or an
        earlier one's), or None."""
        found = self.read()
        if self.detection is None and found:
            ack = self.channel.stop()
            self.detection = Detection(tuple(found), self.samples[-1][0], ack.bench_time)
        return self.detection

    def read(self) -> list[ConditionMet]:
        """One look at the uploads, kept; the conditions they meet, without acting on them."""
        status = self.channel.battery_status()
        values = dict(status.values)
        output = self.channel.realtime().voltage_v
        if output is not None:
            values["output_voltage"] = output
        self.samples.append((status.bench_time_of_arrival, values))
        return conditions_met(self.samples, self.thresholds)

    def latest(self) -> dict[str, float]:
        """The newest uploads ({} before the first poll)."""
        return dict(self.samples[-1][1]) if self.samples else {}
