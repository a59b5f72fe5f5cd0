"""The AC pile bench (``AcBench``, bench.py), built from its parts: the vehicle side
(vehicle.py), the control pilot (pilot.py) and the contactor's timing (contactor.py), over
the instruments they share (parts.py)."""

from bench.api.ac.bench import AcBench
from bench.api.ac.contactor import ContactorTiming
from bench.api.ac.pilot import CpCapture

__all__ = ["AcBench", "ContactorTiming", "CpCapture"]
