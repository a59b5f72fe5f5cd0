"""The DC bench's instruments as every part of ``DcBench`` reaches them: the BMS emulator,
the EV simulator, the battery simulator, the load, the analyzer, the scope and the CAN frames
(the undoing of a test's set-up when it ends is BenchView._at_end)."""

from __future__ import annotations

from bench.api.base import BenchView
from bench.api.frames import FrameLog
from bench.api.scope import ScopeCapture
from bench.protocols.gbt27930 import extension as extension_dbc


class DcBenchParts(BenchView):
    """What the parts of DcBench share."""

    kind = "dc"

    def __init__(self, session, grid: str = "full"):
        super().__init__(session, grid)
        self.scope = ScopeCapture(session)
        vehicle = session.profile.vehicle
        dbc = vehicle.extension.dbc if vehicle is not None and vehicle.extension.dbc else None
        self.frames = FrameLog(session.can, extension_dbc.load(dbc))
        session.evidence.on_end(self.frames.close)

    @property
    def bms(self):
        return self.session.bms

    @property
    def ev(self):
        return self.session.instrument("ev")

    @property
    def battery(self):
        return self.session.instrument("battery")

    @property
    def load(self):
        return self.session.instrument("load")

    @property
    def vehicle(self):
        return self.profile.vehicle

    def output(self) -> dict:
        """Voltage, current, power at the vehicle inlet from the power analyzer (None = invalid)."""
        readings = self.session.instrument("analyzer").read_element(self.session.analyzer_element("output"))
        return {name: reading.value for name, reading in readings.items()}

    def output_current(self) -> float:
        return self.session.output_current()
