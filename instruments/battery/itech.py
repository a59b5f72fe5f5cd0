"""ITECH IT6000C bidirectional supply as battery simulator (docs/instruments.md §7; all rows [D])."""

from __future__ import annotations

from bench.core.errors import InstrumentError, InstrumentLost
from instruments.battery.base import BatterySimulator
from instruments.registry import register
from instruments.scpi import ScpiDriver

# STAT:OPER:COND? regulation bits (§7, the tested driver's table).
OPERATION_BITS = {128: "cc+", 256: "cv", 512: "cp+", 2048: "cc-", 4096: "cp-"}
# Read-back tolerance: the IT6054C read back -2.27251 after -2.27 was written (§7).
READBACK_REL = 0.005
READBACK_ABS = 0.01


@register("itech-it6000c")
class ItechIT6000C(ScpiDriver, BatterySimulator):
    # The unit of docs/instruments.md §7: IT6054C-800-225 (800 V, 225 A); POW:LIM read back
    # ±55080 W on it. A lab with another model sets the profile's rating table.
    default_rating = {"voltage_v": (0.0, 800.0), "current_a": (0.0, 225.0), "power_w": (0.0, 55080.0)}
    init_commands = ("SYST:REM",)

    def __init__(self, config, clock, dut_guard=None):
        super().__init__(config, clock, dut_guard)
        self._voltage_priority = False  # FIXED mode and FUNC VOLT set (and read back) by this driver

    def close(self):
        """Back to panel control (SYST:LOC), then close; a lost link is simply closed."""
        try:
            if self.link.is_open:
                self.set("SYST:LOC")
        except InstrumentLost:
            pass
        finally:
            super().close()

    def hold_voltage(self, volts, source_limit_a, sink_limit_a, sink_power_w=None):
        for name, value in (
            ("source_limit_a", source_limit_a),
            ("sink_limit_a", sink_limit_a),
            ("sink_power_w", sink_power_w),
        ):
            if value is not None and value < 0:
                raise ValueError(f"{name} is a magnitude (≥ 0), got {value}")
        self.guard("voltage_v", volts, "V")
        self.guard("current_a", source_limit_a, "A")
        self.guard("current_a", sink_limit_a, "A")
        if sink_power_w is not None:
            self.guard("power_w", sink_power_w, "W")
        # §7 battery-simulator sequence; the priority change only with the output off.
        self.set("SYST:REM")
        if not self._voltage_priority:
            self.set("OUTP OFF")
            self.set("FUNC:MODE FIXED")
            self.set("FUNC VOLT")
            reply = self.ask("FUNC?").strip().upper()
            if not reply.startswith("VOLT"):
                raise InstrumentError(self.role, f"'FUNC VOLT' read back as {reply!r}")
            self._voltage_priority = True
        settings = [("VOLT", volts), ("CURR:LIM", source_limit_a), ("CURR:LIM:NEG", -sink_limit_a)]
        if sink_power_w is not None:
            settings.append(("POW:LIM:NEG", -sink_power_w))
        for header, value in settings:
            self.set(f"{header} {value:.6g}")
        for header, value in settings:  # §7: the firmware may take the magnitude form; check
            self.check_readback(header, value)

    def check_readback(self, header: str, sent: float) -> None:
        got = self.ask_float(f"{header}?")
        if abs(got - sent) > max(READBACK_REL * abs(sent), READBACK_ABS):
            raise InstrumentError(self.role, f"'{header} {sent:.6g}' read back as {got:g}")

    def set_output(self, on):
        if on and not self._voltage_priority:
            # Never switch on in whatever priority and limits the panel left.
            raise InstrumentError(self.role, "output on refused: hold_voltage() has not set voltage priority yet")
        self.set("OUTP ON" if on else "OUTP OFF")

    def measure(self):
        return self.ask_float("MEAS:VOLT?"), self.ask_float("MEAS:CURR?"), self.ask_float("MEAS:POW?")

    def regulation(self):
        condition = self.ask_int("STAT:OPER:COND?")
        return {state for bit, state in OPERATION_BITS.items() if condition & bit}
