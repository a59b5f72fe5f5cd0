"""Simulated ITECH IT6000C bidirectional DC supply used as the battery simulator (docs/instruments.md §7).

Acts on a BatterySimulatorPort (wiring ``{1: port}``); measures the port's terminal voltage
and current (negative = sinking).

Registers and the observed write rules [D] (IT6054C live-test note):
* CV priority (``FUNC VOLT``): ``VOLT`` is the voltage setpoint, ``CURR:LIM`` (= ``CURR:LIM:POS``,
  and ``CURR``, which reads and writes the same register) the source limit, ``CURR:LIM:NEG``
  the sink limit (a negative number). ``VOLT:LIM`` and ``VOLT:LIM:NEG`` are refused.
* CC priority (``FUNC CURR``): ``CURR`` is the signed current setpoint, ``VOLT:LIM`` (and
  ``VOLT``, the same register) the voltage limit; ``CURR:LIM`` and ``CURR:LIM:NEG`` are refused.
* A refused write queues ``-221,"Settings conflict"`` [U text]; a value outside the rating
  ``-222,"Data out of range"``.
* Changing ``FUNC`` copies the active value into the other mode's limit register: CV→CC the
  voltage setpoint becomes the voltage limit; CC→CV the current setpoint becomes the source
  (or, when negative, the sink) current limit.
* Setting ranges: 0 … ``voltage_max``, ±``current_max``, ±``power_max`` (the settable
  maxima, e.g. a profile's rating). From the model name ``IT6<kW>C-<V>-<A>`` when not
  given: rated V and A, and 1.02 × rated power (the IT6054C reads back ±55080 W [D]).
  The power limits start at ±``power_max``.

Protections (OVP, OCP, OPP, UVP, UCP) are checked when a message arrives, from the terminal
values at that bench time (no timers): a condition that has held for its delay trips the
output off and latches its ``STAT:QUES:COND?`` bit until ``OUTP:PROT:CLE``.

Hardware inhibit (the rear-panel interlock input, wired to the EV simulator's relay board):
while its line is open the output is off whatever ``OUTP`` says — ``OUTP?`` still answers the
setting, the measurements read the dead terminals, ``STAT:OPER:COND?`` shows no regulation
and ``STAT:QUES:COND?`` sets bit 2048 INHIBIT [D] (the tested driver's table); protections
are not evaluated then. [U] the real unit's inhibit mode (live or latched, set on its panel):
this simulation is the live (level) mode, which releases the output when the line closes.

Replies: measurements as plain numbers with 6 significant digits (``-1.99969``); ``OUTP?``
``1``/``0``; ``FUNC?`` ``VOLT``/``CURR``; ``*IDN?`` six fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from instruments.sim.frontends.common import Meter, RootFallback, Settings, decade_resolution
from instruments.sim.scpi import Call, ScpiError, ScpiFrontEnd

SETTINGS_CONFLICT = (-221, "Settings conflict")  # [U] ITECH text
POWER_MARGIN = 1.02  # [D] the IT6054C (54 kW) reads back ±55080 W as its power limits
READBACK_COUNTS = 100_000
CONTROL_FIRMWARE = ("640.R", "132.R")  # [D] control-board versions in the live-test note
QUES_BITS = {"OVP": 1, "OCP+": 2, "OCP-": 4, "OPP+": 8, "OPP-": 16, "UVP": 32, "OTP": 64, "UCP": 128}
QUES_PROTECTION = 8192
QUES_INHIBIT = 2048  # [D] the tested driver's STAT:QUES:COND? table
OPER_BITS = {"cc+": 128, "cv": 256, "cp+": 512, "cc-": 2048, "cp-": 4096}
_MODEL = re.compile(r"IT6(\d{3})C-(\d+)-(\d+)", re.IGNORECASE)


def plain(value: float) -> str:
    return f"{value:.6g}"


@dataclass
class Protection:
    level: float
    enabled: bool = False
    delay: float = 0.0
    warm: float = 0.0  # under-protections only: not armed for this long after output on
    since: float | None = None  # bench time the condition was first seen


class ItechIT6000CFrontEnd(Settings, RootFallback, ScpiFrontEnd):
    def __init__(
        self,
        name: str,
        clock,
        identity: tuple[str, ...],
        wiring: dict,
        rng: np.random.Generator,
        *,
        voltage_max: float | None = None,
        current_max: float | None = None,
        power_max: float | None = None,
        system_version: str = "IT60xxSrc-v1.3.7",
    ):
        super().__init__(name)
        self.clock = clock
        self.port = wiring[1]
        fields = list(identity)
        if len(fields) == 4 and "," not in fields[3]:
            fields += CONTROL_FIRMWARE
        self.idn = ",".join(fields)
        self.system_version = system_version
        match = _MODEL.search(fields[1])
        # the largest settable magnitudes: given (a profile's rating), or from the model name
        self.power_max = power_max or (int(match.group(1)) * 1000.0 * POWER_MARGIN if match else 6120.0)
        self.voltage_max = voltage_max or (float(match.group(2)) if match else 800.0)
        self.current_max = current_max or (float(match.group(3)) if match else 40.0)
        # six-digit read-back (``11.9241``, ``-1.99969`` in the live-test note)
        self.voltmeter = Meter(rng, decade_resolution(self.voltage_max, READBACK_COUNTS))
        self.ammeter = Meter(rng, decade_resolution(self.current_max, READBACK_COUNTS))
        self.wattmeter = Meter(rng, decade_resolution(self.power_max, READBACK_COUNTS))
        self.remote = False
        self.reset()
        self._declare()

    def reset(self) -> None:
        self.output = False
        self.output_on_at = 0.0
        self.priority = "VOLT"
        self.function_mode = "FIXED"
        self.cv_voltage = 0.0
        self.cv_current_limit = 0.0
        self.cv_current_limit_neg = 0.0
        self.cc_current = 0.0
        self.cc_voltage_limit = 0.0
        self.cc_voltage_limit_neg = 0.0
        self.power_limit = self.power_max
        self.power_limit_neg = -self.power_max
        v, i, p = self.voltage_max, self.current_max, self.power_max
        self.protections = {
            "OVP": Protection(v),
            "OCP": Protection(i),
            "OPP": Protection(p),
            "UVP": Protection(0.0),
            "UCP": Protection(0.0),
        }
        self.latched: set[str] = set()
        self._apply()

    # -- declaration -------------------------------------------------------------------------
    def _declare(self) -> None:
        v, i, p = self.voltage_max, self.current_max, self.power_max
        self.command("SYSTem:REMote", lambda c: setattr(self, "remote", True))
        self.command("SYSTem:LOCal", lambda c: setattr(self, "remote", False))
        self.command("SYSTem:VERSion?", lambda c: self.system_version)
        self._setting("OUTPut[:STATe]", lambda c: "1" if self.output else "0", self._set_output)
        self.command("OUTPut:PROTection:CLEar", lambda c: self.latched.clear())
        self._setting("[SOURce:]FUNCtion", lambda c: self.priority, self._set_priority)
        self._setting(
            "[SOURce:]FUNCtion:MODE",
            lambda c: self.function_mode,
            lambda c: setattr(self, "function_mode", c.choice(0, "FIXed", "LIST", "BATTery", "SOLar", "CARProfile")),
        )
        self._setting(
            "[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]",
            lambda c: plain(self._voltage_register()),
            lambda c: self._write(c, "voltage", 0.0, v),
        )
        self._setting(
            "[SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude]",
            lambda c: plain(self._current_register()),
            lambda c: self._write(c, "current", -i, i),
        )
        self._setting(
            "[SOURce:]CURRent[:LEVel]:LIMit[:POSitive]",
            lambda c: plain(self.cv_current_limit),
            lambda c: self._write(c, "cv_current_limit", 0.0, i, only="VOLT"),
        )
        self._setting(
            "[SOURce:]CURRent[:LEVel]:LIMit:NEGative",
            lambda c: plain(self.cv_current_limit_neg),
            lambda c: self._write(c, "cv_current_limit_neg", -i, 0.0, only="VOLT"),
        )
        self._setting(
            "[SOURce:]VOLTage[:LEVel]:LIMit[:POSitive]",
            lambda c: plain(self.cc_voltage_limit),
            lambda c: self._write(c, "cc_voltage_limit", 0.0, v, only="CURR"),
        )
        self._setting(
            "[SOURce:]VOLTage[:LEVel]:LIMit:NEGative",
            lambda c: plain(self.cc_voltage_limit_neg),
            lambda c: self._write(c, "cc_voltage_limit_neg", 0.0, v, only="CURR"),
        )
        self._setting(
            "[SOURce:]POWer[:LEVel]:LIMit[:POSitive]",
            lambda c: plain(self.power_limit),
            lambda c: self._write(c, "power_limit", 0.0, p),
        )
        self._setting(
            "[SOURce:]POWer[:LEVel]:LIMit:NEGative",
            lambda c: plain(self.power_limit_neg),
            lambda c: self._write(c, "power_limit_neg", -p, 0.0),
        )
        for key, quantity, high in (
            ("OVP", "VOLTage", v),
            ("OCP", "CURRent", i),
            ("OPP", "POWer", p),
            ("UVP", "VOLTage:UNDer", v),
            ("UCP", "CURRent:UNDer", i),
        ):
            self._protection_commands(key, f"[SOURce:]{quantity}:PROTection", high)
        for verb in ("MEASure", "FETCh"):
            self.command(
                f"{verb}[:SCALar]:VOLTage[:DC]?", lambda c: plain(self.voltmeter.read(self.port.terminal_voltage()))
            )
            self.command(
                f"{verb}[:SCALar]:CURRent[:DC]?", lambda c: plain(self.ammeter.read(self.port.terminal_current()))
            )
            self.command(
                f"{verb}[:SCALar]:POWer[:DC]?",
                lambda c: plain(self.wattmeter.read(self.port.terminal_voltage() * self.port.terminal_current())),
            )
        self.command("STATus:QUEStionable:CONDition?", lambda c: str(self._questionable()))
        self.command("STATus:OPERation:CONDition?", lambda c: str(self._operation()))

    def _protection_commands(self, key: str, root: str, high: float) -> None:
        guard = lambda: self.protections[key]  # noqa: E731 - looked up per call: *RST replaces them
        self._setting(
            f"{root}[:LEVel]",
            lambda c: plain(guard().level),
            lambda c: setattr(guard(), "level", c.number(0, low=0.0, high=high)),
        )
        self._setting(
            f"{root}:STATe",
            lambda c: "1" if guard().enabled else "0",
            lambda c: setattr(guard(), "enabled", c.boolean(0)),
        )
        self._setting(
            f"{root}:DELay",
            lambda c: plain(guard().delay),
            lambda c: setattr(guard(), "delay", c.number(0, low=0.0, high=60.0)),
        )
        if key in ("UVP", "UCP"):
            self._setting(
                f"{root}:WARM",
                lambda c: plain(guard().warm),
                lambda c: setattr(guard(), "warm", c.number(0, low=0.0, high=60.0)),
            )

    # -- registers ---------------------------------------------------------------------------
    def _voltage_register(self) -> float:
        return self.cv_voltage if self.priority == "VOLT" else self.cc_voltage_limit

    def _current_register(self) -> float:
        return self.cv_current_limit if self.priority == "VOLT" else self.cc_current

    def _write(self, call: Call, register: str, low: float, high: float, only: str | None = None) -> None:
        if only is not None and self.priority != only:
            raise ScpiError(*SETTINGS_CONFLICT)
        if register == "voltage":
            register = "cv_voltage" if self.priority == "VOLT" else "cc_voltage_limit"
        elif register == "current":
            if self.priority == "VOLT":
                register, low = "cv_current_limit", 0.0
            else:
                register = "cc_current"
        setattr(self, register, call.number(0, low=low, high=high))
        self._apply()

    def _set_priority(self, call: Call) -> None:
        new = call.choice(0, "VOLTage", "CURRent")[:4]
        if new == self.priority:
            return
        if new == "CURR":
            self.cc_voltage_limit = self.cv_voltage
        elif self.cc_current >= 0:
            self.cv_current_limit = self.cc_current
        else:
            self.cv_current_limit_neg = self.cc_current
        self.priority = new
        self._apply()

    def _set_output(self, call: Call) -> None:
        on = call.boolean(0)
        if on and self.latched:
            raise ScpiError(*SETTINGS_CONFLICT)  # clear the protection first
        if on and not self.output:
            self.output_on_at = self.clock.now()
        self.output = on
        self._apply()

    def _apply(self) -> None:
        port = self.port
        if self.priority == "VOLT":
            port.set_priority("voltage")
            port.set_voltage(self.cv_voltage)
            port.set_current_limits(self.cv_current_limit, self.cv_current_limit_neg)
        else:
            port.set_priority("current")
            port.set_voltage(self.cc_voltage_limit)  # the port's voltage is the limit in CC priority
            port.set_current(self.cc_current)
        port.set_power_limits(self.power_limit, self.power_limit_neg)
        port.set_output(self.output)

    # -- status and protection ---------------------------------------------------------------
    def handle_message(self, message: str) -> bytes:
        self._check_protections()
        return super().handle_message(message)

    def _check_protections(self) -> None:
        if not self.output or self._inhibited():
            return
        now = self.clock.now()
        volts, amps = self.port.terminal_voltage(), self.port.terminal_current()
        watts = volts * amps
        conditions = {
            "OVP": ("OVP", volts > self.protections["OVP"].level),
            "OCP": ("OCP+" if amps >= 0 else "OCP-", abs(amps) > self.protections["OCP"].level),
            "OPP": ("OPP+" if watts >= 0 else "OPP-", abs(watts) > self.protections["OPP"].level),
            "UVP": ("UVP", volts < self.protections["UVP"].level),
            "UCP": ("UCP", abs(amps) < self.protections["UCP"].level),
        }
        for key, (bit, holds) in conditions.items():
            guard = self.protections[key]
            armed = guard.enabled and now - self.output_on_at >= guard.warm
            if not (armed and holds):
                guard.since = None
                continue
            guard.since = now if guard.since is None else guard.since
            if now - guard.since >= guard.delay:
                self.latched.add(bit)
                self.output = False
                self.port.set_output(False)
                return

    def _inhibited(self) -> bool:
        return bool(getattr(self.port, "inhibited", False))

    def _questionable(self) -> int:
        value = sum(QUES_BITS[bit] for bit in self.latched)
        value = value | QUES_PROTECTION if self.latched else value
        return value | QUES_INHIBIT if self._inhibited() else value

    def _operation(self) -> int:
        return sum(OPER_BITS.get(state, 0) for state in self.port.status())
