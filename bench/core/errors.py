"""The bench's error types.

Every error the bench raises on purpose is a BenchError with one line of text that names
what went wrong and where (file and key, instrument role and resource, command sent).
Anything else reaching the top is a bug.
"""


class BenchError(Exception):
    """Base of every error the bench raises on purpose."""


class ProfileError(BenchError):
    """A profile file that cannot be used: `<file>: <key>: <what was expected>`."""

    def __init__(self, path, key: str, expected: str):
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
    """An instrument answered with an error, or an answer that cannot be parsed."""

    def __init__(self, role: str, message: str):
        self.role = role
        super().__init__(f"{role}: {message}")


class NoTrigger(InstrumentError):
    """A scope acquisition ended without a trigger (the awaited edge never came)."""


class InstrumentLost(InstrumentError):
    """The connection to an instrument is gone (socket closed, no answer in time)."""


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
