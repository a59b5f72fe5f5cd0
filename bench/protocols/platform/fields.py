"""The registers a pile's Modbus map may name, and what the bench does with each.

A map file gives each of these names an address, a type, a scale and a unit of the pile's
choice; the bench reads and writes them by name. README.md in this folder explains each.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.protocols.platform.vocabulary import BATTERY_STATUS_UNITS, BMS_UNITS


@dataclass(frozen=True)
class FieldSpec:
    quantity: str  # bench unit ("V", "W", "s", "" for a plain number); "string"; or "code:<table>"
    required: bool = False
    writable: bool = False  # the bench writes it, so the map must mark it writable
    group: str = ""


def _bms(name: str) -> FieldSpec:
    if name in ("vin", "vehicle_model"):
        return FieldSpec("string", group="bms")
    if name in ("heating_status", "cooling_status"):
        return FieldSpec("code:on_off", group="bms")
    return FieldSpec(BMS_UNITS[name], group="bms")


FIELDS: dict[str, FieldSpec] = {
    # real-time values (read)
    "voltage": FieldSpec("V", True, group="realtime"),
    "current": FieldSpec("A", True, group="realtime"),
    "power": FieldSpec("W", True, group="realtime"),
    "energy": FieldSpec("kWh", group="realtime"),
    "state": FieldSpec("code:state", True, group="realtime"),
    # commands (written)
    "command": FieldSpec("code:command", True, True, group="command"),
    "power_limit": FieldSpec("W", writable=True, group="command"),
    "current_limit": FieldSpec("A", writable=True, group="command"),
    "timed_start_time": FieldSpec("s", writable=True, group="command"),
    "timed_power_limit": FieldSpec("W", writable=True, group="command"),
    "timed_power_time": FieldSpec("s", writable=True, group="command"),
    # the pile's real-time clock (unix time; written to set it)
    "clock": FieldSpec("s", True, True, group="clock"),
    "clock_ms": FieldSpec("s", group="clock"),
    # event FIFO: the oldest event waiting, acknowledged by writing its sequence number
    "event_count": FieldSpec("", True, group="event"),
    "event_seq": FieldSpec("", True, group="event"),
    "event_kind": FieldSpec("code:event_kind", True, group="event"),
    "event_time": FieldSpec("s", True, group="event"),
    "event_time_ms": FieldSpec("s", group="event"),
    "event_detail": FieldSpec("string", group="event"),
    "event_ack": FieldSpec("", True, True, group="event"),
    # 4.2.7 BMS information (DC)
    **{name: _bms(name) for name in BMS_UNITS},
    # 4.5.3 e the BMS's state while charging (DC); the lowest cell is the 4.2.7 register
    **{name: FieldSpec(unit, group="battery") for name, unit in BATTERY_STATUS_UNITS.items() if name not in BMS_UNITS},
}

# Code tables a map must define, with the names each must contain.
CODE_TABLES = {
    "command": ("start", "stop"),
    "state": (),
    "event_kind": (),
    "on_off": ("off", "on"),
}

# Registers that only make sense together.
DEPENDS = {"timed_power_limit": "timed_power_time", "timed_power_time": "timed_power_limit"}
