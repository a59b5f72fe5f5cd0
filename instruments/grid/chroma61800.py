"""Chroma 61800 / 61600 (and 61500) programmable AC sources (docs/instruments.md §5)."""

from __future__ import annotations

from instruments.grid.base import AcSource
from instruments.registry import register
from instruments.scpi import ScpiDriver

# Output voltage ranges (61500 figures, docs/instruments.md §5 [C] 61503): LOW 0–150 V, HIGH 0–300 V.
LOW_RANGE_MAX_V = 150.0


@register("chroma-61800")
class Chroma61800(ScpiDriver, AcSource):
    # docs/instruments.md §5: 0–300 V rms (high range) and 15–1000 Hz (61500 figures; the 61800
    # pages were not seen). No current default: a lab sets its model's current in the profile.
    default_rating = {"voltage_v": (0.0, 300.0), "frequency_hz": (15.0, 1000.0)}

    def set_supply(self, volts_rms, frequency_hz):
        self.guard("voltage_v", volts_rms, "V")
        self.guard("frequency_hz", frequency_hz, "Hz")
        voltage_range = "LOW" if volts_rms <= LOW_RANGE_MAX_V else "HIGH"
        # Level and range in one program message, else "data out of range" (§5, 61603 p.72).
        # The leading colon restarts the path at the root (a plain ``VOLT:RANG`` after
        # ``VOLT:AC`` would be VOLT:VOLT:RANG to a strict SCPI parser).
        self.set(f"VOLT:AC {volts_rms:.6g};:VOLT:RANG {voltage_range}")
        self.set(f"FREQ {frequency_hz:.6g}")

    def set_current_limit(self, amps):
        self.guard("current_a", amps, "A")
        self.set(f"CURR:LIM {amps:.6g}")

    def set_output(self, on):
        self.set("OUTP ON" if on else "OUTP OFF")

    def measure(self):
        return {
            "voltage_v": self.ask_float("MEAS:VOLT:ACDC?"),
            "current_a": self.ask_float("MEAS:CURR:AC?"),
            "power_w": self.ask_float("MEAS:POW:AC?"),
            "frequency_hz": self.ask_float("MEAS:FREQ?"),
        }
