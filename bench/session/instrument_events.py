"""What happened to the bench's instruments during a run: lost (and of what kind), reconnected,
still lost. Each event is one JSON line of ``instrument_events.jsonl`` in the run folder
(``{"event", "role", "kind", "detail", "test", "bench_time"}``); a reconnection is also an
Allure step of the test it starts.

Reconnecting (docs/design.md#safe-state: a lost instrument is named and its steps skipped): an
instrument the session marked lost, or whose link a failure closed (no answer, a reset, a
block whose header lied, the instrument closing the connection), is tried once at the start
of each following test, never in the middle of one: the driver is opened again (its own
``open``: error queue, identity, its set-up). When it answers with the identity it had, it is
back and the event says after what; otherwise it stays lost and the next test tries again.
A CAN adapter whose controller went bus-off or error passive is re-initialised the same way.
"""

from __future__ import annotations

import json

from bench.core.errors import BenchError, InstrumentLost

EVENTS = "instrument_events.jsonl"


def events_of(session) -> InstrumentEvents:
    """The session's event log (made on first use)."""
    events = session.__dict__.get("_instrument_events")
    if events is None:
        events = session.__dict__["_instrument_events"] = InstrumentEvents(session)
    return events


class InstrumentEvents:
    def __init__(self, session):
        self.session = session
        self.path = session.run_dir / EVENTS
        self.kinds: dict[str, type[InstrumentLost]] = {}  # role → the kind of loss, while lost
        self.events: list[dict] = []
        can = session.can
        if can is not None and hasattr(can, "on_broken") and can.on_broken is None:
            # A CAN controller that goes bus-off is lost from its first refusal on.
            can.on_broken = lambda error: session.mark_lost("can", str(error))

    # -- the log ---------------------------------------------------------------------------
    def log(self, event: str, role: str, kind: str, detail: str) -> dict:
        s = self.session
        record = {
            "event": event,
            "role": role,
            "kind": kind,
            "detail": detail,
            "test": s.current_test or None,
            "bench_time": round(s.clock.now(), 6),
        }
        self.events.append(record)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return record

    # -- lost ------------------------------------------------------------------------------
    def lost(self, role: str, message: str) -> None:
        """``role`` was just marked lost: keep the kind of the failure that closed its link."""
        broken = self._broken(role)
        kind = type(broken) if isinstance(broken, InstrumentLost) else InstrumentLost
        self.kinds[role] = kind
        self.log("lost", role, kind.__name__, message)

    def error_for(self, role: str) -> InstrumentLost:
        """The error a use of a lost instrument raises: of the kind it was lost by."""
        kind = self.kinds.get(role, InstrumentLost)
        message = f"lost earlier in this run: {self.session.lost[role]}"
        try:
            return kind(role, message)
        except TypeError:  # a kind with another constructor
            return InstrumentLost(role, message)

    def _broken(self, role: str):
        s = self.session
        if role == "can":
            return getattr(s.can, "broken", None)
        link = getattr(s.instruments.get(role), "link", None)
        return getattr(link, "broken", None)

    # -- reconnecting ----------------------------------------------------------------------
    def reconnect(self) -> None:
        """Once, at the start of a test: every instrument that is lost or whose link is closed."""
        s = self.session
        for role, driver in s.instruments.items():
            link = getattr(driver, "link", None)
            if role in s.lost or (link is not None and not getattr(link, "is_open", True)):
                self._reopen(role, driver)
        if s.can is not None and ("can" in s.lost or getattr(s.can, "needs_reset", False)):
            self._reset_can()

    def _reopen(self, role: str, driver) -> None:
        cause = self._cause(role)
        before = driver.identity
        try:
            driver.close()
        except BenchError:
            pass
        try:
            driver.open()
        except BenchError as exc:
            driver_closed(driver)
            self._still_lost(role, type(exc).__name__, str(exc))
            return
        after = driver.identity
        if (
            before is not None
            and after is not None
            and (before.maker, before.model, before.serial) != (after.maker, after.model, after.serial)
        ):
            driver_closed(driver)
            message = (
                f"answered as {after.maker} {after.model} {after.serial} where {before.maker} "
                f"{before.model} {before.serial} was: not reconnected"
            )
            self._still_lost(role, "InstrumentLost", message)
            return
        self._back(
            role,
            cause,
            f"{role} answers again ({after.raw if after else 'identity not read'}); reconnected after {cause}",
        )

    def _reset_can(self) -> None:
        s = self.session
        cause = self._cause("can")
        try:
            s.can.reset()
        except BenchError as exc:
            self._still_lost("can", type(exc).__name__, str(exc))
            return
        self._back("can", cause, f"CAN controller re-initialised after {cause}")

    def _still_lost(self, role: str, kind: str, message: str) -> None:
        if role in self.session.lost:
            self.log("still lost", role, kind, message)
        else:
            self.session.mark_lost(role, message)  # logged as lost

    def _cause(self, role: str) -> str:
        """The kind that took ``role`` out of service (the loss, else what closed its link)."""
        broken = self._broken(role)
        if broken is not None:
            return type(broken).__name__
        kind = self.kinds.get(role)
        return kind.__name__ if kind is not None else "InstrumentLost"

    def _back(self, role: str, cause: str, detail: str) -> None:
        s = self.session
        s.lost.pop(role, None)
        self.kinds.pop(role, None)
        self.log("reconnected", role, cause, detail)
        _allure_step(f"{role} reconnected after {cause}", detail)


def driver_closed(driver) -> None:
    try:
        driver.close()
    except BenchError:
        pass


def _allure_step(title: str, detail: str) -> None:
    try:
        import allure
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return
    with allure.step(title):
        allure.attach(detail, name="instrument reconnected", attachment_type=allure.attachment_type.TEXT)
