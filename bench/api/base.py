"""What every test case may do on the bench, whatever the DUT: limits and checks, waiting,
operating-point grids, evidence, and the platform channel.

Test cases import only this API and the analysis helpers
(docs/design.md#layers-and-the-import-contract, layer 5). A case reads like its clause: set up,
measure, ``check`` against the limit looked up by key.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.api.timings import COMMAND_POLL_S, COMMAND_WAIT_MARGIN_S, EVENT_POLL_S, WAIT_POLL_S
from bench.core.checks import Check
from bench.core.clock import Settled
from bench.core.errors import BenchError, WaitTimeout
from bench.core.limits import Limit

if TYPE_CHECKING:
    from bench.platform.channel import Event

GRIDS = Path(__file__).with_name("grids.toml")


def load_grid(name: str, grid: str) -> list:
    table = tomllib.loads(GRIDS.read_text(encoding="utf-8"))
    try:
        return list(table[name][grid])
    except KeyError:
        raise BenchError(f"{GRIDS}: no grid {name!r} with a {grid!r} list") from None


def point_parameters(name: str, point) -> dict[str, str]:
    """A grid point named for the reports: {"current limit": "16 A"}, {"set power": "0.2 × rated
    power", "battery": "low of its voltage window"}; a step (one name, two values): "50 → 70 A"."""
    table = tomllib.loads(GRIDS.read_text(encoding="utf-8")).get(name, {})
    names, units = table.get("names", [name]), table.get("units", [""])
    parts = list(point) if isinstance(point, (list, tuple)) else [point]

    def shown(value, unit: str) -> str:
        text = value if isinstance(value, str) else f"{value:g}"
        return f"{text} {unit}".strip()

    if len(names) == 1 and len(parts) > 1:
        return {names[0]: " → ".join(shown(p, "") for p in parts) + (f" {units[0]}" if units[0] else "")}
    return {n: shown(p, u) for n, u, p in zip(names, units + [""] * len(names), parts)}


class BenchView:
    """Shared part of AcBench and DcBench."""

    kind = ""

    def __init__(self, session, grid: str = "full"):
        self.session = session
        self.grid = grid
        # Plots cost a matplotlib figure each: full (type-test) runs keep them, quick runs
        # keep the raw samples only.
        self.plots = grid == "full"

    # -- what the case can see ---------------------------------------------------------------
    @property
    def clock(self):
        return self.session.clock

    @property
    def profile(self):
        return self.session.profile

    @property
    def dut(self):
        return self.session.profile.dut

    @property
    def platform(self):
        """The platform channel (commands, uploads, events) — the bench plays the platform."""
        if self.session.platform is None:
            raise BenchError("this bench has no platform channel")
        return self.session.platform

    def limit(self, key: str) -> Limit:
        return self.session.limits[key]

    def now(self) -> float:
        return self.clock.now()

    def wait(self, seconds: float) -> None:
        self.clock.sleep(seconds)

    def wait_until(
        self, condition: Callable[[], bool], timeout: float, *, poll: float = WAIT_POLL_S, what: str = "condition"
    ) -> float:
        return self.clock.wait_until(condition, timeout, poll=poll, what=what)

    def try_wait_until(
        self, condition: Callable[[], bool], timeout: float, *, poll: float = WAIT_POLL_S, what: str = "condition"
    ) -> float | None:
        """Like wait_until, but None instead of an error when it never happens."""
        try:
            return self.wait_until(condition, timeout, poll=poll, what=what)
        except WaitTimeout:
            return None

    def try_wait_settled(self, read: Callable[[], float | None], **settle) -> Settled | None:
        """``clock.wait_settled`` (band, hold, timeout, poll and its options), but None instead
        of an error when nothing settles within the timeout."""
        try:
            return self.clock.wait_settled(read, **settle)
        except WaitTimeout:
            return None

    def command_wait_s(self) -> float:
        return self.limit("changji:4.2.6:command_response_time").high + COMMAND_WAIT_MARGIN_S

    def points(self, name: str) -> list:
        return load_grid(name, self.grid)

    # -- checks ------------------------------------------------------------------------------
    def check(
        self,
        key: str,
        value: Any,
        *,
        reference: Any = None,
        uncertainty: float | None = None,
        at: dict | None = None,
        detail: str = "",
        invalid_reason: str = "",
        settle_s: float | None = None,
    ) -> Check:
        """Judge ``value`` against the limit ``key`` and keep the check (pass or fail); with an
        ``invalid_reason`` the value is kept but not judged (invalid)."""
        check = self.limit(key).judge(
            value,
            reference=reference,
            uncertainty=uncertainty,
            operating_point=at,
            bench_time=self.now(),
            detail=detail,
            invalid_reason=invalid_reason,
            settle_s=settle_s,
        )
        return self.session.recorder.record(check)

    def check_reading(
        self,
        key: str,
        reading: Any,
        *,
        reference: Any,
        uncertainty: float | None = None,
        at: dict | None = None,
        detail: str = "",
        invalid_reason: str = "",
        settle_s: float | None = None,
    ) -> Check:
        """Judge a ``reading`` against a tolerance limit ``key`` (±x % or ±x of ``reference``):
        the limits table does the arithmetic (Limit.judge_reading); the check's value is the
        deviation reading − reference, in the limit's unit. With an ``invalid_reason`` the
        deviation is kept but not judged (invalid); ``settle_s`` records how long the reading
        took to settle."""
        check = self.limit(key).judge_reading(
            reading,
            reference=reference,
            uncertainty=uncertainty,
            operating_point=at,
            bench_time=self.now(),
            detail=detail,
            invalid_reason=invalid_reason,
            settle_s=settle_s,
        )
        return self.session.recorder.record(check)

    def check_duration(
        self,
        key: str,
        seconds: float | None,
        *,
        window: float,
        missing: str,
        uncertainty: float | None = None,
        at: dict | None = None,
        detail: str = "",
    ) -> Check:
        """A time until something happened; when it never did within the observation
        ``window``, the window is recorded as a lower bound (a fail, not an invalid reading)."""
        if seconds is None:
            return self.check(key, window, at=at, detail=f"{missing} within {window:g} s (value = lower bound)")
        return self.check(key, seconds, uncertainty=uncertainty, at=at, detail=detail)

    def accuracy(self, role: str, quantity: str, reading: float) -> float | None:
        """Expanded uncertainty of one reading from the profile's accuracy for that instrument."""
        config = self.profile.instruments.get(role)
        spec = config.accuracy.get(quantity) if config else None
        return spec.uncertainty(reading) if spec else None

    # -- evidence ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def step(self, title: str):
        try:
            import allure
        except ImportError:  # pragma: no cover
            yield
            return
        with allure.step(title):
            yield

    def note(self, name: str, text: str) -> None:
        self.session.evidence.attach_text(name, text)

    def _at_end(self, undo: Callable[[], object]) -> None:
        """Undo a test's set-up when the test ends (after the safe state); a failure is noted,
        not raised, so the test's evidence is still written."""

        def run() -> None:
            try:
                undo()
            except BenchError as exc:
                self.note("undo at the end of the test failed", str(exc))

        self.session.evidence.on_end(run)

    def save_csv(self, name: str, header: list[str], rows) -> Path:
        return self.session.evidence.save_csv(name, header, rows)

    def save_plot(self, name: str, figure) -> Path:
        return self.session.evidence.save_plot(name, figure)

    # -- events at the platform ------------------------------------------------------------
    def wait_for_event(self, kinds: str | tuple[str, ...], since: float, window_s: float) -> Event | None:
        """The first platform event of ``kinds`` (one kind or several) that reached the platform
        at or after bench time ``since``, watched for ``window_s`` from now (the event list
        polled every EVENT_POLL_S); None when none came."""
        kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
        found: list[Event] = []

        def arrived() -> bool:
            found[:] = [e for e in self.platform.events() if e.kind in kinds and e.bench_time >= since]
            return bool(found)

        if (
            self.try_wait_until(arrived, window_s, poll=EVENT_POLL_S, what=f"a {'/'.join(kinds)} event at the platform")
            is None
        ):
            return None
        return found[0]

    # -- the output, whatever the pile (platform cases; AcBench and DcBench implement) ------
    output_level_unit = ""

    def deliver(self) -> None:
        """Bring the pile to delivering energy (AC: S2 closed, output on; DC: charging)."""
        raise NotImplementedError

    def output_active(self) -> bool:
        """Energy is flowing (AC: the output is on; DC: current above 5 A)."""
        raise NotImplementedError

    def output_level(self) -> float | None:
        """The quantity the platform's orderly-charging command sets (AC: offered current A,
        DC: output power W), as the bench measures it."""
        raise NotImplementedError

    def command_output_level(self, value: float) -> float:
        """Send the platform's orderly-charging command; the bench time it was sent."""
        raise NotImplementedError

    def output_level_band(self, target: float) -> float:
        """±band around ``target`` within which the command counts as carried out."""
        raise NotImplementedError

    def output_level_points(self) -> tuple[float, float]:
        """Two different levels inside the DUT's rating for command cases."""
        raise NotImplementedError

    # -- what differs between an AC pile and a DC charger (the platform cases; see the table
    # -- in bench/api/platform.py) ----------------------------------------------------------
    session_start_poll_s = COMMAND_POLL_S  # how often the bench looks for the session start near its time

    def prepare_vehicle(self) -> None:
        """The vehicle side ready for the pile to start a session."""
        raise NotImplementedError

    def session_started(self, since: float) -> float | None:
        """Bench time the pile started its session after ``since``, as far as the bench sees it
        now; None before that."""
        raise NotImplementedError

    def session_start_resolution_s(self, poll: float) -> float:
        """Time resolution of ``session_started`` when it is polled every ``poll``."""
        raise NotImplementedError

    def complete_start(self) -> None:
        """After the pile started its session: what the vehicle does to get the output on."""
        raise NotImplementedError

    def load_output(self, level: float) -> None:
        """Load the output near the orderly-charging ``level`` (for upload comparisons)."""
        raise NotImplementedError

    def unload_output(self) -> None:
        """Back to the load ``deliver`` set."""
        raise NotImplementedError

    def level_change_resolution_s(self) -> float:
        """Time resolution of a change of ``output_level`` polled every LEVEL_POLL_S."""
        raise NotImplementedError

    @contextlib.contextmanager
    def local_anomaly(self):
        """A local anomaly the pile must detect (4.2.3), removed on leaving; yields what it is."""
        raise NotImplementedError
        yield ""

    def supply_fault_signal(self) -> tuple[str, float, float]:
        """The scope signal that shows the output stop on a supply fault: (signal, V/div, offset)."""
        raise NotImplementedError

    def output_stopped_at(self, record, signal: str, since: float) -> tuple[float | None, float]:
        """(bench time the output stopped after ``since`` in ``record``, or None; its resolution)."""
        raise NotImplementedError

    def wake_up_acted(self) -> tuple[bool, str]:
        """Send the wake-up command to a sleeping pile with the vehicle connected; whether the
        pile acted on it within the command wait, and what the bench saw."""
        raise NotImplementedError

    def measured_output(self) -> dict[str, float | None]:
        """U (V), I (A), P (W) at the pile's output from the power analyzer (None = invalid)."""
        raise NotImplementedError

    # -- timed power change and metering (4.2.9.3 / 4.2.10.3, 4.4.3; AcBench and DcBench) ---
    def command_timed_output_level(self, unix_time: float, level: float) -> float:
        """Send the platform's timed power change: the orderly-charging ``level`` (the unit of
        ``output_level``) from ``unix_time`` on (pile clock, whole seconds); the bench time it
        was sent."""
        raise NotImplementedError

    def moved_towards(self, level: float | None, before: float, target: float) -> bool:
        """The output ``level`` has left ``before`` towards ``target``: by more than the level
        band around ``before`` (the onset of a change, not its end)."""
        if level is None:
            return False
        return (target - before) * (level - before) > 0 and abs(level - before) > self.output_level_band(before)

    def time_level_change(self, before: float, target: float, until: float) -> tuple[float | None, float | None, float]:
        """Watch the output level from now until bench time ``until`` as finely as the bench
        can; (bench time it first moved from ``before`` towards ``target`` (``moved_towards``),
        or None; bench time it settled, where the watch saw that too, else None; the resolution
        of those times)."""
        raise NotImplementedError

    def metering_load(self, fraction: float) -> str:
        """The pile delivering ``fraction`` of its rating into the vehicle side, settled (the
        load point of a 4.4.3 metering run); what the load point is, for the check."""
        raise NotImplementedError

    # -- the pile's rating -------------------------------------------------------------------
    def within_rating(self, *, current_a: float | None = None, power_w: float | None = None) -> str | None:
        """Why an operating point is outside the DUT's rating, or None when it is inside."""
        if current_a is not None and current_a > self.dut.current_range_a[1]:
            return f"{current_a:g} A is above the DUT's maximum current {self.dut.current_range_a[1]:g} A"
        if power_w is not None and power_w > self.dut.rated_power_kw * 1000:
            return f"{power_w / 1000:g} kW is above the DUT's rated power {self.dut.rated_power_kw:g} kW"
        return None
