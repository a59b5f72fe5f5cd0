"""Chroma 63200A DC electronic load (docs/instruments.md §3; single-channel frame, no CHAN)."""

from __future__ import annotations

from bench.core.errors import InstrumentError
from instruments.load.base import ElectronicLoad
from instruments.registry import register
from instruments.scpi import ScpiDriver

# MODE? may answer the mode's name or its index; the index order is the 63200A mode table
# of docs/instruments.md §3 (CVI driver chr63200A.c), read only for the first nine entries here.
MODE_TABLE = ("CCL", "CCM", "CCH", "CRL", "CRM", "CRH", "CVL", "CVM", "CVH")
# Von when the caller gives none and the profile sets no ``von_v`` option: the load then sinks
# from almost any input voltage (§3: "set Von below the lowest voltage you expect").
DEFAULT_VON_V = 1.0


@register("chroma-63200a")
class Chroma63200A(ScpiDriver, ElectronicLoad):
    """Profile options:
    - ``current_ranges_a = {CCL = <A>, CCM = <A>}``: full scale of the low and middle current
      ranges of the model (model-dependent, §3); without it every CC setpoint uses CCH, the
      range that covers the whole rating.
    - ``cv_mode``: "CVH" (default), "CVM" or "CVL" ([U] §3 which range the letter selects).
    - ``von_v``: Von for CC sinking (default 1 V).
    """

    # Model 63202A-150-200, the example of docs/instruments.md §3: 150 V, 200 A. A lab sets its
    # own model's range in the profile's rating table.
    default_rating = {"voltage_v": (0.0, 150.0), "current_a": (0.0, 200.0)}

    def __init__(self, config, clock, dut_guard=None):
        super().__init__(config, clock, dut_guard)
        options = config.options
        self.current_ranges_a = {
            mode: float(limit) for mode, limit in dict(options.get("current_ranges_a", {})).items()
        }
        self.cv_mode = str(options.get("cv_mode", "CVH"))
        self.von_v = float(options.get("von_v", DEFAULT_VON_V))
        if set(self.current_ranges_a) - {"CCL", "CCM"} or self.cv_mode not in ("CVL", "CVM", "CVH"):
            raise InstrumentError(
                self.role,
                f"options current_ranges_a {self.current_ranges_a} / cv_mode "
                f"{self.cv_mode!r}: expected keys CCL, CCM and one of CVL, CVM, CVH",
            )

    def current_mode(self, amps: float) -> str:
        for mode in ("CCL", "CCM"):
            if mode in self.current_ranges_a and amps <= self.current_ranges_a[mode]:
                return mode
        return "CCH"

    def sink_current(self, amps, von_v=None):
        von_v = self.von_v if von_v is None else von_v
        self.guard("current_a", amps, "A")
        self.guard("voltage_v", von_v, "V")
        self.select_mode(self.current_mode(amps))
        self.set(f"CONF:VOLT:ON {von_v:.6g}")
        self.set(f"CURR:STAT:L1 {amps:.6g}")

    def hold_voltage(self, volts, current_limit_a):
        self.guard("voltage_v", volts, "V")
        self.guard("current_a", current_limit_a, "A")
        self.select_mode(self.cv_mode)
        self.set(f"VOLT:STAT:L1 {volts:.6g}")
        self.set(f"VOLT:STAT:ILIM {current_limit_a:.6g}")

    def select_mode(self, mode: str) -> None:
        """MODE, then MODE? read back (§3: read MODE? and the error queue after MODE)."""
        self.set(f"MODE {mode}")
        reply = self.ask("MODE?").strip().upper()
        by_index = reply.isdigit() and int(reply) < len(MODE_TABLE) and MODE_TABLE[int(reply)] == mode
        if reply != mode and not by_index:
            raise InstrumentError(self.role, f"'MODE {mode}' read back as {reply!r}")

    def set_input(self, on):
        self.set("LOAD ON" if on else "LOAD OFF")

    def measure(self):
        return self.ask_float("MEAS:VOLT?"), self.ask_float("MEAS:CURR?"), self.ask_float("MEAS:POW?")
