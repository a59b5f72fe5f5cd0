"""The platform channel: the bench as the charging operation platform (clauses 4.2.2–4.2.7,
4.2.9.3, 4.2.10.3).

One interface for test cases, whatever the pile speaks; ``open_channel`` picks the adapter
from ``[dut] control``:

* commands: ``start``, ``stop``, ``wake_vehicle``, ``timed_start``, ``timed_power_change``,
  ``set_power_limit``, ``set_current_limit``, ``set_clock``; each returns an ``Ack`` once the
  pile has taken the command (the pile carries it out after its own response time);
* reads: ``read_clock``, ``realtime``, ``bms_info``, ``battery_status`` (4.5.3 e);
* ``events()``: every event the pile reported so far, with its own time stamp and the bench
  time it arrived;
* ``cut_link()`` / ``restore_link()``: the bench takes the platform link away and gives it back
  (4.2.5: a pile records the loss and uploads it once the link is back). While cut, calls that
  need the pile raise PlatformLost; what the cut itself causes is never raised later.

Times: ``pile_time`` values are unix times on the pile's clock; ``bench_time`` values are
``clock.now()`` (bench seconds; ``clock.epoch + bench_time`` is the bench's unix time).
Times given to commands are unix times on the pile's clock, with 1 s resolution.

Errors are PlatformError subclasses (bench.platform.errors), all BenchErrors. A problem
found outside a call (a malformed frame, a charge point with another id or the wrong WebSocket
subprotocol, a lost connection seen by a background poll) is logged, kept in
``channel.errors``, and raised once from the next channel call (the first of several; all stay
in ``errors``). ``stop()`` first sends the stop and only then raises it, so a safe-state
sequence still reaches the pile; if the stop itself fails, its own error is raised and the
pending ones are only kept in ``errors``. What is wrong with a value in a message the bench
accepted (an OCPP time stamp without zone, a meter value it cannot read) belongs to that
message, not to the next command: it is logged and kept (OCPP: ``findings``), never raised.

What a pile does not offer (a register the map lacks, a vendor DataTransfer the pile does not
take) raises PlatformUnsupported naming it; a case that needs it is skipped with that reason.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core.clock import Clock
from bench.core.profile import Dut
from bench.platform.errors import PlatformError
from bench.platform.log import NOTE, MessageLog


@dataclass(frozen=True)
class Ack:
    command: str
    bench_time: float  # when the pile acknowledged the command
    value: Any = None  # what the pile received (limits and times after its resolution)


@dataclass(frozen=True)
class Realtime:
    voltage_v: float | None
    current_a: float | None
    power_w: float | None
    state: str | None  # bench.protocols.platform.vocabulary.STATES
    pile_time: float | None  # pile clock (unix) when the values were taken
    bench_time_of_arrival: float
    energy_kwh: float | None = None


@dataclass(frozen=True)
class BatteryStatus:
    """The BMS's state as the pile uploads it while charging (4.5.3 e): names and units as
    bench.protocols.platform.vocabulary.BATTERY_STATUS_UNITS; a field the pile does not give is
    absent."""

    values: dict[str, float]
    bench_time_of_arrival: float


@dataclass(frozen=True)
class Event:
    kind: str  # start | stop | anomaly | protection | communication_fault
    pile_time: float | None
    bench_time: float  # arrival at the bench
    detail: str


class PlatformChannel(ABC):
    protocol: str = ""

    def __init__(self, clock: Clock, log: MessageLog, endpoint: str):
        self.clock = clock
        self.log = log
        self.endpoint = endpoint
        self.errors: list[PlatformError] = []
        self._pending: list[PlatformError] = []
        self._events: list[Event] = []
        self._state_lock = threading.Lock()

    # -- commands -----------------------------------------------------------------------
    def start(self) -> Ack:
        return self._command("start", self._start)

    def stop(self) -> Ack:
        try:
            ack = self._command("stop", self._stop, check_first=False)
        except PlatformError:
            self._drop_pending()  # the caller has an error now; the others stay in ``errors``
            raise
        self._raise_pending()
        return ack

    def wake_vehicle(self) -> Ack:
        return self._command("wake_vehicle", self._wake_vehicle)

    def timed_start(self, unix_time: float) -> Ack:
        return self._command("timed_start", self._timed_start, unix_time)

    def timed_power_change(self, unix_time: float, watts: float) -> Ack:
        """Ack.value is (time, watts) as the pile received them."""
        return self._command("timed_power_change", self._timed_power_change, unix_time, watts)

    def set_power_limit(self, watts: float) -> Ack:
        return self._command("set_power_limit", self._set_power_limit, watts)

    def set_current_limit(self, amps: float) -> Ack:
        return self._command("set_current_limit", self._set_current_limit, amps)

    def set_clock(self, unix_time: float) -> Ack:
        return self._command("set_clock", self._set_clock, unix_time)

    # -- reads --------------------------------------------------------------------------
    def read_clock(self) -> float:
        self._raise_pending()
        return self._read_clock()

    def realtime(self) -> Realtime:
        self._raise_pending()
        return self._realtime()

    def bms_info(self) -> dict:
        """The 4.2.7 fields the pile gives (names as sim_parameters.UPLOAD_FIELDS; a field the
        pile does not have is absent). Units: battery_capacity Ah, lowest_cell_voltage V,
        internal_resistance mΩ; heating_status/cooling_status "on"/"off"."""
        self._raise_pending()
        return self._bms_info()

    def battery_status(self) -> BatteryStatus:
        """The 4.5.3 e battery status the pile gives now (DC piles while charging)."""
        self._raise_pending()
        return BatteryStatus(self._battery_status(), self.clock.now())

    def events(self, refresh: bool = True) -> list[Event]:
        """Every event received so far, oldest first; ``refresh`` asks the pile first where
        the protocol polls (Modbus)."""
        self._raise_pending()
        if refresh:
            self._refresh_events()
        with self._state_lock:
            return list(self._events)

    # -- the link itself (4.2.5 link loss) --------------------------------------------------
    def cut_link(self) -> None:
        """The platform goes away: the connection to the pile is closed and kept closed."""
        self._raise_pending()
        self._cut_link()

    def restore_link(self) -> None:
        """The platform is back: the connection may be made again (Modbus: by the bench at the
        next request; OCPP: by the pile, which reconnects by itself)."""
        self._restore_link()

    # -- life ---------------------------------------------------------------------------
    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- for adapters -------------------------------------------------------------------
    def _command(self, name: str, action: Callable, *args, check_first: bool = True) -> Ack:
        if check_first:
            self._raise_pending()
        value = action(*args)
        return Ack(name, self.clock.now(), value)

    def _report(self, error: PlatformError) -> None:
        """An error found outside a call: logged, kept, raised from the next call."""
        self.log.add(self.clock.now(), NOTE, self.protocol, f"error: {type(error).__name__}: {error.detail}")
        with self._state_lock:
            self.errors.append(error)
            self._pending.append(error)

    def _raise_pending(self) -> None:
        pending = self._drop_pending()
        if pending:
            raise pending[0]

    def _drop_pending(self) -> list[PlatformError]:
        with self._state_lock:
            pending, self._pending = self._pending, []
        return pending

    def _add_event(self, event: Event) -> None:
        with self._state_lock:
            self._events.append(event)

    def _refresh_events(self) -> None:  # noqa: B027 - a hook, not abstract: only polling adapters need it
        """Adapters that poll for events do it here."""

    @abstractmethod
    def _start(self): ...
    @abstractmethod
    def _stop(self): ...
    @abstractmethod
    def _wake_vehicle(self): ...
    @abstractmethod
    def _timed_start(self, unix_time: float): ...
    @abstractmethod
    def _timed_power_change(self, unix_time: float, watts: float): ...
    @abstractmethod
    def _set_power_limit(self, watts: float): ...
    @abstractmethod
    def _set_current_limit(self, amps: float): ...
    @abstractmethod
    def _set_clock(self, unix_time: float): ...
    @abstractmethod
    def _read_clock(self) -> float: ...
    @abstractmethod
    def _realtime(self) -> Realtime: ...
    @abstractmethod
    def _bms_info(self) -> dict: ...
    @abstractmethod
    def _battery_status(self) -> dict[str, float]: ...
    @abstractmethod
    def _cut_link(self) -> None: ...
    @abstractmethod
    def _restore_link(self) -> None: ...


def open_channel(
    dut: Dut, clock: Clock, log: MessageLog, *, run_folder: Path | None = None, **options
) -> PlatformChannel:
    """The adapter ``[dut] control`` names, opened.

    Modbus: connects to the pile now (PlatformLost if it cannot). OCPP: the Central System
    listens now; the pile connects to ``channel.url``, ``channel.wait_connected()`` waits
    for it; with ``run_folder`` its transaction ids are unique across the sessions of the run
    (bench/platform/transaction_ids.py). ``options`` go to the adapter's constructor
    (timeouts, poll periods).
    """
    if dut.control == "modbus":
        from bench.platform.modbus import ModbusChannel

        return ModbusChannel(dut.modbus, clock, log, **options)
    if dut.control == "ocpp16":
        from bench.platform.ocpp import OcppChannel
        from bench.platform.transaction_ids import FILE_NAME, TransactionIds

        if run_folder is not None:
            options.setdefault("transaction_ids", TransactionIds(Path(run_folder) / FILE_NAME))
        return OcppChannel(dut.ocpp, clock, log, rated_power_w=dut.rated_power_kw * 1000.0, **options)
    raise ValueError(f"unknown [dut] control {dut.control!r}")
