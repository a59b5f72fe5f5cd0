"""SCPI drivers: every setting is followed by the instrument's own error query.

``ScpiDriver.set()`` writes one setting and then reads the error queue until it is empty;
any entry raises InstrumentReportedError carrying the instrument's own message and the
command that caused it. Queries never hold a message in flight while the bench waits:
polling loops sleep through the bench Clock between complete query/answer pairs.

The reply parsers (``parse_number``, ``parse_integer``, ``parse_error_reply``,
``parse_identity``) raise GarbledReply, naming the role, the query and the reply, for
anything that is not the form IEEE 488.2 gives; they never raise anything else.
"""

from __future__ import annotations

import math
import re

from bench.core.errors import GarbledReply, InstrumentError, InstrumentReportedError
from instruments.base import Driver, Identity
from instruments.visa import VisaLink

# "<code>,"<text>"" as IEEE 488.2 instruments answer the error query.
ERROR_REPLY = re.compile(r'^\s*([+-]?\d+)\s*,\s*"?(.*?)"?\s*$', re.DOTALL)
MAX_ERRORS = 32  # the error queue is usually 30 deep
# IEEE 488.2 numeric response data: NR1 (integer), NR2 (fixed point), NR3 (exponent form).
NR1 = re.compile(r"[+-]?\d+")
NRF = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# Words some instruments answer instead of a number (SCPI-99 NAN / INFinity / NINF).
NOT_NUMBERS = {"NAN": math.nan, "INF": math.inf, "+INF": math.inf, "-INF": -math.inf, "NINF": -math.inf}
# How much of a bad reply an error message quotes.
QUOTE = 60


def _quoted(reply: str) -> str:
    return repr(reply if len(reply) <= QUOTE else reply[:QUOTE] + "…")


def parse_number(role: str, query: str, reply: str) -> float:
    """A numeric reply (NR1/NR2/NR3, or NAN/INF); GarbledReply for anything else."""
    text = reply.strip()
    if NRF.fullmatch(text):
        value = float(text)
        if math.isinf(value):
            raise GarbledReply(role, f"{query!r} → {_quoted(reply)}: a number beyond any float", command=query)
        return value
    word = NOT_NUMBERS.get(text.upper())
    if word is not None:
        return word
    raise GarbledReply(role, f"{query!r} → {_quoted(reply)}: expected a number", command=query)


def parse_integer(role: str, query: str, reply: str) -> int:
    """An integer reply (NR1, or a whole number in NR2/NR3 form); GarbledReply for anything else."""
    text = reply.strip()
    if NR1.fullmatch(text):
        return int(text)
    if NRF.fullmatch(text):
        value = float(text)
        if math.isfinite(value) and value == int(value):
            return int(value)
    raise GarbledReply(role, f"{query!r} → {_quoted(reply)}: expected an integer", command=query)


def parse_error_reply(role: str, query: str, reply: str) -> tuple[int, str]:
    """``<code>,"<text>"`` of the error query; GarbledReply for anything else."""
    match = ERROR_REPLY.match(reply)
    if not match:
        raise GarbledReply(role, f'{query!r} → {_quoted(reply)}: expected <code>,"<text>"', command=query)
    return int(match.group(1)), match.group(2)


def _after(error: InstrumentError, command: str) -> InstrumentError:
    """The same kind of error, saying which setting the error query followed."""
    try:
        again = type(error)(error.role, f"{error.detail} (after {command!r})", command=command)
    except TypeError:  # a kind with another constructor: as it is
        return error
    again.__dict__.update({k: v for k, v in error.__dict__.items() if k not in again.__dict__})
    return again


def parse_identity(role: str, reply: str) -> Identity:
    """``*IDN?``: maker, model, serial, firmware (firmware may hold further commas)."""
    fields = [f.strip() for f in reply.split(",")]
    if len(fields) < 4 or not fields[0] or not fields[1]:
        raise GarbledReply(role, f"'*IDN?' → {_quoted(reply)}: expected maker,model,serial,firmware", command="*IDN?")
    return Identity(maker=fields[0], model=fields[1], serial=fields[2], firmware=",".join(fields[3:]), raw=reply)


class ScpiDriver(Driver):
    transport = "visa"
    error_query = "SYST:ERR?"
    read_termination = "\n"
    write_termination = "\n"
    init_commands: tuple[str, ...] = ()  # settings sent once after open (each error-checked)

    def __init__(self, config, clock, dut_guard=None):
        super().__init__(config, clock, dut_guard)
        self.link = VisaLink(
            config.role,
            config.resource,
            config.visa_backend,
            config.timeout_s,
            self.read_termination,
            self.write_termination,
        )

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> None:
        self.link.open()
        self.drain_errors()  # stale entries from before the bench opened the instrument
        self.identify()
        for command in self.init_commands:
            self.set(command)

    def close(self) -> None:
        self.link.close()

    def identify(self) -> Identity:
        self.identity = parse_identity(self.role, self.link.query("*IDN?"))
        return self.identity

    # -- talking -----------------------------------------------------------------------------
    def set(self, command: str) -> None:
        """Send one setting; raise the instrument's error if it queued one."""
        self.link.write(command)
        try:
            errors = self.read_errors()
        except InstrumentError as exc:  # name the setting too, not only the error query
            raise _after(exc, command) from None
        if errors:
            code, text = errors[0]
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            raise InstrumentReportedError(self.role, f'{command!r} → {code},"{text}"{more}', command=command)

    def ask(self, query: str) -> str:
        return self.link.query(query)

    def ask_float(self, query: str) -> float:
        return parse_number(self.role, query, self.link.query(query))

    def ask_int(self, query: str) -> int:
        return parse_integer(self.role, query, self.link.query(query))

    def read_errors(self) -> list[tuple[int, str]]:
        """Read the error queue until it reports 0; return the errors found."""
        found = []
        for _ in range(MAX_ERRORS):
            code, text = parse_error_reply(self.role, self.error_query, self.link.query(self.error_query))
            if code == 0:
                return found
            found.append((code, text))
        raise InstrumentReportedError(
            self.role,
            f"{self.error_query!r}: the error queue did not empty after {MAX_ERRORS} reads: {found[:3]}",
            command=self.error_query,
        )

    def drain_errors(self) -> None:
        self.read_errors()
