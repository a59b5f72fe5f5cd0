"""Simulated Rigol DS1000Z oscilloscope (docs/instruments.md §2c), the bench's second scope dialect.

The dialect only; acquisition and record synthesis are shared with the Keysight front end
(scope_record.py). Rigol specifics:

* 12 horizontal divisions; ``:TIMebase[:MAIN]:OFFSet`` is the trigger-to-centre time.
* ``:CHANnel<n>:OFFSet`` moves the trace: the screen centre shows ``-offset`` volts.
* Waveform codes: 25 codes per vertical division, yreference 127, yorigin in codes;
  ``volts = (code - yorigin - yreference) * yincrement`` [D]. BYTE codes 0..255 (clipped
  there). WORD: two bytes per point, little-endian, the low byte holds the code and the high
  byte is 0 [U: DS1000Z programming guide wording as recalled, page not in docs/instruments.md].
* ``:WAVeform:DATA?`` answers a ``#9`` TMC block + LF. NORMal mode = the 1200 screen points;
  RAW = the whole memory, only when stopped; MAXimum = RAW when stopped, else NORMal.
  One read returns points STARt..STOP (1-based), at most 250 000 (BYTE), 125 000 (WORD) or
  15 625 (ASCii) of them; a longer range is cut at that limit.
* ``:TRIGger:STATus?``: RUN (armed, filling the pre-trigger part), WAIT (ready, no
  trigger yet), TD (triggered, filling the post-trigger part), STOP (done, or stopped);
  while running continuously TD, or AUTO when the latest record was auto-triggered.
  ``:SINGle`` sets the sweep to SINGle; ``:TFORce`` while armed triggers at once.
* ``:MEASure:ITEM? <item>[,<source>]``: ``1.000000e+03``; PDUTy and NDUTy as a ratio
  (0.1, not 10) [U]; "no result" ``9.9E37``.
* Numbers ``1.000000e+00``; error query ``-113,"Undefined header"`` / ``0,"No error"`` (no
  plus sign). Before any complete acquisition: an empty block and ``-230,"Data corrupt or
  stale"`` [U]; a RAW read while running: an empty block and ``-221,"Settings conflict"`` [U].
"""

from __future__ import annotations

import numpy as np

from instruments.sim.frontends.scope_base import ScopeFrontEnd
from instruments.sim.frontends.scope_record import PRETRIGGER, RUNNING, STOPPED, TRIGGERED, WAITING
from instruments.sim.scpi import DATA_OUT_OF_RANGE, Call, fixed_block

NO_RESULT = "9.9E37"  # [C] DS2000E p.182
SCREEN_POINTS = 1200  # NORMal mode: the screen record (#9000001200 example [C])
CODES_PER_DIVISION = 25
Y_REFERENCE = 127
READ_LIMITS = {"BYTE": 250_000, "WORD": 125_000, "ASCII": 15_625}  # [C] WORD; [U] BYTE/ASCii
FORMAT_CODES = {"BYTE": 0, "WORD": 1, "ASCII": 2}
MODE_CODES = {"NORMAL": 0, "MAXIMUM": 1, "RAW": 2}
SHORT = {"NORMAL": "NORM", "MAXIMUM": "MAX", "RAW": "RAW", "BYTE": "BYTE", "WORD": "WORD", "ASCII": "ASC"}
SETTINGS_CONFLICT = (-221, "Settings conflict")  # [U] RAW read while running
NO_DATA = (-230, "Data corrupt or stale")  # [U] nothing acquired yet
MEASUREMENTS = {
    "VMAX": "VMAX",
    "VMIN": "VMIN",
    "VPP": "VPP",
    "VTOP": "VTOP",
    "VBASe": "VBASE",
    "VAMP": "VAMP",
    "VAVG": "VAVG",
    "VRMS": "VRMS",
    "PERiod": "PERIOD",
    "FREQuency": "FREQ",
    "PWIDth": "PWIDTH",
    "NWIDth": "NWIDTH",
    "PDUTy": "DUTY",
    "NDUTy": "NDUTY",
}
MEASUREMENT_BY_NAME = {header.upper(): item for header, item in MEASUREMENTS.items()}


def sci(value: float) -> str:
    return f"{value:.6e}"


