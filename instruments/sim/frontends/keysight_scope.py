"""Simulated Keysight InfiniiVision 3000T X / 4000 X oscilloscope (docs/instruments.md §1).

The dialect only: command set and reply formats. Acquisition, trigger and record synthesis
live in scope_record.py, measurements in scope_measure.py.

Reply formats: numbers NR3 ``+1.000000E+00`` (preamble scale factors with 11 digits);
integers NR1 with sign ``+1000``; booleans ``1``/``0``; enumerations in short form
(``CHAN1``, ``NORM``, ``POS``).

Acquisition status: ``:OPERegister:CONDition?`` bit 3 (8) while acquiring, bit 5 (32)
while armed and waiting for a trigger; reading it clears nothing. ``:TER?`` (a trigger
since the last read; forced triggers count, auto triggers do not) and ``:AER?`` (armed since
the last read) are cleared when read. ``:SINGle`` (and ``:DIGitize``, which here arms in the
same way and does not block) sets the sweep to NORMal. ``:TRIGger:FORCe`` while armed
triggers at once (before the pre-trigger part is filled: as soon as it is).

Waveform data: ``#8`` + 8 digits + data + LF. BYTE: one byte a point, yreference 128,
yincrement = 8 div / 256; data codes 0x02..0xFE, 0x01 clipped low, 0xFF clipped high.
WORD: 12 significant bits left-justified (codes 0x0010..0xFFF0, multiples of 16),
yreference 32768, yincrement = 8 div / 65536; 0x0001 clipped low, 0xFFFF clipped high;
byte order per ``:WAVeform:BYTeorder`` (MSBFirst after *RST). ``:WAVeform:UNSigned 0`` gives
the same codes minus 128 / 32768 with yreference 0. ASCii: comma-separated NR3 volts on the
12-bit grid, clipped points at the screen edge. This simulation has no holes (0x00).
``:WAVeform:POINts`` n decimates the record (every (record // n)-th point); MAXimum gives
all of it in every points mode. Before any complete acquisition the data is an empty block
``#800000000`` and ``-230,"Data corrupt or stale"`` is queued [U].

Not simulated: "Query INTERRUPTED" (the server cannot know whether the client has read an
answer that it has already sent), sources other than CHANnel<n>, trigger modes other than EDGE.
"""

from __future__ import annotations

import numpy as np

from instruments.sim.frontends.scope_base import ScopeFrontEnd
from instruments.sim.frontends.scope_record import STOPPED, WAITING
from instruments.sim.scpi import Call, fixed_block

NO_RESULT = "+9.9E+37"  # [C] "cannot be measured" reply (M9241A p.460)
OPER_RUN = 8  # :OPERegister bit 3 [C]
OPER_WAIT_TRIG = 32  # :OPERegister bit 5 [C]
NO_DATA = (-230, "Data corrupt or stale")  # [U] no acquisition to transfer yet
FORMAT_CODES = {"BYTE": 0, "WORD": 1, "ASCII": 4}  # preamble field 0 [C]
TYPE_CODES = {"NORMAL": 0, "PEAK": 1, "AVERAGE": 2, "HRESOLUTION": 3}  # preamble field 1 [C]
REFERENCE_DIVISIONS = {"LEFT": 1.0, "CENTER": 5.0, "RIGHT": 9.0}  # [U] LEFT/RIGHT one division in
MEASUREMENTS = {
    "FREQuency": "FREQ",
    "PERiod": "PERIOD",
    "DUTYcycle": "DUTY",
    "NDUTy": "NDUTY",
    "VMAX": "VMAX",
    "VMIN": "VMIN",
    "VTOP": "VTOP",
    "VBASe": "VBASE",
    "VPP": "VPP",
    "VAMPlitude": "VAMP",
    "VAVerage": "VAVG",
    "VRMS": "VRMS",
    "PWIDth": "PWIDTH",
    "NWIDth": "NWIDTH",
}
SHORT = {
    "NORMAL": "NORM",
    "AVERAGE": "AVER",
    "HRESOLUTION": "HRES",
    "PEAK": "PEAK",
    "MAXIMUM": "MAX",
    "RAW": "RAW",
    "ASCII": "ASC",
    "BYTE": "BYTE",
    "WORD": "WORD",
    "LSBFIRST": "LSBF",
    "MSBFIRST": "MSBF",
    "CENTER": "CENT",
    "LEFT": "LEFT",
    "RIGHT": "RIGH",
    "MAIN": "MAIN",
    "WINDOW": "WIND",
    "XY": "XY",
    "ROLL": "ROLL",
}


