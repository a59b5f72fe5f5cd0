"""SCPI drivers: every setting is followed by the instrument's own error query.

``ScpiDriver.set()`` writes one setting and then reads the error queue until it is empty;
any entry raises InstrumentError carrying the instrument's own message and the command
that caused it. Queries never hold a message in flight while the bench waits: polling
loops sleep through the bench Clock between complete query/answer pairs.
"""

from __future__ import annotations

import re

from bench.core.errors import InstrumentError
from instruments.base import Driver, Identity
from instruments.visa import VisaLink

# "<code>,"<text>"" as IEEE 488.2 instruments answer the error query.
ERROR_REPLY = re.compile(r'^\s*([+-]?\d+)\s*,\s*"?(.*?)"?\s*$')
MAX_ERRORS = 32  # the error queue is usually 30 deep


class ScpiDriver(Driver):
    transport = "visa"
    error_query = "SYST:ERR?"
    read_termination = "\n"
    write_termination = "\n"
    init_commands: tuple[str, ...] = ()  # settings sent once after open (each error-checked)

    def __init__(self, config, clock, dut_guard=None):
        super().__init__(config, clock, dut_guard)
        self.link = VisaLink(config.role, config.resource, config.visa_backend, config.timeout_s,
                             self.read_termination, self.write_termination)

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
        raw = self.link.query("*IDN?")
        fields = [f.strip() for f in raw.split(",")]
        if len(fields) < 4:
            raise InstrumentError(self.role, f"*IDN? answer {raw!r} has fewer than 4 fields")
        self.identity = Identity(maker=fields[0], model=fields[1], serial=fields[2],
                                 firmware=",".join(fields[3:]), raw=raw)
        return self.identity

    # -- talking -----------------------------------------------------------------------------
    def set(self, command: str) -> None:
        """Send one setting; raise the instrument's error if it queued one."""
        self.link.write(command)
        errors = self.read_errors()
        if errors:
            code, text = errors[0]
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            raise InstrumentError(self.role, f"{command!r} → {code},\"{text}\"{more}")

    def ask(self, query: str) -> str:
        return self.link.query(query)

    def ask_float(self, query: str) -> float:
        reply = self.link.query(query)
        try:
            return float(reply)
        except ValueError:
            raise InstrumentError(self.role, f"{query!r} → {reply!r}: expected a number") from None

    def ask_int(self, query: str) -> int:
        reply = self.link.query(query)
        try:
            return int(float(reply))
        except ValueError:
            raise InstrumentError(self.role, f"{query!r} → {reply!r}: expected an integer") from None

    def read_errors(self) -> list[tuple[int, str]]:
        """Read the error queue until it reports 0; return the errors found."""
        found = []
        for _ in range(MAX_ERRORS):
            reply = self.link.query(self.error_query)
            match = ERROR_REPLY.match(reply)
            if not match:
                raise InstrumentError(self.role, f"{self.error_query!r} → {reply!r}: expected <code>,\"<text>\"")
            code = int(match.group(1))
            if code == 0:
                return found
            found.append((code, match.group(2)))
        raise InstrumentError(self.role, f"error queue did not empty after {MAX_ERRORS} reads: {found[:3]}")

    def drain_errors(self) -> None:
        self.read_errors()
