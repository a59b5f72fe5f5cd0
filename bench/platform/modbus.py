"""The platform channel over Modbus TCP: the pile's register map, read and written by name.

Commands are writes to command registers; real-time values, the clock and the BMS fields
are reads made when asked; events come from the pile's event FIFO, polled every
``event_poll_s`` bench seconds on the clock (and on every ``events()`` call) and
acknowledged one by one. Map format and FIFO protocol: bench/protocols/platform/README.md;
the map and its codec: bench/protocols/modbus/registers.py. Requests go through the bench's one
Modbus TCP link (instruments/ev/modbus_link.py), which reconnects at the next request after a
failure closed it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.core.clock import Clock
from bench.core.errors import InstrumentError, InstrumentLost
from bench.core.profile import ModbusEndpoint
from bench.platform.channel import Event, PlatformChannel, Realtime
from bench.platform.errors import (
    ModbusExceptionResponse,
    PlatformError,
    PlatformLost,
    PlatformProtocolError,
    PlatformUnsupported,
    PlatformValueError,
)
from bench.platform.log import FROM_PILE, NOTE, TO_PILE, MessageLog
from bench.protocols.modbus.registers import CodecError, PileMap, Register, load_pile_map, span
from bench.protocols.platform.vocabulary import BATTERY_STATUS_FIELDS, BMS_FIELDS
from instruments.ev.modbus_link import ModbusExceptionError, ModbusLink

REALTIME_FIELDS = ("voltage", "current", "power", "energy", "state", "clock", "clock_ms")
EVENT_FIELDS = ("event_count", "event_seq", "event_kind", "event_time", "event_time_ms", "event_detail")
MAX_EVENTS_PER_POLL = 64  # a pile flooding its FIFO does not stall the bench


class ModbusChannel(PlatformChannel):
    protocol = "modbus"

    def __init__(
        self,
        endpoint: ModbusEndpoint,
        clock: Clock,
        log: MessageLog,
        *,
        timeout_s: float = 2.0,
        event_poll_s: float | None = 1.0,
        register_map: PileMap | None = None,
    ):
        super().__init__(clock, log, f"modbus {endpoint.host}:{endpoint.port} unit {endpoint.unit_id}")
        self.map = register_map or load_pile_map(endpoint.map_file)
        self.timeout_s = timeout_s
        self._raw: list[tuple[bool, bytes]] = []
        self._io_lock = threading.RLock()
        self._poll_failing = False
        self._link_cut = False  # the bench keeps the link closed (cut_link)
        self.link = ModbusLink("platform", endpoint.host, endpoint.port, endpoint.unit_id, timeout_s, trace=self._trace)
        try:
            self.link.open()
        except InstrumentLost:
            raise PlatformLost(self.endpoint, "cannot connect (refused or unreachable)") from None
        self.log.add(clock.now(), NOTE, self.protocol, f"connected; register map {self.map.name!r}")
        self._poller = clock.every(event_poll_s, self._poll_tick, first_delay=event_poll_s) if event_poll_s else None

    def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
        with self._io_lock:
            self.link.close()

    # -- commands -----------------------------------------------------------------------
    def _start(self):
        self._command_code("start")

    def _stop(self):
        self._command_code("stop")

    def _wake_vehicle(self):
        if "wake_vehicle" not in self.map.codes.get("command", {}):
            raise PlatformUnsupported(
                self.endpoint,
                f"the register map {self.map.path.name} has no [codes.command] wake_vehicle: no wake-up over Modbus",
            )
        self._command_code("wake_vehicle")

    def _command_code(self, name: str) -> None:
        self._write({"command": name})

    def _timed_start(self, unix_time: float):
        self._require("timed_start_time", "a timed start")
        return self._write({"timed_start_time": unix_time})["timed_start_time"]

    def _timed_power_change(self, unix_time: float, watts: float):
        self._require("timed_power_time", "a timed power change")
        values = {"timed_power_limit": watts, "timed_power_time": unix_time}
        if len(self._encoded(values)) == 1:
            sent = self._write(values)
        else:  # not back to back: the limit first, the time arms the change
            sent = {**self._write({"timed_power_limit": watts}), **self._write({"timed_power_time": unix_time})}
        return sent["timed_power_time"], sent["timed_power_limit"]

    def _set_power_limit(self, watts: float):
        self._require("power_limit", "a power limit")
        return self._write({"power_limit": watts})["power_limit"]

    def _set_current_limit(self, amps: float):
        self._require("current_limit", "a current limit")
        return self._write({"current_limit": amps})["current_limit"]

    def _set_clock(self, unix_time: float):
        seconds, ms = divmod(round(unix_time * 1000), 1000)
        values: dict[str, Any] = {"clock": seconds, "clock_ms": ms / 1000}
        ms_writable = self.map.has("clock_ms") and self.map["clock_ms"].writable
        if not ms_writable or len(self._encoded(values)) > 1:  # ms only count in the same request
            values = {"clock": round(unix_time)}
        sent = self._write(values)
        return sent["clock"] + (sent.get("clock_ms") or 0)

    # -- reads --------------------------------------------------------------------------
    def _read_clock(self) -> float:
        values = self._read([n for n in ("clock", "clock_ms") if self.map.has(n)])
        return self._pile_time(values["clock"], values.get("clock_ms"))

    def _realtime(self) -> Realtime:
        values = self._read([n for n in REALTIME_FIELDS if self.map.has(n)])
        return Realtime(
            voltage_v=values["voltage"],
            current_a=values["current"],
            power_w=values["power"],
            state=values["state"],
            pile_time=self._pile_time(values["clock"], values.get("clock_ms")),
            bench_time_of_arrival=self.clock.now(),
            energy_kwh=values.get("energy"),
        )

    def _bms_info(self) -> dict:
        return self._read_present(BMS_FIELDS)

    def _battery_status(self) -> dict[str, float]:
        return {name: float(value) for name, value in self._read_present(BATTERY_STATUS_FIELDS).items()}

    def _read_present(self, names: tuple[str, ...]) -> dict:
        """The registers of ``names`` the map has, without those that read "not available"."""
        present = [n for n in names if self.map.has(n)]
        if not present:
            return {}
        return {name: value for name, value in self._read(present).items() if value is not None}

    @staticmethod
    def _pile_time(seconds, ms) -> float | None:
        if seconds is None:
            return None
        return float(seconds) + float(ms or 0.0)

    # -- the link (4.2.5 link loss) -------------------------------------------------------
    def _cut_link(self) -> None:
        with self._io_lock:
            self._link_cut = True
            self.link.close()
        self.log.add(self.clock.now(), NOTE, self.protocol, "the bench cut the link (link-loss test): no requests")

    def _restore_link(self) -> None:
        with self._io_lock:
            self._link_cut = False
        self.log.add(self.clock.now(), NOTE, self.protocol, "the bench restored the link: requests again")

    # -- events -------------------------------------------------------------------------
    def _refresh_events(self) -> None:
        if not self._link_cut:
            self._poll_events()

    def _poll_tick(self) -> None:
        """Clock callback: poll the FIFO; report the first failure of an outage."""
        if self._link_cut:
            return
        try:
            self._poll_events()
        except PlatformError as exc:
            if not self._poll_failing:
                self._report(exc)
            self._poll_failing = True
        else:
            self._poll_failing = False

    def _poll_events(self) -> None:
        """Read the FIFO (all its registers in one request) and take the oldest event while there
        is one. With ``event_count`` 0 the other event registers are not decoded: an empty FIFO may
        show anything there (0, "not available", the last event), README.md "Event FIFO"."""
        names = [n for n in EVENT_FIELDS if self.map.has(n)]
        with self._io_lock:
            for _ in range(MAX_EVENTS_PER_POLL):
                words = self._read_words(names)
                if not self._decode("event_count", words["event_count"]):
                    return
                values = {name: self._decode(name, part) for name, part in words.items()}
                self._add_event(
                    Event(
                        kind=values["event_kind"],
                        pile_time=self._pile_time(values["event_time"], values.get("event_time_ms")),
                        bench_time=self.clock.now(),
                        detail=values.get("event_detail") or "",
                    )
                )
                self._write({"event_ack": values["event_seq"]})

    # -- register I/O -------------------------------------------------------------------
    def _require(self, name: str, what: str) -> None:
        if not self.map.has(name):
            raise PlatformUnsupported(
                self.endpoint,
                f"the register map {self.map.path.name} has no {name!r} register: {what} is not offered over Modbus",
            )

    def _encoded(self, values: dict) -> list:
        try:
            return self.map.write_blocks(values)
        except CodecError as exc:
            raise PlatformValueError(self.endpoint, f"{exc}; nothing was sent") from None

    def _write(self, values: dict) -> dict:
        """Write values (bench units) by name; return them as the pile received them."""
        with self._io_lock:
            for address, words, regs in self._encoded(values):
                text = "write " + ", ".join(f"{r.name}={values[r.name]!r}" for r in regs)
                self._transact("write", regs, text, partial(self.link.write, address, words, text, multiple=True))
        return {name: self.map.quantized(name, value) for name, value in values.items()}

    def _read(self, names) -> dict:
        """Values (bench units) by name."""
        return {name: self._decode(name, part) for name, part in self._read_words(names).items()}

    def _read_words(self, names) -> dict[str, list[int]]:
        """The registers' words by name, as few requests as the map allows; nothing decoded."""
        words: dict[str, list[int]] = {}
        with self._io_lock:
            for block in self.map.read_blocks(names):
                text = "read " + ", ".join(r.name for r in block.registers)
                answer = self._transact(
                    "read",
                    block.registers,
                    text,
                    partial(self.link.read, block.table, block.address, block.count, text),
                )
                words.update(block.split(answer))
        return words

    def _decode(self, name: str, words: list[int]) -> Any:
        try:
            return self.map.decode(name, words)
        except CodecError as exc:
            raise PlatformProtocolError(self.endpoint, f"{name} ({self.map[name].span}): {exc}") from None

    def _transact(self, action: str, regs: tuple[Register, ...], text: str, call: Callable[[], Any]) -> Any:
        """One request/answer, both logged; Modbus exceptions, lost links and answers that do
        not fit the request become PlatformErrors. A link a failure closed is opened again first."""
        self._raw.clear()
        if self._link_cut:
            raise PlatformLost(self.endpoint, f"{action} of {_names(regs)}: the bench has cut the link (link loss)")
        try:
            if not self.link.is_open:
                self.link.open()
            result = call()
        except ModbusExceptionError as exc:
            self._log_exchange(text, f"exception {exc.code:#04x}")
            raise ModbusExceptionResponse(self.endpoint, action, _names(regs), span(regs), exc.code) from None
        except InstrumentLost as exc:
            self._log_exchange(text, f"no answer: {exc.detail}")
            raise PlatformLost(
                self.endpoint,
                f"{action} of {_names(regs)} ({span(regs)}): connection lost or no answer within {self.timeout_s:g} s",
            ) from None
        except InstrumentError as exc:  # a garbled answer, or one that does not match the request
            self._log_exchange(text, f"bad answer: {exc.detail}")
            raise PlatformProtocolError(
                self.endpoint, f"{action} of {_names(regs)} ({span(regs)}): {exc.detail}"
            ) from None
        self._log_exchange(text, f"registers {result}" if action == "read" else "ok")
        return result

    def _trace(self, sending: bool, data: bytes) -> bytes:
        self._raw.append((sending, bytes(data)))
        return data

    def _log_exchange(self, request: str, answer: str) -> None:
        now = self.clock.now()
        sent = " ".join(d.hex() for s, d in self._raw if s)
        received = " ".join(d.hex() for s, d in self._raw if not s)
        self.log.add(now, TO_PILE, self.protocol, f"{request} [{sent}]")
        self.log.add(now, FROM_PILE, self.protocol, f"{answer} [{received}]" if received else answer)


def _names(regs: tuple[Register, ...]) -> str:
    return ", ".join(repr(r.name) for r in regs)