def nr3(value: float) -> str:
    return f"{value:+.6E}"


def nr3_exact(value: float) -> str:
    """Preamble scale factors: enough digits that converting codes loses nothing."""
    return f"{value:+.10E}"


def nr1(value: int) -> str:
    return f"{value:+d}"


class KeysightScopeFrontEnd(ScopeFrontEnd):
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
            divisions=10,
            reference_div=REFERENCE_DIVISIONS["CENTER"],
            timebase_scale=1e-4,
        )
        self._declare()

    def reset_waveform(self) -> None:
        # *RST state [C] 4000 X p.1400: UNS 1; BYT MSBF; FORM BYTE; POIN +1000; SOUR CHAN1
        self.wave_source = 1
        self.wave_format = "BYTE"
        self.byte_order = "MSBFIRST"
        self.unsigned = True
        self.points_mode = "NORMAL"
        self.wave_points: int | None = 1000  # None = MAXimum
        self.acquire_type = "NORMAL"
        self.acquire_count = 8
        self.timebase_mode = "MAIN"
        self.reference = "CENTER"
        self.measure_source = 1

    # -- declaration -------------------------------------------------------------------------
    def _declare(self) -> None:
        core = self.core
        ch = self._channel
        self._setting(
            ":CHANnel<n>:SCALe",
            lambda c: nr3(ch(c).scale),
            lambda c: setattr(ch(c), "scale", c.number(0, low=1e-6, high=1e4)),
        )
        self._setting(
            ":CHANnel<n>:RANGe",
            lambda c: nr3(8 * ch(c).scale),
            lambda c: setattr(ch(c), "scale", c.number(0, low=8e-6, high=8e4) / 8),
        )
        self._setting(
            ":CHANnel<n>:OFFSet", lambda c: nr3(ch(c).centre), lambda c: setattr(ch(c), "centre", c.number(0))
        )
        self._setting(
            ":CHANnel<n>:COUPling",
            lambda c: ch(c).coupling,
            lambda c: setattr(ch(c), "coupling", c.choice(0, "AC", "DC")),
        )
        self._setting(
            ":CHANnel<n>:PROBe",
            lambda c: nr3(ch(c).probe),
            lambda c: setattr(ch(c), "probe", c.number(0, low=1e-4, high=1e5)),
        )
        self._setting(
            ":CHANnel<n>:DISPlay",
            lambda c: "1" if ch(c).display else "0",
            lambda c: setattr(ch(c), "display", c.boolean(0)),
        )
        self._setting(
            ":CHANnel<n>:IMPedance",
            lambda c: ch(c).impedance,
            lambda c: setattr(ch(c), "impedance", c.choice(0, "ONEMeg", "FIFTy")[:4]),
        )
        self._setting(
            ":TIMebase:SCALe",
            lambda c: nr3(core.timebase_scale),
            lambda c: setattr(core, "timebase_scale", c.number(0, low=1e-10, high=100)),
        )
        self._setting(
            ":TIMebase:RANGe",
            lambda c: nr3(10 * core.timebase_scale),
            lambda c: setattr(core, "timebase_scale", c.number(0, low=1e-9, high=1000) / 10),
        )
        self._setting(
            ":TIMebase:POSition", lambda c: nr3(core.position), lambda c: setattr(core, "position", c.number(0))
        )
        self._setting(":TIMebase:REFerence", lambda c: SHORT[self.reference], self._set_reference)
        self._setting(
            ":TIMebase:MODE",
            lambda c: SHORT[self.timebase_mode],
            lambda c: setattr(self, "timebase_mode", c.choice(0, "MAIN", "WINDow", "XY", "ROLL")),
        )
        self._setting(":TRIGger:MODE", lambda c: "EDGE", lambda c: c.choice(0, "EDGE") and None)
        self._setting(
            ":TRIGger[:EDGE]:SOURce",
            lambda c: self._source_name(core.trigger_source),
            lambda c: setattr(core, "trigger_source", self._trigger_source(c.arg(0))),
        )
        self._setting(":TRIGger[:EDGE]:LEVel", self._level_query, self._set_level)
        self._setting(":TRIGger[:EDGE]:SLOPe", lambda c: core.slope, self._set_slope)
        self._setting(
            ":TRIGger:SWEep", lambda c: core.sweep, lambda c: setattr(core, "sweep", c.choice(0, "AUTO", "NORMal")[:4])
        )
        self.command(":TRIGger:FORCe", lambda c: core.force() and None)
        self.command(":RUN", lambda c: core.run())
        self.command(":STOP", lambda c: core.stop())
        self.command(":SINGle", self._single)
        self.command(":DIGitize", self._single)
        self.command(":OPERegister:CONDition?", self._operation_condition)
        self.command(":TER?", lambda c: nr1(int(core.take_trigger_event())))
        self.command(":AER?", lambda c: nr1(int(core.take_armed_event())))
        self._setting(":ACQuire:TYPE", lambda c: SHORT[self.acquire_type], self._set_acquire_type)
        self._setting(":ACQuire:COUNt", lambda c: nr1(self.acquire_count), self._set_acquire_count)
        self.command(":ACQuire:POINts?", lambda c: nr1(core.points))
        self._setting(
            ":WAVeform:SOURce",
            lambda c: self._source_name(self.wave_source),
            lambda c: setattr(self, "wave_source", self._source(c.arg(0))),
        )
        self._setting(
            ":WAVeform:FORMat",
            lambda c: SHORT[self.wave_format],
            lambda c: setattr(self, "wave_format", c.choice(0, "BYTE", "WORD", "ASCii")),
        )
        self._setting(
            ":WAVeform:BYTeorder",
            lambda c: SHORT[self.byte_order],
            lambda c: setattr(self, "byte_order", c.choice(0, "LSBFirst", "MSBFirst")),
        )
        self._setting(
            ":WAVeform:UNSigned",
            lambda c: "1" if self.unsigned else "0",
            lambda c: setattr(self, "unsigned", c.boolean(0)),
        )
        self._setting(
            ":WAVeform:POINts:MODE",
            lambda c: SHORT[self.points_mode],
            lambda c: setattr(self, "points_mode", c.choice(0, "NORMal", "MAXimum", "RAW")),
        )
        self._setting(":WAVeform:POINts", lambda c: nr1(self._selection(core.record())[1]), self._set_points)
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
            lambda c: self._source_name(self.measure_source),
            lambda c: setattr(self, "measure_source", self._source(c.arg(0))),
        )
        for header, item in MEASUREMENTS.items():
            self.command(f":MEASure:{header}?", lambda c, item=item: self._measure(c, item))

    # -- settings ----------------------------------------------------------------------------
    def _trigger_source(self, text: str):
        for name, short in (("EXTERNAL", "EXT"), ("LINE", "LINE"), ("WGEN", "WGEN")):
            if text.strip().upper() in (name, short):
                return short
        return self._source(text)

    @staticmethod
    def _source_name(source) -> str:
        return f"CHAN{source}" if isinstance(source, int) else source

    def _set_reference(self, call: Call) -> None:
        self.reference = call.choice(0, "LEFT", "CENTer", "RIGHt")
        self.core.reference_div = REFERENCE_DIVISIONS[self.reference]

    def _set_level(self, call: Call) -> None:
        source = self._trigger_source(call.arg(1)) if len(call.args) > 1 else None
        self.core.set_level(call.number(0), source)

    def _level_query(self, call: Call) -> str:
        source = self._trigger_source(call.arg(0)) if call.args else None
        return nr3(self.core.level(source))

    def _set_slope(self, call: Call) -> None:
        slope = call.choice(0, "POSitive", "NEGative", "EITHer", "ALTernate")
        self.core.slope = {"POSITIVE": "POS", "NEGATIVE": "NEG"}.get(slope, "EITH")

    def _single(self, call: Call) -> None:
        self.core.sweep = "NORM"  # [C] 4000 X p.1603: :SINGle forces the sweep to NORMal
        self.core.single()

    def _set_acquire_type(self, call: Call) -> None:
        self.acquire_type = call.choice(0, "NORMal", "AVERage", "HRESolution", "PEAK")
        self._apply_averaging()

    def _set_acquire_count(self, call: Call) -> None:
        self.acquire_count = int(call.number(0, low=2, high=65536))
        self._apply_averaging()

    def _apply_averaging(self) -> None:
        self.core.average_count = self.acquire_count if self.acquire_type == "AVERAGE" else 1

    def _set_points(self, call: Call) -> None:
        text = call.arg(0).strip().upper()
        self.wave_points = None if text in ("MAX", "MAXIMUM") else int(call.number(0, low=100))

    def _operation_condition(self, call: Call) -> str:
        phase = self.core.phase()
        value = 0 if phase == STOPPED else OPER_RUN
        if phase == WAITING:
            value |= OPER_WAIT_TRIG
        return nr1(value)

    # -- waveform transfer -------------------------------------------------------------------
    def _selection(self, record=None) -> tuple[int, int]:
        """(step, count): every step-th point of the record, count points."""
        available = record.points if record is not None else self.core.points
        count = available if self.wave_points is None else min(self.wave_points, available)
        return available // count, count

    def _codes_scale(self, channel) -> tuple[float, int]:
        """(yincrement, yreference) of the selected format."""
        low, high = channel.screen()
        if self.wave_format == "BYTE":
            return (high - low) / 256, 128 if self.unsigned else 0
        return (high - low) / 65536, 32768 if self.unsigned else 0

    def _preamble(self) -> list[str]:
        record = self.core.record()
        if record is not None:
            horizontal, channel = record.horizontal, record.channels[self.wave_source]
        else:
            horizontal, channel = self.core.horizontal(), self.core.channels[self.wave_source]
        step, count = self._selection(record)
        yincrement, yreference = self._codes_scale(channel)
        count_field = self.acquire_count if self.acquire_type == "AVERAGE" else 1
        return [
            nr1(FORMAT_CODES[self.wave_format]),
            nr1(TYPE_CODES[self.acquire_type]),
            nr1(count),
            nr1(count_field),
            nr3_exact(horizontal.dt * step),
            nr3_exact(horizontal.first),
            nr1(0),
            nr3_exact(yincrement),
            nr3_exact(channel.centre),
            nr1(yreference),
        ]

    def _data(self, call: Call) -> bytes:
        record = self.core.record()
        if record is None:
            self.push_error(*NO_DATA)
            return fixed_block(b"", 8)
        step, count = self._selection(record)
        channel = record.channels[self.wave_source]
        volts = record.volts(self.wave_source)[: step * count : step]
        if self.wave_format == "ASCII":  # the digitised values (12-bit grid), in volts
            low, high = channel.screen()
            step = (high - low) / 4096
            digitised = np.rint((volts - channel.centre) / step) * step + channel.centre
            text = ",".join(np.char.mod("%+.6E", np.clip(digitised, low, high)))
            return fixed_block(text.encode("ascii"), 8)
        return fixed_block(self._codes(volts, channel), 8)

    def _codes(self, volts: np.ndarray, channel) -> bytes:
        """BYTE: 0x01 clipped low, 0xFF clipped high, data 0x02..0xFE. WORD: 12 significant
        bits left-justified (data 0x0010..0xFFF0), 0x0001 clipped low, 0xFFFF clipped high."""
        yincrement, _ = self._codes_scale(channel)
        if self.wave_format == "BYTE":
            codes = np.rint((volts - channel.centre) / yincrement) + 128
            codes = np.where(codes < 2, 1, np.where(codes > 254, 255, codes)).astype(np.int32)
            offset, dtype = 128, "u1"
        else:
            steps = np.rint((volts - channel.centre) / (16 * yincrement)) + 2048
            codes = np.where(steps < 1, 1, np.where(steps > 4095, 0xFFFF, steps * 16)).astype(np.int32)
            offset, dtype = 32768, "u2"
        if not self.unsigned:
            codes = codes - offset
            dtype = dtype.replace("u", "i")
        order = "<" if self.byte_order == "LSBFIRST" else ">"
        return codes.astype(order + dtype).tobytes()

    # -- measurements ------------------------------------------------------------------------
    def _measure(self, call: Call, item: str) -> str:
        sources = [self._source(arg) for arg in call.args if self.is_source(arg)]
        value = self.measured(item, sources[-1] if sources else self.measure_source)
        return NO_RESULT if value is None else nr3(value)
