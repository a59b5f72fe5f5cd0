"""Rigol DS1000Z oscilloscopes (docs/instruments.md §2c), the second scope dialect.

Channel, timebase and trigger set-up use the DS1000Z programming guide's ``:CHANnel<n>:…``,
``:TIMebase:MAIN:…`` and ``:TRIGger:EDGE:…`` commands; docs/instruments.md §2c lists only the
trigger ones ([D] Qcodes), so the others are [U] there. The DS1000Z screen spans 12
horizontal divisions, not 10.
"""

from __future__ import annotations

import numpy

from bench.core.errors import InstrumentError
from instruments.registry import register
from instruments.scope.base import State, measurement_value, parse_preamble
from instruments.scope.scpi_scope import ScpiScope

# A STOP seen this soon after :SINGle, before any other state, may be left over from before
# (docs/instruments.md §2c: one public Rigol driver ignores it for 0.5 s).
STALE_STOP_S = 0.5
ACTIVE_STATES = ("WAIT", "RUN", "AUTO", "TD", "T'D")
BYTE_FORMAT, RAW_TYPE = 0, 2  # preamble fields 0 and 1
# Points per :WAV:DATA? read: 125 000 is the confirmed WORD limit (§2c); the BYTE limit of
# 250 000 is [U], so BYTE reads use the smaller one too.
BATCH_POINTS = 125_000
MEASURE_ITEMS = {  # :MEASure:ITEM? <item>,<source> (§2c)
    "frequency": "FREQuency",
    "period": "PERiod",
    "duty": "PDUTy",
    "vmax": "VMAX",
    "vmin": "VMIN",
    "vtop": "VTOP",
    "vbase": "VBASe",
    "vpp": "VPP",
}


@register("rigol-ds")
class RigolDS(ScpiScope):
    """Profile option ``duty_reply``: "ratio" (default; PDUTy answers 0.5 for 50 %, as the
    DS2000/DS1000CA guides show) or "percent" — docs/instruments.md §2c leaves it [U]."""

    timebase_scale = ":TIMebase:MAIN:SCALe"
    timebase_position = ":TIMebase:MAIN:OFFSet"

    def __init__(self, config, clock, dut_guard=None):
        super().__init__(config, clock, dut_guard)
        self.duty_reply = str(config.options.get("duty_reply", "ratio"))
        self.check_choice("option duty_reply", self.duty_reply, ("ratio", "percent"))
        self._seen_active = False

    # -- acquisition hooks (§2c "Polling sequence") --------------------------------------------
    def _arm(self):
        self._seen_active = False
        self.set(":SINGle")

    def _poll_state(self, elapsed_s):
        status = self.ask(":TRIGger:STATus?").strip().upper()
        if status == "STOP":
            if self._seen_active or elapsed_s >= STALE_STOP_S:
                return State.DONE
            return State.BUSY
        if status not in ACTIVE_STATES:
            raise InstrumentError(
                self.role, f"':TRIGger:STATus?' → {status!r}: expected one of TD, WAIT, RUN, AUTO, STOP"
            )
        self._seen_active = True
        return State.WAITING if status == "WAIT" else State.BUSY

    def _force_trigger(self):
        self.set(":TFORce")

    def _stop(self):
        self.set(":STOP")

    def _read_channel(self, channel):
        self.set(f":WAV:SOUR CHAN{channel}")
        self.set(":WAV:MODE RAW")  # the whole memory; readable only when stopped
        self.set(":WAV:FORM BYTE")
        preamble = parse_preamble(self.role, ":WAV:PRE?", self.ask(":WAV:PRE?"))
        if (preamble["format"], preamble["type"]) != (BYTE_FORMAT, RAW_TYPE):
            raise InstrumentError(
                self.role,
                f"CHAN{channel} preamble format/type {preamble['format']},{preamble['type']} is not BYTE,RAW (0,2)",
            )
        chunks = []
        for first in range(1, preamble["points"] + 1, BATCH_POINTS):
            last = min(first + BATCH_POINTS - 1, preamble["points"])
            self.set(f":WAV:STAR {first}")
            self.set(f":WAV:STOP {last}")
            data = self.link.query_raw_block(":WAV:DATA?")
            if len(data) != last - first + 1:
                raise InstrumentError(
                    self.role, f"CHAN{channel}: :WAV:DATA? for points {first}…{last} gave {len(data)} bytes"
                )
            chunks.append(data)
        raw = numpy.frombuffer(b"".join(chunks), dtype=numpy.uint8).astype(numpy.float64)
        # Rigol: yorigin is in codes, not volts (§2c "volts").
        volts = (raw - preamble["yorigin"] - preamble["yreference"]) * preamble["yincrement"]
        t0 = preamble["xorigin"] - preamble["xreference"] * preamble["xincrement"]
        return t0, preamble["xincrement"], volts, preamble

    def measure(self, item, channel):
        self.check_channel(channel)
        self.check_choice("measurement", item, tuple(MEASURE_ITEMS))
        value = measurement_value(self.ask_float(f":MEASure:ITEM? {MEASURE_ITEMS[item]},CHAN{channel}"))
        if value is not None and item == "duty" and self.duty_reply == "ratio":
            value *= 100.0
        return value
