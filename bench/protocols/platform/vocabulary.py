"""The bench's names for what crosses the platform channel, whatever the protocol.

Register maps (Modbus) and the OCPP mapping translate the pile's own codes and units into
these names; test cases and the simulated pile only ever see these.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from bench.core.sim_parameters import UPLOAD_FIELDS

# Pile states: OCPP 1.6 ChargePointStatus in snake case (OCPP 1.6 §7.7), one vocabulary for
# both protocols so a test case reads the same state from either adapter.
STATES = (
    "available",
    "preparing",
    "charging",
    "suspended_ev",
    "suspended_evse",
    "finishing",
    "reserved",
    "unavailable",
    "faulted",
)
# Names a plant model may use for the same states (the simulated AC pile and DC charger use
# idle, connected, insulation, ready, charging, stopping, fault, unpowered).
STATE_ALIASES = {
    "idle": "available",
    "connected": "preparing",
    "plugged": "preparing",
    "ready": "preparing",
    "insulation": "preparing",
    "suspended": "suspended_evse",
    "stopping": "finishing",
    "stopped": "finishing",
    "fault": "faulted",
    "error": "faulted",
    "off": "unavailable",
    "unpowered": "unavailable",
}

EVENT_KINDS = ("start", "stop", "anomaly", "protection", "communication_fault")
COMMANDS = ("start", "stop", "wake_vehicle")
ON_OFF = ("off", "on")  # heating_status / cooling_status (as the profile's [vehicle.extension])

# The 4.2.7 fields (names fixed by bench.core.sim_parameters) and the unit each is given in.
BMS_FIELDS = UPLOAD_FIELDS
BMS_UNITS = {
    "vin": "",
    "battery_capacity": "Ah",
    "lowest_cell_voltage": "V",
    "lowest_cell_number": "",
    "heating_status": "",
    "cooling_status": "",
    "internal_resistance": "mΩ",
    "vehicle_model": "",
}

# 4.5.3 e: the BMS's state as the pile uploads it while charging (from BCS, BSM and the
# extension frame), with the unit each is given in. The platform's battery monitor
# (bench/platform/battery_monitor.py) judges the battery from these.
BATTERY_STATUS_UNITS = {
    "battery_voltage": "V",  # BCS charging voltage measured by the BMS
    "soc": "%",
    "highest_cell_voltage": "V",
    "highest_cell_number": "",
    "lowest_cell_voltage": "V",
    "lowest_cell_number": "",
    "highest_temperature": "°C",
    "highest_temperature_probe": "",
    "lowest_temperature": "°C",
    "lowest_temperature_probe": "",
}
BATTERY_STATUS_FIELDS = tuple(BATTERY_STATUS_UNITS)

# Units a register may be given in, as (bench unit, factor to the bench unit). Decimal
# factors keep a value exact through a conversion (3215 mV -> 3.215 V, not 3.2150000000000003).
UNITS = {
    "": ("", Decimal(1)),
    "V": ("V", Decimal(1)),
    "mV": ("V", Decimal("0.001")),
    "kV": ("V", Decimal(1000)),
    "A": ("A", Decimal(1)),
    "mA": ("A", Decimal("0.001")),
    "W": ("W", Decimal(1)),
    "kW": ("W", Decimal(1000)),
    "MW": ("W", Decimal(1000000)),
    "Wh": ("kWh", Decimal("0.001")),
    "kWh": ("kWh", Decimal(1)),
    "MWh": ("kWh", Decimal(1000)),
    "Ah": ("Ah", Decimal(1)),
    "%": ("%", Decimal(1)),
    "°C": ("°C", Decimal(1)),
    "mΩ": ("mΩ", Decimal(1)),
    "Ω": ("mΩ", Decimal(1000)),
    "s": ("s", Decimal(1)),
    "ms": ("s", Decimal("0.001")),
}


def normalize_state(name: str) -> str:
    """The bench's state name for a state a pile (or plant) reports; ValueError if unknown."""
    key = str(name).strip().lower()
    key = STATE_ALIASES.get(key, key)
    if key not in STATES:
        raise ValueError(
            f"unknown pile state {name!r}; expected one of: {', '.join(STATES)} (or {', '.join(STATE_ALIASES)})"
        )
    return key


def on_off(value: object) -> str:
    """'on'/'off' from a bool or a text a plant may use; ValueError otherwise."""
    if isinstance(value, bool):
        return "on" if value else "off"
    text = str(value).strip().lower()
    if text in ON_OFF:
        return text
    raise ValueError(f"expected 'on' or 'off', got {value!r}")


def exact(value: Decimal | float | int | str) -> Decimal:
    """A number as the Decimal of its shortest text (0.1 stays 0.1)."""
    return value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)


def to_bench_unit(value: Decimal | float | int, unit: str) -> float:
    return float(exact(value) * UNITS[unit][1])


def from_bench_unit(value: Decimal | float | int, unit: str) -> Decimal:
    return exact(value) / UNITS[unit][1]


def round_half_up(value: Decimal | float | int, step: str = "1") -> Decimal:
    """``value`` to a multiple of ``step``, halves away from zero (as a register is written)."""
    return exact(value).quantize(Decimal(step), rounding=ROUND_HALF_UP)
