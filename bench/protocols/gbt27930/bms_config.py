"""What the BMS emulator plays: the vehicle of the profile's [vehicle] table."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from bench.core.errors import BenchError
from bench.protocols.gbt27930 import timing
from bench.protocols.gbt27930.catalogue import BATTERY_TYPES
from bench.protocols.gbt27930.ids import BMS_ADDRESS, CHARGER_ADDRESS

BATTERY_TYPE_NAMES = frozenset(BATTERY_TYPES.values())
ON_OFF = ("off", "on")
# Attributes read from the profile's [vehicle] table (besides its `extension` object).
VEHICLE_FIELDS = (
    "battery_type",
    "capacity_ah",
    "rated_voltage_v",
    "max_charge_voltage_v",
    "max_charge_current_a",
    "max_cell_voltage_v",
    "max_temperature_c",
    "nominal_energy_kwh",
    "soc_pct",
    "temperature_c",
    "cells",
    "vin",
    "bms_protocol_version",
)


@dataclass
class ExtensionConfig:
    """The 4.2.7 values the vehicle reports in the extension frame (EXTENSION.md)."""

    lowest_cell_voltage_v: float = 3.20
    lowest_cell_number: int = 1
    heating_status: str = "off"
    cooling_status: str = "off"
    internal_resistance_mohm: float = 80.0
    vehicle_model: str = "BENCH-EV-0001"
    dbc: str | None = None  # a profile's own extension DBC; None = the shipped extension.dbc


@dataclass
class BmsConfig:
    # -- from the profile's [vehicle] table (names fixed by the profile schema) --------------
    battery_type: str = "lfp"
    capacity_ah: float = 152.0
    rated_voltage_v: float = 364.8
    max_charge_voltage_v: float = 426.1
    max_charge_current_a: float = 250.0
    max_cell_voltage_v: float = 3.70
    max_temperature_c: float = 65.0
    nominal_energy_kwh: float = 55.4
    soc_pct: float = 50.0
    temperature_c: float = 25.0
    cells: int = 114
    vin: str = "LBENCH0EMULATOR01"
    bms_protocol_version: str = "1.1"
    extension: ExtensionConfig = field(default_factory=ExtensionConfig)
    # -- emulator settings (bench defaults) -------------------------------------------------
    temperature_probes: int = 8
    address: int = BMS_ADDRESS
    charger_address: int = CHARGER_ADDRESS
    brm_length: int = 49  # 41 (up to the VIN) or 49 (with the BMS software version)
    maker: str = "BNCH"
    send_bmv: bool = False  # BMV/BMT are optional in the standard
    send_bmt: bool = False
    send_extension: bool = True
    bro_ready_delay_s: float = timing.BRO_READY_DELAY_S
    wake_min_off_s: float = timing.WAKE_MIN_OFF_S

    def __post_init__(self) -> None:
        if self.battery_type not in BATTERY_TYPE_NAMES:
            raise BenchError(
                f"vehicle.battery_type: {self.battery_type!r} is not one of {', '.join(sorted(BATTERY_TYPE_NAMES))}"
            )
        if len(self.vin) != 17 or not self.vin.isascii():
            raise BenchError(f"vehicle.vin: {self.vin!r} is not 17 ASCII characters")
        if self.brm_length not in (41, 49):
            raise BenchError(f"BRM length {self.brm_length}: 41 or 49 bytes")
        if self.cells < 1:
            raise BenchError(f"vehicle.cells: {self.cells} (at least 1)")
        for name in ("heating_status", "cooling_status"):
            if getattr(self.extension, name) not in ON_OFF:
                raise BenchError(f"vehicle.extension.{name}: {getattr(self.extension, name)!r} is not 'off' or 'on'")

    @classmethod
    def from_vehicle(cls, vehicle: Any, **settings: Any) -> BmsConfig:
        """Build from the profile's [vehicle] table object (attribute names fixed)."""
        values = {name: getattr(vehicle, name) for name in VEHICLE_FIELDS}
        ext = vehicle.extension
        values["extension"] = ExtensionConfig(**{f.name: getattr(ext, f.name) for f in fields(ExtensionConfig)})
        return cls(**values, **settings)
