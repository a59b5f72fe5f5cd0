"""A SCPI front end: parses program messages the way instruments do and dispatches them.

Commands are declared in SCPI notation, e.g. ``":CHANnel<n>:SCALe"`` or
``"[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]:AC"``: the upper-case part is the short
form, brackets are optional nodes, ``<n>`` a numeric suffix. Long and short forms are both
accepted, case does not matter. A program message may hold several commands separated by
``;``; one without a leading colon continues the path of the previous one (IEEE 488.2 /
SCPI "current path"). Query answers of one message are joined with ``;``.

An unknown header queues ``-113,"Undefined header"``; a handler raises ScpiError for bad
parameters. The error queue is read by the instrument's own error query.

Injected faults (tests only, instruments/sim/test_controls.py): ``faults``, when set, sees
every command first; it may swallow it (no answer), reset the connection, queue an error
after it, or garble (or make a block's header lie about) the reply.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from instruments.sim.command_log import CommandLog

ERROR_QUEUE_DEPTH = 30


class ScpiError(Exception):
    def __init__(self, code: int, text: str):
        self.code = code
        self.text = text
        super().__init__(f'{code},"{text}"')


UNDEFINED_HEADER = (-113, "Undefined header")
ILLEGAL_PARAMETER = (-224, "Illegal parameter value")
DATA_OUT_OF_RANGE = (-222, "Data out of range")
MISSING_PARAMETER = (-109, "Missing parameter")
QUEUE_OVERFLOW = (-350, "Queue overflow")


@dataclass
class ScpiSession:
    buffer: bytearray = field(default_factory=bytearray)


@dataclass
class Call:
    """One parsed command as a handler sees it."""

    header: str  # as sent
    suffixes: tuple[int, ...]  # numeric suffixes in order (CHANnel<n> → n), 1 when omitted
    args: list[str]  # parameters, split on commas, stripped (quotes kept)
    query: bool

    def arg(self, index: int = 0) -> str:
        try:
            return self.args[index]
        except IndexError:
            raise ScpiError(*MISSING_PARAMETER) from None

    def number(self, index: int = 0, low: float | None = None, high: float | None = None) -> float:
        """A numeric parameter (NRf, with optional unit suffix such as V, A, W, HZ, or MAX/MIN)."""
        text = self.arg(index).strip().upper()
        match = re.fullmatch(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:E[+-]?\d+)?)\s*(K|M|U|MA)?([A-Z]*)", text)
        if match is None:
            if text in ("MAX", "MAXIMUM") and high is not None:
                return high
            if text in ("MIN", "MINIMUM") and low is not None:
                return low
            raise ScpiError(*ILLEGAL_PARAMETER)
        value = float(match.group(1))
        value *= {"K": 1e3, "M": 1e-3, "U": 1e-6, "MA": 1e6, None: 1.0}[match.group(2)]
        if (low is not None and value < low) or (high is not None and value > high):
            raise ScpiError(*DATA_OUT_OF_RANGE)
        return value

    def boolean(self, index: int = 0) -> bool:
        text = self.arg(index).strip().upper()
        if text in ("1", "ON"):
            return True
        if text in ("0", "OFF"):
            return False
        raise ScpiError(*ILLEGAL_PARAMETER)

    def choice(self, index: int, *options: str) -> str:
        """Match a character parameter against options written in SCPI long/short notation."""
        text = self.arg(index).strip().upper()
        for option in options:
            if _mnemonic_regex(option).fullmatch(text):
                return option.upper()
        raise ScpiError(*ILLEGAL_PARAMETER)


Handler = Callable[[Call], "str | bytes | None"]


def _mnemonic_regex(mnemonic: str) -> re.Pattern:
    """``CHANnel`` → CHAN|CHANNEL (case-insensitive, a numeric suffix captured separately)."""
    short = "".join(ch for ch in mnemonic if ch.isupper() or ch.isdigit() or ch in "*?")
    full = mnemonic.upper()
    alternatives = {re.escape(full), re.escape(short)} if short else {re.escape(full)}
    return re.compile("(?:" + "|".join(sorted(alternatives, key=len, reverse=True)) + ")", re.IGNORECASE)


def compile_pattern(pattern: str) -> re.Pattern:
    """SCPI command notation → a regex matching full headers (leading colon optional)."""
    text = pattern.strip()
    query = text.endswith("?")
    if query:
        text = text[:-1]
    if text.startswith("*"):
        return re.compile(re.escape(text) + (r"\?" if query else "") + "$", re.IGNORECASE)
    # Every node carries its own leading colon; headers are matched with a leading colon.
    regex = "^"
    for optional, node in re.findall(r"(\[?):?([A-Za-z0-9<>*]+)\]?", text):
        suffix = node.endswith("<n>")
        name = node[:-3] if suffix else node
        part = ":" + _mnemonic_regex(name).pattern + (r"(\d*)" if suffix else "")
        regex += f"(?:{part})?" if optional else part
    return re.compile(regex + (r"\?" if query else "") + "$", re.IGNORECASE)


class ScpiFrontEnd:
    """Base class of the simulated SCPI instruments.

    Subclasses call ``self.command(pattern, handler)`` for each command they know and set
    ``idn`` and ``error_query``. ``format_error`` gives the instrument's own reply format.
    """

    idn = "SIM,INSTRUMENT,0,0"
    error_queries = ("SYSTem:ERRor[:NEXT]?",)
    terminator = b"\n"
    # Some instruments take a command after ";" from the root when it does not fit the
    # current path: ``VOLT:AC 220;VOLT:RANG HIGH`` (the Chroma 61603 manual's own example)
    # would be ``VOLT:VOLT:RANG`` under strict SCPI path rules. Only a header that is unknown
    # with the path and known without it is taken from the root.
    root_fallback = False

    def __init__(self, name: str):
        self.name = name
        self.errors: deque[tuple[int, str]] = deque()
        self._commands: list[tuple[re.Pattern, Handler]] = []
        self.log: CommandLog[str] = CommandLog()  # the commands received (the latest kept), for tests
        self.faults = None  # a test_controls.FaultInjector when a fault plan names this instrument
        self.command("*IDN?", lambda call: self.idn)
        self.command("*CLS", lambda call: self.errors.clear())
        self.command("*OPC?", lambda call: "1")
        self.command("*RST", lambda call: self.reset())
        for query in self.error_queries:
            self.command(query, lambda call: self.next_error())

    # -- declaration -------------------------------------------------------------------------
    def command(self, pattern: str, handler: Handler) -> None:
        self._commands.append((compile_pattern(pattern), handler))

    def reset(self) -> None:
        """*RST: subclasses restore their settings."""

    # -- error queue -------------------------------------------------------------------------
    def push_error(self, code: int, text: str) -> None:
        if len(self.errors) >= ERROR_QUEUE_DEPTH:
            self.errors[-1] = QUEUE_OVERFLOW
            return
        self.errors.append((code, text))

    def next_error(self) -> str:
        code, text = self.errors.popleft() if self.errors else (0, "No error")
        return self.format_error(code, text)

    def format_error(self, code: int, text: str) -> str:
        return f'{code:+d},"{text}"'

    # -- wire --------------------------------------------------------------------------------
    def new_session(self) -> ScpiSession:
        return ScpiSession()

    def feed(self, session: ScpiSession, data: bytes) -> bytes:
        session.buffer += data
        out = bytearray()
        while (end := session.buffer.find(self.terminator)) >= 0:
            line = bytes(session.buffer[:end]).decode("ascii", errors="replace").strip()
            del session.buffer[: end + len(self.terminator)]
            if line:
                reply = self.handle_message(line)
                out += self.faults.reply(reply, self.terminator) if self.faults is not None and reply else reply
        return bytes(out)

    def handle_message(self, message: str) -> bytes:
        """One program message (may hold several ``;``-separated commands)."""
        answers: list[bytes] = []
        path = ""
        for unit in _split_units(message):
            self.log.append(unit)
            fault = self.faults.command(unit) if self.faults is not None else None
            if fault is not None and fault.swallows:
                continue  # no answer: the instrument does not take the command
            header, _, params = unit.partition(" ")
            header = header.strip()
            if not header.startswith((":", "*")) and path:
                relative = path + ":" + header
                if not (self.root_fallback and not self.known(relative) and self.known(header)):
                    header = relative
            if not header.startswith("*"):
                path = header.lstrip(":").rsplit(":", 1)[0] if ":" in header.lstrip(":") else ""
            call_args = _split_params(params)
            answer = self._dispatch(header, call_args)
            if fault is not None and fault.error is not None:
                self.push_error(*fault.error)  # the error the plan queues after this command
            if answer is not None:
                answers.append(answer if isinstance(answer, bytes) else str(answer).encode("ascii"))
        if not answers:
            return b""
        return b";".join(answers) + self.terminator

    def known(self, header: str) -> bool:
        """Whether some declared command matches ``header``."""
        header = header if header.startswith(("*", ":")) else ":" + header
        return any(pattern.match(header) for pattern, _ in self._commands)

    def _dispatch(self, header: str, args: list[str]):
        for pattern, handler in self._commands:
            match = pattern.match(header if header.startswith(("*", ":")) else ":" + header)
            if match:
                suffixes = tuple(int(g) if g else 1 for g in match.groups())
                call = Call(header, suffixes, args, header.endswith("?"))
                try:
                    return handler(call)
                except ScpiError as exc:
                    self.push_error(exc.code, exc.text)
                    return None
        self.push_error(*UNDEFINED_HEADER)
        return None


def _split_units(message: str) -> list[str]:
    """Split a program message on ``;`` outside quotes."""
    units, current, quote = [], [], None
    for ch in message:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            current.append(ch)
        elif ch == ";":
            units.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    units.append("".join(current).strip())
    return [u for u in units if u]


def _split_params(params: str) -> list[str]:
    params = params.strip()
    if not params:
        return []
    return [p.strip() for p in params.split(",")]


def definite_block(payload: bytes) -> bytes:
    """IEEE 488.2 definite-length block: ``#`` + digit count + length + bytes."""
    length = str(len(payload))
    return b"#" + str(len(length)).encode() + length.encode() + payload


def fixed_block(payload: bytes, digits: int) -> bytes:
    """A block with a fixed number of length digits (Keysight ``#8``, Rigol ``#9``)."""
    return b"#" + str(digits).encode() + str(len(payload)).zfill(digits).encode() + payload
