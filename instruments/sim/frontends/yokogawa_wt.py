"""Simulated Yokogawa WT power analyzer (WT1800/WT5000 command family, docs/instruments.md §4).

Elements are wired to (voltage signal, current signal) pairs. The analyzer updates its data
once per update interval (``:RATE``): the values shown at bench time t were measured over
the last complete interval ``[(k-1)·rate, k·rate]``, k = floor(t / rate); before the first
update there is no data (``NAN``). Readings carry gaussian noise on every sample of the
window, scaled to the range.

Reply rules (WT1800 communication manual p.119 [C] for the numeric encoding):
* ``:NUMeric:NORMal:VALue?``: NR3 with at most 5 mantissa digits in engineering notation
  (``123.45E+00``; 6 digits for integrated values), ``NAN`` for NONE/no data, ``INF`` for
  over-range; TIME as NR1 seconds. FLOat: ``#4NNNN`` + IEEE single big-endian, NAN =
  0x7E951BEE, INF = 0x7E94F56A.
* Over-range [U: WT1800 spec as recalled]: rms above 140 % of the range or a peak above 3 ×
  the range (crest factor 3) marks U (or I) and everything computed from it.
* ``:COMMunicate:HEADer`` is ON after *RST, as on the instrument: every query answer except
  the common (``*``) ones starts with its header (``:NUM:VAL 123.45E+00``; long form with
  ``:COMMunicate:VERBose ON``). Send ``:COMM:HEAD OFF`` before parsing answers.
* ``:STATus:ERRor?`` → ``0,"No error"`` / ``-113,"Undefined header"`` [U exact form].
"""

from __future__ import annotations

import math
import re

import numpy as np

from instruments.sim.frontends.common import idn, resolve_signal
from instruments.sim.frontends.integrator import Integrator
from instruments.sim.frontends.power_window import analyse, sample_window
from instruments.sim.scpi import DATA_OUT_OF_RANGE, ILLEGAL_PARAMETER, Call, ScpiError, ScpiFrontEnd, fixed_block

FLOAT_NAN = 0x7E951BEE  # [C] WT1800 p.119: NONE / no data
FLOAT_INF = 0x7E94F56A  # [C] over-range / overflow / error
OVER_RANGE_RMS = 1.4  # [U] of the range
CREST_FACTOR = 3.0  # [U] peak over-range, × range
UPDATE_RATES_S = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
DEFAULT_UPDATE_S = 0.2  # [U] the instrument's factory value is 500 ms; 10 mains cycles here
MAX_ITEMS = 255  # [C] WT1600 :NUMeric:NUMber 1..255
# While integrating, the analyzer catches up with the plant at least this often: the plant
# keeps only a bounded past (instruments/sim/plant/signals.py HISTORY_KEEP_S, 120 s).
INTEGRATION_TICK_S = 10.0
DEFAULT_VOLTAGE_RANGES = (15.0, 30.0, 60.0, 150.0, 300.0, 600.0, 1000.0)
DEFAULT_CURRENT_RANGES = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)  # an element with a 200 A sensor
NOISE_OF_RANGE = 1e-4  # 1 sigma per sample, × range (design figure)
SIGMA_ELEMENTS = ("SIGMA", "SIGMB", "SIGMC")
# function mnemonic → the inputs it is computed from (over-range of one makes it INF)
FUNCTIONS = {
    "U": "u",
    "I": "i",
    "P": "ui",
    "S": "ui",
    "Q": "ui",
    "LAMBda": "ui",
    "PHI": "ui",
    "FU": "",
    "FI": "",
    "UDC": "u",
    "IDC": "i",
    "URMS": "u",
    "IRMS": "i",
    "UMN": "u",
    "IMN": "i",
    "UAC": "u",
    "IAC": "i",
    "WH": "",
    "WHP": "",
    "WHM": "",
    "AH": "",
    "AHP": "",
    "AHM": "",
    "TIME": "",
}
DEPENDS = {mnemonic.upper(): inputs for mnemonic, inputs in FUNCTIONS.items()}
MNEMONIC = {mnemonic.upper(): mnemonic for mnemonic in FUNCTIONS}
INTEGRATED = ("WH", "WHP", "WHM", "AH", "AHP", "AHM", "TIME")
WINDOW_ATTRIBUTE = {
    "P": "p",
    "S": "s",
    "Q": "q",
    "LAMBDA": "lam",
    "PHI": "phi",
    "FU": "fu",
    "FI": "fi",
    "UDC": "udc",
    "IDC": "idc",
    "URMS": "urms",
    "IRMS": "irms",
    "UMN": "umn",
    "IMN": "imn",
    "UAC": "uac",
    "IAC": "iac",
}
INPUT_MODES = {"RMS": ("urms", "irms"), "VMEAN": ("umn", "imn"), "DC": ("udc", "idc")}
DEFAULT_ITEMS = [
    ("U", 1),
    ("I", 1),
    ("P", 1),
    ("S", 1),
    ("Q", 1),
    ("LAMBDA", 1),
    ("PHI", 1),
    ("FU", 1),
    ("FI", 1),
    ("U", 2),
    ("I", 2),
    ("P", 2),
    ("S", 2),
    ("Q", 2),
    ("LAMBDA", 2),
]