class RigolScopeFrontEnd(ScopeFrontEnd):
    error_queries = (":SYSTem:ERRor[:NEXT]?",)

    def __init__(
        self,
        name: str,
        clock,
        identity: tuple[str, str, str, str],
        wiring: dict,
        rng: np.random.Generator,
        *,
        plant=None,
        points: int = 100_000,
        noise_v: float = 0.02,
        channels: int = 4,
    ):
        super().__init__(
            name,
            clock,
            identity,
            wiring,
            rng,
            plant=plant,
            points=points,
            noise_v=noise_v,
            channels=channels,
            divisions=12,
            reference_div=6.0,
            timebase_scale=1e-6,
        )
        self._declare()

    def format_error(self, code: int, text: str) -> str:
        return f'{code},"{text}"'

    def reset_waveform(self) -> None:
        self.wave_source = 1
        self.wave_mode = "NORMAL"
        self.wave_format = "BYTE"
        self.start = 1
        self.stop = SCREEN_POINTS
        self.measure_source = 1

    # -- declaration -------------------------------------------------------------------------
    def _declare(self) -> None:
        core = self.core
        ch = self._channel
        self._setting(
            ":CHANnel<n>:SCALe",
            lambda c: sci(ch(c).scale),
            lambda c: setattr(ch(c), "scale", c.number(0, low=1e-4, high=1e3)),
        )
        self._setting(
            ":CHANnel<n>:OFFSet", lambda c: sci(-ch(c).centre), lambda c: setattr(ch(c), "centre", -c.number(0))
        )
        self._setting(
            ":CHANnel<n>:PROBe",
            lambda c: sci(ch(c).probe),
            lambda c: setattr(ch(c), "probe", c.number(0, low=1e-2, high=1e3)),
        )
        self._setting(
            ":CHANnel<n>:COUPling",
            lambda c: ch(c).coupling,
            lambda c: setattr(ch(c), "coupling", c.choice(0, "AC", "DC", "GND")),
        )
        self._setting(
            ":CHANnel<n>:DISPlay",
            lambda c: "1" if ch(c).display else "0",
            lambda c: setattr(ch(c), "display", c.boolean(0)),
        )
        self._setting(
            ":TIMebase[:MAIN]:SCALe",
            lambda c: sci(core.timebase_scale),
            lambda c: setattr(core, "timebase_scale", c.number(0, low=5e-9, high=50)),
        )
        self._setting(
            ":TIMebase[:MAIN]:OFFSet", lambda c: sci(core.position), lambda c: setattr(core, "position", c.number(0))
        )
        self._setting(":TRIGger:MODE", lambda c: "EDGE", lambda c: c.choice(0, "EDGE") and None)
        self._setting(
            ":TRIGger:EDGE:SOURce",
            lambda c: f"CHAN{core.trigger_source}",
            lambda c: setattr(core, "trigger_source", self._source(c.arg(0))),
        )
        self._setting(":TRIGger:EDGE:SLOPe", lambda c: {"EITH": "RFAL"}.get(core.slope, core.slope), self._set_slope)
        self._setting(":TRIGger:EDGE:LEVel", lambda c: sci(core.level()), self._set_level)
        self._setting(
            ":TRIGger:SWEep",
            lambda c: core.sweep,
            lambda c: setattr(core, "sweep", c.choice(0, "AUTO", "NORMal", "SINGle")[:4]),
        )
        self.command(":TRIGger:STATus?", self._trigger_status)
        self.command(":TFORce", lambda c: core.force() and None)
        self.command(":RUN", self._run)
        self.command(":STOP", lambda c: core.stop())
        self.command(":SINGle", self._single)
        self.command(":ACQuire:MDEPth?", lambda c: str(core.points))
        self.command(":ACQuire:SRATe?", lambda c: sci(core.points / core.horizontal().span))
        self._setting(
            ":WAVeform:SOURce",
            lambda c: f"CHAN{self.wave_source}",
            lambda c: setattr(self, "wave_source", self._source(c.arg(0))),
        )
        self._setting(
            ":WAVeform:MODE",
            lambda c: SHORT[self.wave_mode],
            lambda c: setattr(self, "wave_mode", c.choice(0, "NORMal", "MAXimum", "RAW")),
        )
        self._setting(
            ":WAVeform:FORMat",
            lambda c: SHORT[self.wave_format],
            lambda c: setattr(self, "wave_format", c.choice(0, "WORD", "BYTE", "ASCii")),
        )
        self._setting(
            ":WAVeform:STARt",
            lambda c: str(self.start),
            lambda c: setattr(self, "start", int(c.number(0, low=1, high=core.points))),
        )
        self._setting(
            ":WAVeform:STOP",
            lambda c: str(self.stop),
            lambda c: setattr(self, "stop", int(c.number(0, low=1, high=core.points))),
        )
        self.command(":WAVeform:PREamble?", lambda c: ",".join(self._preamble()))
        self.command(":WAVeform:DATA?", self._data)
        for index, field in (
            (4, "XINCrement"),
            (5, "XORigin"),
            (6, "XREFerence"),
            (7, "YINCrement"),
            (8, "YORigin"),
            (9, "YREFerence"),
        ):
            self.command(f":WAVeform:{field}?", lambda c, i=index: self._preamble()[i])
        self._setting(
            ":MEASure:SOURce",
            lambda c: f"CHAN{self.measure_source}",
            lambda c: setattr(self, "measure_source", self._source(c.arg(0))),
        )
        self.command(":MEASure:ITEM", lambda c: self._item(c) and None)
        self.command(":MEASure:ITEM?", self._measure)

    # -- settings ----------------------------------------------------------------------------
    def _set_slope(self, call: Call) -> None:
        slope = call.choice(0, "POSitive", "NEGative", "RFALl")
        self.core.slope = {"POSITIVE": "POS", "NEGATIVE": "NEG", "RFALL": "EITH"}[slope]

    def _set_level(self, call: Call) -> None:
        level = call.number(0)
        for number in self.core.channels:  # one trigger level, whichever channel is the source
            self.core.set_level(level, number)

    def _run(self, call: Call) -> None:
        if self.core.sweep == "SING":
            self.core.single()
        else:
            self.core.run()

    def _single(self, call: Call) -> None:
        self.core.sweep = "SING"
        self.core.single()

    def _trigger_status(self, call: Call) -> str:
        phase = self.core.phase()
        if phase == RUNNING:
            record = self.core.record()
            return "AUTO" if record is None or record.auto else "TD"
        return {STOPPED: "STOP", PRETRIGGER: "RUN", WAITING: "WAIT", TRIGGERED: "TD"}[phase]

    # -- waveform transfer -------------------------------------------------------------------
    def _memory_mode(self) -> bool:
        """True when this read takes the whole memory (RAW), False for screen data."""
        if self.wave_mode == "MAXIMUM":
            return self.core.phase() == STOPPED
        return self.wave_mode == "RAW"

    def _indices(self, record) -> np.ndarray:
        if self._memory_mode():
            return np.arange(record.points)
        return np.rint(np.arange(SCREEN_POINTS) * (record.points / SCREEN_POINTS)).astype(int)

    def _scale(self, channel) -> tuple[float, int]:
        """(yincrement, yorigin in codes)."""
        yincrement = channel.scale / CODES_PER_DIVISION
        return yincrement, int(round(-channel.centre / yincrement))

    def _preamble(self) -> list[str]:
        record = self.core.record()
        horizontal = record.horizontal if record is not None else self.core.horizontal()
        channel = (record.channels if record is not None else self.core.channels)[self.wave_source]
        points = horizontal.points if self._memory_mode() else SCREEN_POINTS
        yincrement, yorigin = self._scale(channel)
        return [
            str(FORMAT_CODES[self.wave_format]),
            str(MODE_CODES[self.wave_mode]),
            str(points),
            "1",
            sci(horizontal.span / points),
            sci(horizontal.first),
            "0",
            sci(yincrement),
            str(yorigin),
            str(Y_REFERENCE),
        ]

    def _data(self, call: Call) -> bytes:
        empty = fixed_block(b"", 9)
        if self.wave_mode == "RAW" and self.core.phase() != STOPPED:
            self.push_error(*SETTINGS_CONFLICT)
            return empty
        record = self.core.record()
        if record is None:
            self.push_error(*NO_DATA)
            return empty
        indices = self._indices(record)
        first = self.start - 1
        last = min(self.stop, len(indices), first + READ_LIMITS[self.wave_format])
        if first >= last:
            self.push_error(*DATA_OUT_OF_RANGE)
            return empty
        volts = record.volts(self.wave_source)[indices[first:last]]
        if self.wave_format == "ASCII":
            return fixed_block(",".join(np.char.mod("%.6e", volts)).encode("ascii"), 9)
        yincrement, yorigin = self._scale(record.channels[self.wave_source])
        codes = np.clip(np.rint(volts / yincrement) + yorigin + Y_REFERENCE, 0, 255)
        return fixed_block(codes.astype("<u2" if self.wave_format == "WORD" else "u1").tobytes(), 9)

    # -- measurements ------------------------------------------------------------------------
    def _item(self, call: Call) -> tuple[str, int]:
        name = call.choice(0, *MEASUREMENTS)
        source = self._source(call.arg(1)) if len(call.args) > 1 else self.measure_source
        return MEASUREMENT_BY_NAME[name], source

    def _measure(self, call: Call) -> str:
        item, source = self._item(call)
        value = self.measured(item, source)
        if value is None:
            return NO_RESULT
        return sci(value / 100 if item in ("DUTY", "NDUTY") else value)  # [U] a ratio, not %
