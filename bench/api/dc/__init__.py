"""The DC charger bench (``DcBench``, bench.py), built from its parts: the vehicle side
(vehicle.py), the output's measurement (measurement.py), the frames on the bus
(messages.py), the charging session (charging.py) and its power control (power.py), over the instruments they share
(parts.py)."""

from bench.api.dc.bench import DcBench
from bench.api.dc.charging import StepTiming

__all__ = ["DcBench", "StepTiming"]
