"""The simulated pile's Modbus control interface: a ModbusDevice serving a register map over
a PlatformPort (served on the socket hub by instruments.sim.modbus.ModbusFrontEnd).

It behaves as the README's "how a pile implements the map" says a real pile should:

* reads: every register of the request must be mapped (else exception 02); values come from
  the port when asked; a value the pile does not have reads as "not available";
* writes: whole writable holding registers only (else exception 02); a value that is no
  valid code or does not decode is exception 03 and nothing is applied; a request is
  applied as a whole, in address order (``clock`` takes ``clock_ms`` from the same request;
  ``timed_power_time`` arms the change with the ``timed_power_limit`` last written);
* events: drained from the port into a FIFO; the oldest is shown, writing its sequence
  number to ``event_ack`` removes it.

Link watchdog (given a ``clock``): a pile that hears no request for ``LINK_TIMEOUT_S`` takes
its platform link as lost (``port.link_lost``: it records a communication fault, left in the
FIFO for the platform) and as restored at the next request (``port.link_restored``).

Times come from the pile's clock (``port.clock()``); ``[sim]`` behaviour (response delay,
upload errors, missing fields, RTC offset, whether events are reported) lives in the plant.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from bench.core.clock import Clock
from bench.protocols.modbus.protocol import ILLEGAL_DATA_ADDRESS, ILLEGAL_DATA_VALUE, SERVER_DEVICE_FAILURE
from bench.protocols.modbus.registers import CodecError, PileMap, Register
from bench.protocols.platform.vocabulary import BATTERY_STATUS_FIELDS, BMS_FIELDS, normalize_state, on_off
from instruments.sim.modbus import ModbusException
from instruments.sim.plant.ports import PlatformPort

REALTIME_KEYS = {"voltage": "voltage_v", "current": "current_a", "power": "power_w", "energy": "energy_kwh"}
MAX_SEQ = 0xFFFE  # 0xFFFF reads as "not available"
# The simulated pile's link watchdog (design figures): no request for this long is a lost
# platform link (the bench polls the event FIFO every second), looked at this often.
LINK_TIMEOUT_S = 5.0
LINK_CHECK_S = 1.0


class PlatformModbusDevice:
    def __init__(
        self,
        register_map: PileMap,
        port: PlatformPort,
        *,
        vendor: str = "Simulated",
        revision: str = "1.0",
        clock: Clock | None = None,
    ):
        self.map = register_map
        self.port = port
        self.clock = clock
        self._last_request: float | None = None  # bench time of the last request (link watchdog)
        self._link_lost = False
        self._watchdog = clock.every(LINK_CHECK_S, self._check_link) if clock is not None else None
        self.vendor = vendor
        self.revision = revision
        self._written: dict[str, list[int]] = {}  # writable registers as last written
        self._fifo: deque[tuple[int, dict]] = deque()  # (sequence number, port event)
        self._seq = 0
        self.errors: list[str] = []  # why a request was answered with exception 04

    # -- ModbusDevice ---------------------------------------------------------------------
    def read_holding(self, address: int, count: int) -> list[int]:
        self._heard()
        return self._read("holding", address, count)

    def read_input(self, address: int, count: int) -> list[int]:
        self._heard()
        return self._read("input", address, count)

    def write(self, address: int, values: list[int]) -> None:
        self._heard()
        fields = self._decode_write(address, values)
        try:
            for name, value in fields.items():
                self._apply(name, value, fields)
        except ValueError as exc:  # the pile refuses the value (outside its rating)
            self.errors.append(f"write {', '.join(fields)}: {exc}")
            raise ModbusException(ILLEGAL_DATA_VALUE) from None

    def identification(self) -> dict[int, str]:
        return {0: self.vendor, 1: self.map.name, 2: self.revision}

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    # -- the link watchdog ----------------------------------------------------------------
    def _heard(self) -> None:
        if self.clock is None:
            return
        self._last_request = self.clock.now()
        if self._link_lost:
            self._link_lost = False
            self.port.link_restored()

    def _check_link(self) -> None:
        assert self.clock is not None  # the watchdog runs only with a clock
        last = self._last_request
        if last is None or self._link_lost or self.clock.now() - last < LINK_TIMEOUT_S:
            return
        self._link_lost = True
        self.port.link_lost(f"no request from the platform for {LINK_TIMEOUT_S:g} s")

    # -- reads ----------------------------------------------------------------------------
    def _read(self, table: str, address: int, count: int) -> list[int]:
        regs = self._covering(table, address, count)
        source = _Snapshot(self)
        words: dict[int, int] = {}
        try:
            for reg in regs:
                encoded = self.map.encode(reg.name, source.value(reg))
                words.update(zip(range(reg.address, reg.end), encoded))
        except (CodecError, ValueError, KeyError) as exc:
            self._fail(f"read {table} {address}+{count}: {exc}")
        return [words[a] for a in range(address, address + count)]

    def _covering(self, table: str, address: int, count: int) -> list[Register]:
        regs: list[Register] = []
        for a in range(address, address + count):
            reg = self.map.at(table, a)
            if reg is None:
                raise ModbusException(ILLEGAL_DATA_ADDRESS)
            if not regs or regs[-1] is not reg:
                regs.append(reg)
        return regs

    # -- writes ---------------------------------------------------------------------------
    def _decode_write(self, address: int, values: list[int]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        a = address
        end = address + len(values)
        while a < end:
            reg = self.map.at("holding", a)
            if reg is None or not reg.writable or reg.address != a or reg.end > end:
                raise ModbusException(ILLEGAL_DATA_ADDRESS)
            words = values[a - address : reg.end - address]
            try:
                fields[reg.name] = self.map.decode(reg.name, words)
            except CodecError:
                raise ModbusException(ILLEGAL_DATA_VALUE) from None
            a = reg.end
        for name in fields:  # only once the whole request decoded
            self._written[name] = self.map.encode(name, fields[name])
        return fields

    def _apply(self, name: str, value: Any, fields: dict[str, Any]) -> None:
        port = self.port
        if name == "command":
            if value is None:
                raise ModbusException(ILLEGAL_DATA_VALUE)
            {"start": port.start, "stop": port.stop, "wake_vehicle": port.wake_vehicle}[value]()
        elif name == "power_limit" and value is not None:
            port.set_power_limit(value)
        elif name == "current_limit" and value is not None:
            port.set_current_limit(value)
        elif name == "timed_start_time" and value:
            port.timed_start(float(value))
        elif name == "timed_power_time" and value:
            watts = fields.get("timed_power_limit", self._last_written("timed_power_limit"))
            if watts is None:
                raise ModbusException(ILLEGAL_DATA_VALUE)
            port.timed_power_change(float(value), watts)
        elif name == "clock" and value is not None:
            port.set_clock(float(value) + float(fields.get("clock_ms") or 0.0))
        elif name == "event_ack" and self._fifo and self._fifo[0][0] == value:
            self._fifo.popleft()

    def _last_written(self, name: str) -> Any:
        words = self._written.get(name)
        return self.map.decode(name, words) if words is not None else None

    # -- events ---------------------------------------------------------------------------
    def _drain_events(self) -> None:
        for event in self.port.events():
            self._seq = self._seq % MAX_SEQ + 1
            self._fifo.append((self._seq, event))

    def _event_value(self, name: str) -> Any:
        if name == "event_count":
            return len(self._fifo)
        if not self._fifo:
            return None if name != "event_detail" else ""
        seq, event = self._fifo[0]
        pile_time = event.get("pile_time")
        if name == "event_seq":
            return seq
        if name == "event_kind":
            return event["kind"]
        if name in ("event_time", "event_time_ms"):
            return None if pile_time is None else _split_time(pile_time)[name != "event_time"]
        if name == "event_detail":
            reg = self.map["event_detail"]
            text = str(event.get("detail", "")).encode(self.map.string_encoding, errors="replace")
            return text[: 2 * reg.count].decode(self.map.string_encoding, errors="ignore")
        raise KeyError(name)

    def _fail(self, message: str):
        self.errors.append(message)
        raise ModbusException(SERVER_DEVICE_FAILURE)


def _split_time(unix_time: float) -> tuple[int, float]:
    """(whole seconds, the fraction in s to the millisecond)."""
    seconds, ms = divmod(round(unix_time * 1000), 1000)
    return seconds, ms / 1000


class _Snapshot:
    """The port's values for one request, each asked for at most once."""

    def __init__(self, device: PlatformModbusDevice):
        self.device = device
        self._realtime: dict | None = None
        self._bms: dict | None = None
        self._battery: dict | None = None
        self._clock: float | None = None
        self._events_drained = False

    def value(self, reg: Register) -> Any:
        name = reg.name
        device = self.device
        if name in REALTIME_KEYS:
            return self.realtime().get(REALTIME_KEYS[name])
        if name == "state":
            return normalize_state(self.realtime()["state"])
        if name in ("clock", "clock_ms"):
            return _split_time(self.clock())[name == "clock_ms"]
        if name.startswith("event_") and name != "event_ack":
            if not self._events_drained:
                device._drain_events()
                self._events_drained = True
            return device._event_value(name)
        if name in BMS_FIELDS:
            value = self.bms().get(name)
            if value is not None and name in ("heating_status", "cooling_status"):
                value = on_off(value)
            return value
        if name in BATTERY_STATUS_FIELDS:
            return self.battery().get(name)
        if name == "command":
            return None  # reads "not available": a command register holds no state
        return device._last_written(name)  # settings read back as last written ("not available" before)

    def realtime(self) -> dict:
        if self._realtime is None:
            self._realtime = self.device.port.realtime()
        return self._realtime

    def bms(self) -> dict:
        if self._bms is None:
            self._bms = self.device.port.bms_info()
        return self._bms

    def battery(self) -> dict:
        if self._battery is None:
            self._battery = self.device.port.battery_status()
        return self._battery

    def clock(self) -> float:
        if self._clock is None:
            self._clock = float(self.device.port.clock())
        return self._clock
