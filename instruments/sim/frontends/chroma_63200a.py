"""Simulated Chroma 63200A DC electronic load (docs/instruments.md §3).

Acts on an ElectronicLoadPort (wiring ``{1: port}``); measures the port's terminal voltage
and current. Only the CC (CCL/CCM/CCH) and CV (CVL/CVM/CVH) families act on the plant; the
other modes of the table are accepted and read back, and ``LOAD ON`` in one of them queues
``-221,"Settings conflict"``.

Ranges: the letter of the mode selects the current range (L/M/H; [U] for CV modes, here the
range of VOLT:STAT:ILIM); a current outside the selected range gives ``-222,"Data out of
range"`` and the setting is not taken. Model figures come from the model name
``632<kW>A-<V>-<A>`` (e.g. 63210A-1200-1200) unless given: H = rated current, M = 3/10,
L = 1/10 of it [U: model dependent].

Hardware inhibit (the load's external interlock input, wired to the EV simulator's relay
board): while its line is open the input sinks nothing whatever ``LOAD`` says; ``LOAD?``
still answers the setting and the measurements read the terminals (the inlet voltage, 0 A).
No status query reports it here: docs/instruments.md gives an INHIBIT bit only for the 63600's
``STAT:CHAN:COND?`` [C], nothing for the 63200A, so none is invented.

Replies: setting queries and measurements NR2 with 4 decimals; ``MODE?`` the mode string;
``LOAD?`` ``1``/``0`` [U]; ``SYST:ERR?`` ``+0,"No error"``.
"""

from __future__ import annotations

import re

import numpy as np

from instruments.sim.frontends.common import Meter, RootFallback, Settings, decade_resolution, idn
from instruments.sim.scpi import Call, ScpiError, ScpiFrontEnd

MODES = (
    "CCL CCM CCH CRL CRM CRH CVL CVM CVH CPL CPM CPH CCDL CCDM CCDH CRDL CRDM CRDH BATL BATM BATH "
    "SWDL SWDM SWDH OCPL OCPM OCPH CCSL CCSM CCSH CZL CZM CZH CVCC CRCC CVCR AUTO PROG MPPTL MPPTM "
    "MPPTH UDWL UDWM UDWH EXTL EXTM EXTH"
).split()  # [D] chr63200A.c mode table
PORT_MODES = {"CCL": "cc", "CCM": "cc", "CCH": "cc", "CVL": "cv", "CVM": "cv", "CVH": "cv"}
SETTINGS_CONFLICT = (-221, "Settings conflict")
RANGE_FRACTIONS = {"L": 0.1, "M": 0.3, "H": 1.0}  # [U] of the rated current
MEASUREMENT_COUNTS = 60_000  # read-back resolution: the decade of full scale / counts (design figure)
_MODEL = re.compile(r"632(\d\d)A-(\d+)-(\d+)", re.IGNORECASE)


def nr2(value: float) -> str:
    return f"{value:.4f}"


