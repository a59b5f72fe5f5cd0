"""The charger's and the vehicle's GB/T 27930 frames as the DC bench reads them: frames awaited,
the 4.2.7 items sent and uploaded, message periods."""

from __future__ import annotations

from collections.abc import Callable

from bench.analysis.dc import flags_set
from bench.api.dc.parts import DcBenchParts
from bench.api.frames import Frame
from bench.api.timings import (
    PHASE_POLL_S,
    QUIET_POLL_S,
)
from bench.core.errors import BenchError
from bench.protocols.gbt27930.catalogue import BY_NAME, CHARGER
from bench.protocols.gbt27930.monitor import MIN_INTERVALS

# GB/T 27930 names of the 4.2.7 items → the names the platform channel uses.
BRM_UPLOADS = {"vin": "vin", "rated_capacity": "battery_capacity"}


class DcMessages(DcBenchParts):
    """The frames on the bus."""

    def wait_for_frame(
        self,
        name: str,
        since: float,
        window_s: float,
        *,
        poll: float = PHASE_POLL_S,
        where: Callable[[Frame], bool] = lambda frame: True,
    ) -> Frame | None:
        """The first ``name`` frame at or after ``since`` (that ``where`` accepts), waiting
        until ``since + window_s`` at most; None when none came."""

        def found() -> Frame | None:
            return next((f for f in self.frames.frames(name, since) if where(f)), None)

        remaining = since + window_s - self.now()
        if found() is None and remaining > 0:
            self.try_wait_until(lambda: found() is not None, remaining, poll=poll, what=f"a {name} frame")
        return found()

    def time_until_frame(self, name: str, since: float, window_s: float, **kw) -> tuple[float, Frame | None]:
        """(time from ``since`` to the first ``name`` frame, the frame); when none came within
        ``window_s`` the window is the time (a lower bound) and the frame None."""
        frame = self.wait_for_frame(name, since, window_s, **kw)
        return (window_s, None) if frame is None else (frame.time - since, frame)

    @staticmethod
    def describe_stop(frame: Frame | None, name: str, window_s: float) -> str:
        """A stop message found or not, for a check's detail."""
        if frame is None:
            return f"no {name} within {window_s:g} s: the time is a lower bound"
        return f"{name} with {', '.join(flags_set(frame.values)) or 'no flag set'}"

    def sent_bms_info(self, since: float = 0.0) -> dict[str, tuple[object, float | None]]:
        """The 4.2.7 items as the vehicle last sent them on the bus (BRM and the extension
        messages): upload name → (value, the frame's resolution; None for text and labels)."""
        sent: dict[str, tuple[object, float | None]] = {}
        brm = self.frames.last("BRM", since)
        if brm is not None:
            fields = {f.name: f for f in BY_NAME["BRM"].fields}
            for name, upload in BRM_UPLOADS.items():
                if brm.values.get(name) is not None:
                    field = fields[name]
                    sent[upload] = (brm.values[name], field.scale if field.kind == "uint" else None)
        for ext in self.frames.extension.messages:
            frame = self.frames.last(ext.name, since)
            if frame is None:
                continue
            signals = {s.name: s for s in ext.message.signals}
            for name, value in frame.values.items():
                if value is None:
                    continue
                signal = signals.get(name)
                labelled = isinstance(value, str) or signal is None or signal.choices
                sent[name] = (value, None if labelled or signal is None else signal.scale)
        return sent

    def wait_for_extension_messages(self) -> bool:
        """Until every 4.2.7 extension message has been sent at least once in this test (at
        most its longest period and a poll more); False when one never came."""
        messages = self.frames.extension.messages
        window = max(m.period_s for m in messages) + QUIET_POLL_S
        return (
            self.try_wait_until(
                lambda: all(self.frames.last(m.name) for m in messages),
                window,
                poll=QUIET_POLL_S,
                what="the 4.2.7 extension messages",
            )
            is not None
        )

    def uploaded_bms_info(self) -> dict:
        """The 4.2.7 items as the pile gives them to the platform."""
        return self.platform.bms_info()

    def message_periods(self, sender: str = CHARGER, min_intervals: int = MIN_INTERVALS) -> dict[str, dict]:
        """Per message of ``sender`` in this test so far (from the test's conformance monitor):
        mean period, nominal period and number of intervals; only messages with at least
        ``min_intervals`` intervals between pauses."""
        monitor = self.session.evidence.monitor
        if monitor is None:
            raise BenchError("no CAN monitor runs in this test")
        periods = {}
        for name, stats in monitor.stats().items():
            spec = BY_NAME.get(name)
            if spec is None or spec.sender != sender or not stats["nominal_period_s"]:
                continue
            if stats["intervals"] >= min_intervals:
                periods[name] = stats
        return periods
