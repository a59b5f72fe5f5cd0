"""Keysight (Agilent) InfiniiVision 3000T X / 4000 X oscilloscopes (docs/instruments.md §1)."""

from __future__ import annotations

import numpy

from bench.core.errors import InstrumentError
from instruments.registry import register
from instruments.scope.base import State, measurement_value, parse_preamble
from instruments.scope.scpi_scope import ScpiScope

# :OPERegister:CONDition? bits (§1 "Setup and status").
RUN_BIT = 8
WAIT_TRIG_BIT = 32
# Unsigned WORD codes that are no sample (§1 "Conversion"): hole, clipped low, clipped high.
SPECIAL_WORD_CODES = (0x0000, 0x0001, 0xFFFF)
WORD_FORMAT = 1  # preamble field 0
MEASURE_QUERIES = {  # §1 "Built-in measurements"
    "frequency": ":MEASure:FREQuency?",
    "period": ":MEASure:PERiod?",
    "duty": ":MEASure:DUTYcycle?",  # percent
    "vmax": ":MEASure:VMAX?",
    "vmin": ":MEASure:VMIN?",
    "vtop": ":MEASure:VTOP?",
    "vbase": ":MEASure:VBASe?",
    "vpp": ":MEASure:VPP?",
}
# §1 "Typical read sequence": 16-bit words, little-endian, unsigned, the whole raw record.
TRANSFER_SETTINGS = (":WAV:FORM WORD", ":WAV:BYT LSBF", ":WAV:UNS 1", ":WAV:POIN:MODE RAW", ":WAV:POIN MAX")


@register("keysight-infiniivision")
class KeysightInfiniiVision(ScpiScope):
    # -- acquisition hooks (§1 "Polling sequence") ---------------------------------------------
    def _arm(self):
        self.ask(":TER?")  # clears a stale trigger flag; the answer is of no use
        self.set(":SINGle")

    def _poll_state(self, elapsed_s):
        condition = self.ask_int(":OPERegister:CONDition?")
        if not condition & RUN_BIT:
            return State.DONE
        return State.WAITING if condition & WAIT_TRIG_BIT else State.BUSY

    def _force_trigger(self):
        self.set(":TRIGger:FORCe")

    def _stop(self):
        self.set(":STOP")

    def _read_channel(self, channel):
        self.set(f":WAV:SOUR CHAN{channel}")
        for setting in TRANSFER_SETTINGS:
            self.set(setting)
        preamble = parse_preamble(self.role, ":WAV:PRE?", self.ask(":WAV:PRE?"))
        if preamble["format"] != WORD_FORMAT:
            raise InstrumentError(self.role, f"CHAN{channel} preamble format {preamble['format']} is not WORD (1)")
        data = self.link.query_raw_block(":WAV:DATA?")
        if len(data) != 2 * preamble["points"]:
            raise InstrumentError(
                self.role,
                f"CHAN{channel}: :WAV:DATA? gave {len(data)} bytes for "
                f"{preamble['points']} WORD points in the preamble",
            )
        raw = numpy.frombuffer(data, dtype="<u2")
        volts = (raw.astype(numpy.float64) - preamble["yreference"]) * preamble["yincrement"] + preamble["yorigin"]
        volts[numpy.isin(raw, SPECIAL_WORD_CODES)] = numpy.nan
        t0 = preamble["xorigin"] - preamble["xreference"] * preamble["xincrement"]
        return t0, preamble["xincrement"], volts, preamble

    def measure(self, item, channel):
        self.check_channel(channel)
        self.check_choice("measurement", item, tuple(MEASURE_QUERIES))
        return measurement_value(self.ask_float(f"{MEASURE_QUERIES[item]} CHAN{channel}"))
