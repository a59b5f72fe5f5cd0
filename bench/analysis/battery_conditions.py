"""The six battery conditions of Attachment 3 4.5.3 e, found in the battery status a pile uploads.

4.5.3 e: the platform monitors the traction battery in real time and stops the charging with an
alarm when the output voltage is above the battery's maximum total voltage, the highest
temperature above the maximum allowed, the temperature rises too fast, the temperature differs
too much between parts of the battery, a cell voltage is above its maximum, or the cell
voltages differ too much. The maxima are the vehicle's own (BCP); the rise and spread
thresholds are the bench's (limits table, changji:4.5.3e:*).

A sample is the bench time it arrived and the uploaded values, named as
bench.protocols.platform.vocabulary.BATTERY_STATUS_UNITS, plus ``output_voltage`` (the pile's
real-time upload). A condition whose values were not uploaded is not met: that the pile
uploads them is judged elsewhere (upload latency, 4.2.4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Sample = tuple[float, Mapping[str, float]]
# Uploads are decimal values; a difference of two is not exact in binary (4.2 − 3.9 is
# 0.30000000000000027), so "above" leaves this much: a value on its threshold is not above it.
DECIMAL_SLACK = 1e-9

VOLTAGE_ABOVE_MAXIMUM = "voltage_above_maximum"
TEMPERATURE_ABOVE_MAXIMUM = "temperature_above_maximum"
FAST_TEMPERATURE_RISE = "fast_temperature_rise"
TEMPERATURE_SPREAD = "temperature_spread"
CELL_VOLTAGE_ABOVE_MAXIMUM = "cell_voltage_above_maximum"
CELL_VOLTAGE_SPREAD = "cell_voltage_spread"
CONDITIONS = (
    VOLTAGE_ABOVE_MAXIMUM,
    TEMPERATURE_ABOVE_MAXIMUM,
    FAST_TEMPERATURE_RISE,
    TEMPERATURE_SPREAD,
    CELL_VOLTAGE_ABOVE_MAXIMUM,
    CELL_VOLTAGE_SPREAD,
)


@dataclass(frozen=True)
class BatteryThresholds:
    max_voltage_v: float  # BCP maximum charging total voltage (+ the limit's margin)
    max_temperature_c: float  # BCP maximum allowed temperature (+ margin)
    max_cell_voltage_v: float  # BCP maximum allowed cell voltage (+ margin)
    temperature_rise_c_per_min: float
    rise_window_s: float  # the rise is judged over at least this long
    temperature_spread_c: float
    cell_voltage_spread_v: float


@dataclass(frozen=True)
class ConditionMet:
    condition: str
    value: float
    threshold: float
    unit: str

    def describe(self) -> str:
        return f"{self.condition.replace('_', ' ')}: {self.value:.3g} {self.unit} > {self.threshold:.3g} {self.unit}"


def conditions_met(samples: Sequence[Sample], thresholds: BatteryThresholds) -> list[ConditionMet]:
    """The conditions the newest sample meets (``samples`` oldest first), in CONDITIONS order."""
    if not samples:
        return []
    now, values = samples[-1]
    t = thresholds
    found: list[ConditionMet] = []

    def above(condition: str, value: float | None, threshold: float, unit: str) -> None:
        if value is not None and value > threshold + DECIMAL_SLACK:
            found.append(ConditionMet(condition, value, threshold, unit))

    voltages = [values[name] for name in ("output_voltage", "battery_voltage") if name in values]
    above(VOLTAGE_ABOVE_MAXIMUM, max(voltages) if voltages else None, t.max_voltage_v, "V")
    above(TEMPERATURE_ABOVE_MAXIMUM, values.get("highest_temperature"), t.max_temperature_c, "°C")
    above(
        FAST_TEMPERATURE_RISE,
        temperature_rise_c_per_min(samples, t.rise_window_s),
        t.temperature_rise_c_per_min,
        "°C/min",
    )
    above(
        TEMPERATURE_SPREAD, _spread(values, "highest_temperature", "lowest_temperature"), t.temperature_spread_c, "°C"
    )
    above(CELL_VOLTAGE_ABOVE_MAXIMUM, values.get("highest_cell_voltage"), t.max_cell_voltage_v, "V")
    above(
        CELL_VOLTAGE_SPREAD,
        _spread(values, "highest_cell_voltage", "lowest_cell_voltage"),
        t.cell_voltage_spread_v,
        "V",
    )
    return found


def temperature_rise_c_per_min(samples: Sequence[Sample], window_s: float) -> float | None:
    """The highest temperature's rate of change (°C/min) from the newest sample at least
    ``window_s`` old to the newest; None until the samples span the window."""
    now, values = samples[-1]
    if "highest_temperature" not in values:
        return None
    for t, old in reversed(samples[:-1]):
        if now - t >= window_s and "highest_temperature" in old:
            return (values["highest_temperature"] - old["highest_temperature"]) / (now - t) * 60.0
    return None


def _spread(values: Mapping[str, float], high: str, low: str) -> float | None:
    if high in values and low in values:
        return values[high] - values[low]
    return None
