"""Set-up shared by the SCPI scope dialects: the same channel and edge-trigger commands
(Keysight §1; Rigol DS1000Z programming guide), the timebase headers per dialect."""

from __future__ import annotations

from instruments.scope.base import Oscilloscope
from instruments.scpi import ScpiDriver

SLOPES = {"rising": "POSitive", "falling": "NEGative"}


class ScpiScope(ScpiDriver, Oscilloscope):
    error_query = ":SYSTem:ERRor?"
    timebase_scale = ":TIMebase:SCALe"
    timebase_position = ":TIMebase:POSition"

    def configure_channel(self, channel, volts_per_div, offset_v=0.0, coupling="DC", probe=1.0):
        self.check_channel(channel)
        coupling = self.check_choice("coupling", coupling.upper(), self.couplings)
        self.set(f":CHANnel{channel}:DISPlay 1")  # a channel that is off has no record to read
        self.set(f":CHANnel{channel}:PROBe {probe:.6g}")
        self.set(f":CHANnel{channel}:SCALe {volts_per_div:.6g}")
        self.set(f":CHANnel{channel}:OFFSet {offset_v:.6g}")
        self.set(f":CHANnel{channel}:COUPling {coupling}")

    def configure_timebase(self, seconds_per_div, position_s=0.0):
        self.set(f"{self.timebase_scale} {seconds_per_div:.6g}")
        self.set(f"{self.timebase_position} {position_s:.6g}")

    def configure_trigger(self, channel, level_v, slope="rising"):
        self.check_channel(channel)
        self.check_choice("slope", slope, self.slopes)
        self.set(":TRIGger:MODE EDGE")
        self.set(f":TRIGger:EDGE:SOURce CHANnel{channel}")
        self.set(f":TRIGger:EDGE:LEVel {level_v:.6g}")
        self.set(f":TRIGger:EDGE:SLOPe {SLOPES[slope]}")
        self.trigger_channel = channel