def eng(value: float, digits: int = 5) -> str:
    """NR3 in engineering notation with ``digits`` significant digits: ``123.45E+00``."""
    significand, exponent = f"{value:.{digits - 1}E}".split("E")
    sign = "-" if significand.startswith("-") else ""
    figures = significand.lstrip("-").replace(".", "")
    power = 3 * math.floor(int(exponent) / 3)
    whole = int(exponent) - power + 1  # 1 to 3 figures before the point
    return f"{sign}{figures[:whole]}.{figures[whole:]}E{power:+03d}"


def _short(mnemonic: str) -> str:
    return "".join(ch for ch in mnemonic if ch.isupper() or ch.isdigit()) or mnemonic.upper()


class _Reading:
    """One element's data of one update."""

    def __init__(self, values, u_over: bool, i_over: bool, u_range: float, i_range: float):
        self.values, self.u_over, self.i_over = values, u_over, i_over
        self.u_range, self.i_range = u_range, i_range


class YokogawaWTFrontEnd(ScpiFrontEnd):
    error_queries = ()  # :STATus:ERRor? is declared with the others: its answer carries the header

    def __init__(
        self,
        name: str,
        clock,
        identity: tuple[str, str, str, str],
        wiring: dict,
        rng: np.random.Generator,
        *,
        plant=None,
        elements: int = 6,
        voltage_ranges=DEFAULT_VOLTAGE_RANGES,
        current_ranges=DEFAULT_CURRENT_RANGES,
        power_gain_error_pct: float = 0.0,
    ):
        super().__init__(name)
        # An analyzer out of calibration on its power reading (the [sim] plant setting
        # analyzer_power_error_pct): what the bench's cross-checks must catch.
        self.power_gain = 1.0 + power_gain_error_pct / 100.0
        self.clock = clock
        self.rng = rng
        self.idn = idn(identity)
        self.element_count = elements
        self.inputs: dict[int, tuple] = {}
        for number, (voltage, current) in wiring.items():
            if not 1 <= number <= elements:
                raise ValueError(f"{name}: element {number} does not exist (1..{elements})")
            self.inputs[number] = (
                resolve_signal(plant, voltage, name, f"element {number} voltage"),
                resolve_signal(plant, current, name, f"element {number} current"),
            )
        self.voltage_ranges = tuple(sorted(voltage_ranges))
        self.current_ranges = tuple(sorted(current_ranges))
        self.integrator = Integrator(self.inputs)
        self._integration_tick = None
        self.header = True  # communication settings survive *RST
        self.verbose = False
        self.remote = False
        self.reset()
        self._declare()

    def reset(self) -> None:
        self.numeric_format = "ASCII"
        self.item_count = len(DEFAULT_ITEMS)
        self.items: list[tuple[str, object] | None] = [None] * MAX_ITEMS
        self.items[: len(DEFAULT_ITEMS)] = DEFAULT_ITEMS
        self.update_s = DEFAULT_UPDATE_S
        self.input_mode = {n: "RMS" for n in range(1, self.element_count + 1)}
        self.u_range = {n: self.voltage_ranges[-1] for n in range(1, self.element_count + 1)}
        self.i_range = {n: self.current_ranges[-1] for n in range(1, self.element_count + 1)}
        self.u_auto = {n: False for n in range(1, self.element_count + 1)}
        self.i_auto = {n: False for n in range(1, self.element_count + 1)}
        self.integrator.reset()
        self.integrator.mode, self.integrator.timer_s = "NORMAL", 0.0
        self._update_index: int | None = None
        self._readings: dict[int, _Reading] = {}

    def format_error(self, code: int, text: str) -> str:
        return f'{code},"{text}"'

    # -- declaration -------------------------------------------------------------------------
    def _query(self, pattern: str, answer) -> None:
        """A query whose answer carries the header while :COMMunicate:HEADer is ON."""

        def handler(call: Call):
            reply = answer(call)
            if not self.header:
                return reply
            head = self._response_header(pattern, call).encode("ascii") + b" "
            return head + reply if isinstance(reply, bytes) else head.decode() + reply

        self.command(pattern, handler)

    def _setting(self, pattern: str, read, write) -> None:
        self.command(pattern, write)
        self._query(pattern + "?", read)

    def _response_header(self, pattern: str, call: Call) -> str:
        numbers = iter(call.suffixes)
        parts = []
        for optional, node, suffix in re.findall(r"(\[?):?([A-Za-z]+)(<n>)?\]?", pattern.rstrip("?")):
            if optional and not self.verbose:
                continue
            parts.append((node.upper() if self.verbose else _short(node)) + (str(next(numbers)) if suffix else ""))
        return ":" + ":".join(parts)

    def _token(self, mnemonic: str) -> str:
        return mnemonic.upper() if self.verbose else _short(mnemonic)

    def _declare(self) -> None:
        self._query(":STATus:ERRor?", lambda c: self.next_error())
        self._setting(
            ":COMMunicate:HEADer",
            lambda c: "1" if self.header else "0",
            lambda c: setattr(self, "header", c.boolean(0)),
        )
        self._setting(
            ":COMMunicate:VERBose",
            lambda c: "1" if self.verbose else "0",
            lambda c: setattr(self, "verbose", c.boolean(0)),
        )
        self._setting(
            ":COMMunicate:REMote",
            lambda c: "1" if self.remote else "0",
            lambda c: setattr(self, "remote", c.boolean(0)),
        )
        self._setting(
            ":NUMeric:FORMat",
            lambda c: self._token({"ASCII": "ASCii", "FLOAT": "FLOat"}[self.numeric_format]),
            lambda c: setattr(self, "numeric_format", c.choice(0, "ASCii", "FLOat")),
        )
        self._setting(
            ":NUMeric[:NORMal]:NUMber",
            lambda c: str(self.item_count),
            lambda c: setattr(self, "item_count", int(c.number(0, low=1, high=MAX_ITEMS))),
        )
        self._setting(":NUMeric[:NORMal]:ITEM<n>", self._item_query, self._set_item)
        self._query(":NUMeric[:NORMal]:VALue?", self._values)
        self._setting(":RATE", lambda c: eng(self.update_s, 4), self._set_rate)
        for quantity, ranges, table, auto in (
            ("VOLTage", self.voltage_ranges, self.u_range, self.u_auto),
            ("CURRent", self.current_ranges, self.i_range, self.i_auto),
        ):
            self._setting(
                f"[:INPut]:{quantity}:RANGe[:ALL]",
                lambda c, t=table: f"{self._range(t, 1):.3E}",
                lambda c, r=ranges, t=table: self._set_range(c, r, t, None),
            )
            self._setting(
                f"[:INPut]:{quantity}:RANGe:ELEMent<n>",
                lambda c, t=table: f"{self._range(t, self._element(c)):.3E}",
                lambda c, r=ranges, t=table: self._set_range(c, r, t, self._element(c)),
            )
            self._setting(
                f"[:INPut]:{quantity}:AUTO[:ALL]",
                lambda c, a=auto: "1" if a[1] else "0",
                lambda c, a=auto: a.update(dict.fromkeys(a, c.boolean(0))),
            )
            self._setting(
                f"[:INPut]:{quantity}:AUTO:ELEMent<n>",
                lambda c, a=auto: "1" if a[self._element(c)] else "0",
                lambda c, a=auto: a.__setitem__(self._element(c), c.boolean(0)),
            )
        self._setting(
            "[:INPut]:MODE[:ALL]",
            lambda c: self._token(self._mode_name(1)),
            lambda c: self.input_mode.update(dict.fromkeys(self.input_mode, self._input_mode(c))),
        )
        self._setting(
            "[:INPut]:MODE:ELEMent<n>",
            lambda c: self._token(self._mode_name(self._element(c))),
            lambda c: self.input_mode.__setitem__(self._element(c), self._input_mode(c)),
        )
        self._setting(
            ":INTEGrate:MODE", lambda c: self._token(self._integration_mode_name()), self._set_integration_mode
        )
        self._setting(":INTEGrate:TIMer", lambda c: self._timer_text(), self._set_timer)
        self.command(":INTEGrate:STARt", self._integration_start)
        self.command(":INTEGrate:STOP", self._integration_stop)
        self.command(":INTEGrate:RESet", lambda c: self.integrator.reset())
        self._query(":INTEGrate:STATe?", self._integration_state)

    # -- settings ----------------------------------------------------------------------------
    def _element(self, call: Call) -> int:
        number = call.suffixes[-1]
        if not 1 <= number <= self.element_count:
            raise ScpiError(*ILLEGAL_PARAMETER)
        return number

    def _set_rate(self, call: Call) -> None:
        rate = call.number(0)
        if not any(math.isclose(rate, r) for r in UPDATE_RATES_S):
            raise ScpiError(*DATA_OUT_OF_RANGE)
        self.update_s = rate
        self._update_index = None

    def _range(self, table: dict, element: int) -> float:
        reading = self._reading(element)
        auto = (self.u_auto if table is self.u_range else self.i_auto)[element]
        if auto and reading is not None:
            return reading.u_range if table is self.u_range else reading.i_range
        return table[element]

    def _set_range(self, call: Call, ranges: tuple, table: dict, element: int | None) -> None:
        value = call.number(0)
        matches = [r for r in ranges if math.isclose(value, r, rel_tol=1e-6)]
        if not matches:
            raise ScpiError(*DATA_OUT_OF_RANGE)
        for number in [element] if element else list(table):
            table[number] = matches[0]
            (self.u_auto if table is self.u_range else self.i_auto)[number] = False
        self._update_index = None

    def _input_mode(self, call: Call) -> str:
        return call.choice(0, "RMS", "VMEan", "DC")

    def _mode_name(self, element: int) -> str:
        return {"RMS": "RMS", "VMEAN": "VMEan", "DC": "DC"}[self.input_mode[element]]

    def _set_item(self, call: Call) -> None:
        index = call.suffixes[-1]
        if not 1 <= index <= MAX_ITEMS:
            raise ScpiError(*ILLEGAL_PARAMETER)
        if call.arg(0).strip().upper() == "NONE":
            self.items[index - 1] = None
            return
        function = call.choice(0, *FUNCTIONS)
        element_text = call.arg(1).strip().upper() if len(call.args) > 1 else "1"
        if element_text in SIGMA_ELEMENTS:
            element = element_text
        elif element_text.isdigit() and 1 <= int(element_text) <= self.element_count:
            element = int(element_text)
        else:
            raise ScpiError(*ILLEGAL_PARAMETER)
        self.items[index - 1] = (function, element)

    def _item_query(self, call: Call) -> str:
        item = self.items[call.suffixes[-1] - 1] if 1 <= call.suffixes[-1] <= MAX_ITEMS else None
        if item is None:
            return "NONE"
        function, element = item
        return f"{self._token(MNEMONIC[function])},{element}"

    # -- integration -------------------------------------------------------------------------
    def _integration_stop(self, call: Call) -> None:
        """A command answers nothing (stopping integration that does not run changes nothing)."""
        self.integrator.stop(self.clock.now())

    def _integration_mode_name(self) -> str:
        return {"NORMAL": "NORMal", "CONTINUOUS": "CONTinuous", "RNORMAL": "RNORmal", "RCONTINUOUS": "RCONtinuous"}[
            self.integrator.mode
        ]

    def _set_integration_mode(self, call: Call) -> None:
        self.integrator.mode = call.choice(0, "NORMal", "CONTinuous", "RNORmal", "RCONtinuous")

    def _timer_text(self) -> str:
        total = int(round(self.integrator.timer_s))
        return f"{total // 3600},{total // 60 % 60},{total % 60}"

    def _set_timer(self, call: Call) -> None:
        hours, minutes, seconds = (call.number(k, low=0) for k in range(3))
        if minutes >= 60 or seconds >= 60 or hours > 10000:
            raise ScpiError(*DATA_OUT_OF_RANGE)
        self.integrator.timer_s = hours * 3600 + minutes * 60 + seconds

    def _integration_start(self, call: Call) -> None:
        if not self.integrator.start(self.clock.now()):
            raise ScpiError(-221, "Settings conflict")  # [U] start while running or timed up
        if self._integration_tick is None:
            self._integration_tick = self.clock.every(
                INTEGRATION_TICK_S, self._integrate_now, first_delay=INTEGRATION_TICK_S
            )

    def _integrate_now(self) -> None:
        """Clock callback while integrating: keep up with the plant's bounded history."""
        self.integrator.advance(self.clock.now())
        if self.integrator.state != "START" and self._integration_tick is not None:
            self._integration_tick.cancel()
            self._integration_tick = None

    def _integration_state(self, call: Call) -> str:
        self.integrator.advance(self.clock.now())
        return self._token(
            {"RESET": "RESet", "START": "STARt", "STOP": "STOP", "TIMEUP": "TIMeup"}[self.integrator.state]
        )

    # -- measurement -------------------------------------------------------------------------
    def _reading(self, element) -> _Reading | None:
        index = math.floor(self.clock.now() / self.update_s + 1e-9)
        if index != self._update_index:
            self._update_index = index
            self._readings = {}
        if index < 1 or element not in self.inputs:
            return None
        if element not in self._readings:  # measured when first asked for in this update
            end = index * self.update_s
            self._readings[element] = self._measure(element, end - self.update_s, end)
        return self._readings[element]

    def _measure(self, element: int, start: float, end: float) -> _Reading:
        u_signal, i_signal = self.inputs[element]
        times, u, i = sample_window(u_signal, i_signal, start, end)
        u_range = self._pick_range(u, self.voltage_ranges) if self.u_auto[element] else self.u_range[element]
        i_range = self._pick_range(i, self.current_ranges) if self.i_auto[element] else self.i_range[element]
        u = u + self.rng.normal(0.0, NOISE_OF_RANGE * u_range, len(u))
        i = i + self.rng.normal(0.0, NOISE_OF_RANGE * i_range, len(i))
        values = analyse(times, u, i)
        return _Reading(
            values,
            self._over(values.urms, values.upeak, u_range),
            self._over(values.irms, values.ipeak, i_range),
            u_range,
            i_range,
        )

    @staticmethod
    def _over(rms: float, peak: float, full_scale: float) -> bool:
        return rms > OVER_RANGE_RMS * full_scale or peak > CREST_FACTOR * full_scale

    @staticmethod
    def _pick_range(x: np.ndarray, ranges: tuple) -> float:
        rms, peak = float(np.sqrt(np.mean(x * x))), float(np.max(np.abs(x)))
        for candidate in ranges:
            if rms <= 1.1 * candidate and peak <= CREST_FACTOR * candidate:
                return candidate
        return ranges[-1]

    def _function_value(self, function: str, element) -> float:
        """The value of one item: a number, nan (no data) or inf (over-range)."""
        if element in SIGMA_ELEMENTS:
            return self._sigma_value(function)
        if element not in self.inputs:
            return math.nan
        if function in INTEGRATED:
            self.integrator.advance(self.clock.now())
            return self.integrator.value(function, element)
        reading = self._reading(element)
        if reading is None:
            return math.nan
        depends = DEPENDS[function]
        if ("u" in depends and reading.u_over) or ("i" in depends and reading.i_over):
            return math.inf
        if function in ("U", "I"):
            attribute = INPUT_MODES[self.input_mode[element]][0 if function == "U" else 1]
        else:
            attribute = WINDOW_ATTRIBUTE[function]
        value = getattr(reading.values, attribute)
        if value is not None and function == "P":
            value *= self.power_gain
        return math.nan if value is None else value

    def _sigma_value(self, function: str) -> float:
        values = [self._function_value(function, n) for n in self.inputs]
        if not values:
            return math.nan
        if function in ("P", "S", "Q") or function in INTEGRATED and function != "TIME":
            return sum(values)
        if function in ("U", "I", "TIME"):
            return sum(values) / len(values)
        if function == "LAMBDA":
            s = self._sigma_value("S")
            return self._sigma_value("P") / s if s and math.isfinite(s) else math.nan
        return math.nan

    def _values(self, call: Call):
        if call.args:
            index = int(call.number(0, low=1, high=MAX_ITEMS))
            selected = [self.items[index - 1]]
        else:
            selected = self.items[: self.item_count]
        values = [(None, math.nan) if item is None else (item[0], self._function_value(*item)) for item in selected]
        if self.numeric_format == "FLOAT":
            return fixed_block(self._float_payload([v for _, v in values]), 4)
        return ",".join(self._ascii(function, value) for function, value in values)

    @staticmethod
    def _ascii(function: str | None, value: float) -> str:
        if math.isnan(value):
            return "NAN"
        if math.isinf(value):
            return "INF"
        if function == "TIME":
            return str(int(value))
        return eng(value, 6 if function in INTEGRATED else 5)

    @staticmethod
    def _float_payload(values: list[float]) -> bytes:
        array = np.array(values, dtype=">f4").view(">u4").copy()
        array[np.isnan(values)] = FLOAT_NAN
        array[np.isinf(values)] = FLOAT_INF
        return array.tobytes()