class Chroma63200AFrontEnd(Settings, RootFallback, ScpiFrontEnd):
    def __init__(
        self,
        name: str,
        clock,
        identity: tuple[str, str, str, str],
        wiring: dict,
        rng: np.random.Generator,
        *,
        voltage_max: float | None = None,
        current_max: float | None = None,
        power_max: float | None = None,
    ):
        super().__init__(name)
        self.clock = clock
        self.idn = idn(identity)
        self.port = wiring[1]
        match = _MODEL.search(identity[1])
        rated = (
            (float(match.group(1)) * 1000, float(match.group(2)), float(match.group(3)))
            if match
            else (None, None, None)
        )
        self.power_max = power_max or rated[0] or 6000.0
        self.voltage_max = voltage_max or rated[1] or 600.0
        self.current_max = current_max or rated[2] or 420.0
        self.voltmeter = Meter(rng, decade_resolution(self.voltage_max, MEASUREMENT_COUNTS))
        self.ammeter = Meter(rng, decade_resolution(self.current_max, MEASUREMENT_COUNTS))
        self.wattmeter = Meter(rng, decade_resolution(self.power_max, MEASUREMENT_COUNTS))
        self.reset()
        self._declare()

    def reset(self) -> None:
        self.errors.clear()  # [C] 63200A manual p.70: *RST also does *CLS
        self.mode = "CCH"
        self.current = {"L1": 0.0, "L2": 0.0}
        self.slew = {"RISE": self._current_range(), "FALL": self._current_range()}
        self.voltage = {"L1": self.voltage_max, "L2": self.voltage_max}
        self.cv_current_limit = self._current_range()
        self.power = {"L1": 0.0, "L2": 0.0}
        self.von, self.voff, self.von_latch = 0.0, 0.0, False
        self.load_on = False
        self.short = False
        self.remote = False
        self._apply()

    # -- declaration -------------------------------------------------------------------------
    def _declare(self) -> None:
        self._setting("MODE", lambda c: self.mode, self._set_mode)
        for level in ("L1", "L2"):
            self._setting(
                f"CURRent:STATic:{level}",
                lambda c, k=level: nr2(self._limit_query(c, self.current[k], self._current_range())),
                lambda c, k=level: self._set(c, self.current, k, self._current_range()),
            )
            self._setting(
                f"VOLTage:STATic:{level}",
                lambda c, k=level: nr2(self._limit_query(c, self.voltage[k], self.voltage_max)),
                lambda c, k=level: self._set(c, self.voltage, k, self.voltage_max),
            )
            self._setting(
                f"POWer:STATic:{level}",
                lambda c, k=level: nr2(self._limit_query(c, self.power[k], self.power_max)),
                lambda c, k=level: self._set(c, self.power, k, self.power_max),
            )
        for edge in ("RISE", "FALL"):
            self._setting(
                f"CURRent:STATic:{edge}",
                lambda c, k=edge: nr2(self.slew[k]),
                lambda c, k=edge: self._set(c, self.slew, k, self._current_range(), low=1e-4),
            )
        self._setting(
            "VOLTage:STATic:ILIM",
            lambda c: nr2(self._limit_query(c, self.cv_current_limit, self._current_range())),
            self._set_cv_limit,
        )
        self._setting(
            "CONFigure:VOLTage:ON",
            lambda c: nr2(self.von),
            lambda c: setattr(self, "von", c.number(0, low=0, high=self.voltage_max)),
        )
        self._setting(
            "CONFigure:VOLTage:OFF",
            lambda c: nr2(self.voff),
            lambda c: setattr(self, "voff", c.number(0, low=0, high=self.voltage_max)),
        )
        self._setting(
            "CONFigure:VOLTage:LATCh",
            lambda c: "1" if self.von_latch else "0",
            lambda c: setattr(self, "von_latch", c.boolean(0)),
        )
        self._setting(
            "CONFigure:REMote", lambda c: "1" if self.remote else "0", lambda c: setattr(self, "remote", c.boolean(0))
        )
        self._setting("LOAD[:STATe]", lambda c: "1" if self.load_on else "0", self._set_load)
        self._setting(
            "LOAD:SHORt[:STATe]", lambda c: "1" if self.short else "0", lambda c: setattr(self, "short", c.boolean(0))
        )
        self.command("LOAD:PROTection?", lambda c: "0")
        self.command("LOAD:PROTection:CLEar", lambda c: None)
        for verb in ("MEASure", "FETCh"):
            self.command(f"{verb}[:SCALar]:VOLTage?", lambda c: nr2(self._volts()))
            self.command(f"{verb}[:SCALar]:CURRent?", lambda c: nr2(self._amps()))
            self.command(
                f"{verb}[:SCALar]:POWer?",
                lambda c: nr2(self.wattmeter.read(self.port.terminal_voltage() * self.port.terminal_current())),
            )

    # -- settings ----------------------------------------------------------------------------
    def _current_range(self) -> float:
        letter = self.mode[-1] if self.mode[-1] in RANGE_FRACTIONS else "H"
        return self.current_max * RANGE_FRACTIONS[letter]

    @staticmethod
    def _limit_query(call: Call, value: float, high: float) -> float:
        """``CURR:STAT:L1? MAX`` / ``MIN`` give the range limits."""
        if call.args:
            return {"MAX": high, "MAXIMUM": high, "MIN": 0.0, "MINIMUM": 0.0}.get(call.arg(0).upper(), value)
        return value

    def _set(self, call: Call, table: dict, key: str, high: float, low: float = 0.0) -> None:
        table[key] = call.number(0, low=low, high=high)
        self._apply()

    def _set_cv_limit(self, call: Call) -> None:
        self.cv_current_limit = call.number(0, low=0.0, high=self._current_range())
        self._apply()

    def _set_mode(self, call: Call) -> None:
        mode = call.arg(0).strip().upper()
        if mode not in MODES:
            raise ScpiError(-224, "Illegal parameter value")
        self.mode = mode
        top = self._current_range()  # a lower range cuts the settings down to it
        self.current = {k: min(v, top) for k, v in self.current.items()}
        self.cv_current_limit = min(self.cv_current_limit, top)
        if self.load_on and mode not in PORT_MODES:
            self.load_on = False
        self._apply()

    def _set_load(self, call: Call) -> None:
        on = call.boolean(0)
        if on and self.mode not in PORT_MODES:
            raise ScpiError(*SETTINGS_CONFLICT)
        self.load_on = on
        self._apply()

    def _apply(self) -> None:
        """Put the settings on the circuit: what the load's regulator does."""
        port = self.port
        kind = PORT_MODES.get(self.mode)
        if kind is not None:
            port.set_mode(kind)
            port.set_current(self.current["L1"])
            port.set_voltage(self.voltage["L1"])
            port.set_cv_current_limit(self.cv_current_limit)
        port.set_input(self.load_on)

    # -- measurement -------------------------------------------------------------------------
    def _volts(self) -> float:
        return self.voltmeter.read(self.port.terminal_voltage())

    def _amps(self) -> float:
        return self.ammeter.read(self.port.terminal_current())
