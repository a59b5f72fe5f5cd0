"""The bench's error types.

Every error the bench raises on purpose is a BenchError with one line of text that names
what went wrong and where (file and key, instrument role and resource, command sent).
Anything else reaching the top is a bug.

What an instrument does wrong comes in distinct kinds, each a class (and a ``kind`` label at
the head of its message after the role), never all "no answer":

| class | kind | what happened | the link |
|---|---|---|---|
| InstrumentLost | – | unreachable: connection closed by the instrument, cannot connect, not open | closed |
| InstrumentTimeout(InstrumentLost) | timeout | no answer in time | closed |
| ConnectionReset(InstrumentLost) | connection reset | the instrument reset the connection | closed |
| BusOff(InstrumentLost) | bus-off | the CAN controller is off the bus: sending refused | off the bus |
| GarbledReply(InstrumentError) | garbled reply | an answer that cannot be parsed | open when still in step |
| BlockLengthMismatch(GarbledReply) | block length | a binary block whose header lies about its length, or a truncated block | closed |
| InstrumentReportedError(InstrumentError) | instrument error | the instrument reported an error (SCPI error queue, Modbus exception) | open |
| CanBusError(InstrumentError) | bus error | error frames on the CAN bus drove the controller error passive | on the bus |

The kinds that leave the instrument unreachable derive from InstrumentLost, so every
``except InstrumentLost`` (the safe state skips such a step) keeps working; the session
reconnects such an instrument at the start of the next test when it answers again.
"""

import os


class BenchError(Exception):
    """Base of every error the bench raises on purpose."""


class ProfileError(BenchError):
    """A profile file that cannot be used: `<file>: <key>: <what was expected>`."""

    def __init__(self, path: str | os.PathLike[str], key: str, expected: str):
        self.path = str(path)
        self.key = key
        self.expected = expected
        super().__init__(f"{self.path}: {key}: {expected}")


class ClockError(BenchError):
    """The clock was used in a way that would break time order (e.g. a nested sleep)."""


class WaitTimeout(BenchError):
    """A wait helper ran out of time; carries how long it waited."""

    def __init__(self, what: str, timeout: float, elapsed: float):
        self.what = what
        self.timeout = timeout
        self.elapsed = elapsed
        super().__init__(f"timed out after {elapsed:.3f} s waiting for {what} (timeout {timeout:g} s)")


class InstrumentError(BenchError):
    """An instrument answered with an error, or an answer that cannot be parsed.

    ``role: [kind: ]message``; ``command`` is what the bench sent when it happened (None
    when it was no command, e.g. opening). Subclasses name their ``kind``.
    """

    kind = ""

    def __init__(self, role: str, message: str, *, command: str | None = None):
        self.role = role
        self.command = command
        self.detail = message
        head = f"{self.kind}: " if self.kind and not message.startswith(self.kind) else ""
        super().__init__(f"{role}: {head}{message}")


class NoTrigger(InstrumentError):
    """A scope acquisition ended without a trigger (the awaited edge never came)."""


class InstrumentLost(InstrumentError):
    """The instrument cannot be reached: the connection is gone (closed by the instrument,
    refused, not open). Its subclasses say how it went."""


def not_reconnected(role: str, cause: "InstrumentError | None", command: str, resource: str) -> "InstrumentLost":
    """The error of a call on a link that is closed: of the same unreachable kind as the fault
    that closed it (``cause``), naming the command and that fault."""
    if cause is None:
        return InstrumentLost(role, f"{resource} is not open (while sending {command!r})", command=command)
    kind = type(cause) if isinstance(cause, InstrumentLost) else InstrumentLost
    why = f"{cause.kind}: {cause.detail}" if cause.kind else cause.detail
    return kind(role, f"not reconnected since {why} (while sending {command!r})", command=command)


class InstrumentTimeout(InstrumentLost):
    """No answer within the instrument's timeout."""

    kind = "timeout"


class ConnectionReset(InstrumentLost):
    """The instrument reset the connection (TCP RST) instead of answering."""

    kind = "connection reset"


class BusOff(InstrumentLost):
    """The bench's CAN controller went bus-off: it refuses to send until it is reset."""

    kind = "bus-off"


class GarbledReply(InstrumentError):
    """An answer that arrived but cannot be parsed (not a number, bad bytes, wrong form)."""

    kind = "garbled reply"


class BlockLengthMismatch(GarbledReply):
    """An IEEE 488.2 definite-length block whose header lies about its length, or a block
    cut short; the link is out of step afterwards."""

    kind = "block length"


class InstrumentReportedError(InstrumentError):
    """The instrument itself reported an error: an SCPI error-queue entry, a Modbus exception."""

    kind = "instrument error"


class CanBusError(InstrumentError):
    """Error frames on the CAN bus drove the bench's controller error passive: the traffic the
    test judges was disturbed."""

    kind = "bus error"


class SetpointRefused(BenchError):
    """A setpoint outside the instrument's or the DUT's range; nothing was sent."""

    def __init__(self, role: str, quantity: str, value: float, low: float, high: float, unit: str, whose: str):
        self.role = role
        self.quantity = quantity
        self.value = value
        super().__init__(
            f"{role}: {quantity} setpoint {value:g} {unit} refused: outside the {whose} range "
            f"{low:g} … {high:g} {unit}; nothing was sent"
        )


class ProtocolError(BenchError):
    """A frame or message that the bench cannot decode (garbled, wrong length, unknown)."""
