"""The AC bench's instruments as every part of ``AcBench`` reaches them: the EV simulator, the
scope and the power analyzer."""

from __future__ import annotations

from bench.api.base import BenchView
from bench.api.scope import ScopeCapture

# The pile's output on the scope when timing its contactor: a 50 Hz sine of ~311 V peak.
AC_VOLTS_PER_DIV = 100.0
AC_TRIGGER_V = 100.0
# CP on the scope: ±12 V inside 8 divisions with room to spare.
CP_VOLTS_PER_DIV = 4.0
# The rms voltage that means "output on".
AC_OUTPUT_ON_V = 50.0


class AcBenchParts(BenchView):
    """What the parts of AcBench share."""

    kind = "ac"

    def __init__(self, session, grid: str = "full"):
        super().__init__(session, grid)
        self.scope = ScopeCapture(session)

    @property
    def ev(self):
        return self.session.instrument("ev")

    def ac_output(self) -> dict:
        """The pile's output (U, I, P rms) from the power analyzer."""
        analyzer = self.session.instrument("analyzer")
        readings = analyzer.read_element(self.session.analyzer_element("output"), ac=True)
        return {name: reading.value for name, reading in readings.items()}

    def output_active(self) -> bool:
        """The pile's AC output is on (its contactor is closed)."""
        voltage = self.ac_output().get("U")
        return voltage is not None and voltage > AC_OUTPUT_ON_V
