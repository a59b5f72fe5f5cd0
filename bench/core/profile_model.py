"""Profiles, the model: the pile model under test, the vehicle side, the bench wiring and
`[sim]`, as the reader (bench/core/profile.py) builds them from a validated TOML file."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bench.core import sim_parameters
from bench.core.editions import DEFAULT_EDITION
from bench.core.errors import ProfileError

ROLES = ("scope", "analyzer", "load", "battery", "ev", "grid")
REQUIRED_ROLES = {"ac": ("scope", "ev"), "dc": ("battery", "ev")}
BATTERY_TYPES = ("lead-acid", "nimh", "lfp", "limn2o4", "licoo2", "ternary", "li-polymer", "lito", "other")
CONNECTORS = {"ac": "GB/T 20234.2", "dc": "GB/T 20234.3"}
PROTOCOL_EDITIONS = {"ac": ("GB/T 18487.1-2015",), "dc": ("GB/T 27930-2015",)}
# GB/T 18487.1 duty table tops out at 63 A (85–90 % duty band).
AC_MAX_CURRENT_A = 63.0
VIN_PATTERN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
# [instruments.ev.wiring]: the lines the EV simulator / relay board's general-purpose relay
# outputs can drive (line → output number), by DUT kind. The watchdog opens them when the
# bench's heartbeat stops (the inhibit lines first, CC1 last).
# Accuracy classes of a trade-settlement pile's metering (docs/limits.md §9, U).
METER_ACCURACY_CLASSES = {"ac": (1.0, 2.0), "dc": (0.5, 1.0)}
# -- issue 13: DC vehicle-side faults: cc1_fault (a resistor across CC1 at the vehicle side) and
# pe_break (a normally-closed contact in the vehicle's PE line) join the DC lines.
# -- issue 13: DC insulation and pre-charge: insulation_warning and insulation_low, two relays each
# switching a resistor from DC+ to PE at the inlet (their values: [instruments.ev.options] insulation_ohm).
EV_WIRING_LINES = {
    "dc": (
        "battery_inhibit",
        "load_inhibit",
        "cc1",
        "output_short",
        "cc1_fault",
        "pe_break",
        "insulation_warning",
        "insulation_low",
    ),
    # -- issue 13: AC vehicle-side faults: CP shorted to PE, CP opened, the vehicle's PE opened, and
    # the RC bank choosing the cable's rating (instruments/sim/plant/ac_interface.py).
    "ac": ("cp_pe_short", "cp_open", "pe_break", "rc_10a", "rc_16a", "rc_32a", "rc_63a"),
}
EV_OUTPUTS_MAX = 16  # the board's watchdog masks are 16 bits wide (the shipped map 1.1 has 8 outputs)


# --------------------------------------------------------------------------------------
# The profile's sections
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BenchSettings:
    simulated: bool
    mode: str  # "development" | "type-test"
    watchdog_s: float  # the EV simulator opens everything when the bench's heartbeat stops this long


@dataclass(frozen=True)
class ModbusEndpoint:
    host: str
    port: int
    unit_id: int
    map_file: Path  # register map TOML (bench/protocols/platform maps), absolute


@dataclass(frozen=True)
class OcppEndpoint:
    listen_host: str
    port: int
    charge_point_id: str
    # OCPP 1.6 Security Whitepaper: 0 none, 1 HTTP Basic auth over ws://, 2 TLS (wss://) + Basic auth.
    security_profile: int = 0
    password_file: Path | None = None  # profiles 1, 2: the charge point's AuthorizationKey (hex digits)
    certificate_file: Path | None = None  # profile 2: the Central System's certificate chain (PEM)
    key_file: Path | None = None  # profile 2: its private key (PEM, unencrypted)
    ca_file: Path | None = None  # profile 2: what a simulated charge point trusts (default: certificate_file)
    max_frame_bytes: int = 65536  # a larger frame from the pile closes the connection (WebSocket 1009)


@dataclass(frozen=True)
class Dut:
    kind: str  # "ac" | "dc"
    model: str
    manufacturer: str
    serial: str
    firmware: str
    rated_power_kw: float
    voltage_range_v: tuple[float, float]  # DC: output voltage; AC: supply voltage the pile accepts
    current_range_a: tuple[float, float]  # DC: output current; AC: current the pile may offer by PWM
    phases: int
    nominal_supply_v: float  # phase voltage (L–N) of the pile's supply; 220 V on 220/380 V mains
    supply_frequency_hz: float
    connector: str
    protocol_edition: str
    control: str  # "modbus" | "ocpp16"
    modbus: ModbusEndpoint | None
    ocpp: OcppEndpoint | None
    # Accuracy class of the pile's energy metering for trade settlement (4.4.3: JJG 1148-2022 AC
    # 1 or 2, JJG 1149-2022 DC 0.5 or 1); None: not a trade-settlement pile.
    meter_accuracy_class: float | None = None
    # The GB/T 18487.1 / GB/T 34657.1 pair the pile is qualified against (bench/core/editions.py).
    standard_edition: str = DEFAULT_EDITION.name


@dataclass(frozen=True)
class VehicleExtension:
    """The 4.2.7 values sent in the extension frame (not in the 2015 message set)."""

    lowest_cell_voltage_v: float
    lowest_cell_number: int
    heating_status: str
    cooling_status: str
    internal_resistance_mohm: float
    vehicle_model: str
    dbc: Path | None


@dataclass(frozen=True)
class Vehicle:
    battery_type: str
    capacity_ah: float
    rated_voltage_v: float
    voltage_range_v: tuple[float, float]
    max_charge_voltage_v: float
    max_charge_current_a: float
    max_cell_voltage_v: float
    max_temperature_c: float
    nominal_energy_kwh: float
    soc_pct: float
    temperature_c: float
    cells: int
    vin: str
    bms_protocol_version: str
    extension: VehicleExtension


@dataclass(frozen=True)
class Accuracy:
    """Instrument accuracy for one quantity: ±(pct_reading % of reading + offset)."""

    pct_reading: float = 0.0
    offset: float = 0.0

    def uncertainty(self, reading: float) -> float:
        return abs(reading) * self.pct_reading / 100.0 + self.offset


@dataclass(frozen=True)
class InstrumentConfig:
    role: str
    driver: str
    resource: str
    visa_backend: str
    model: str
    serial: str
    calibration_due: date | None
    accuracy: Mapping[str, Accuracy]
    channels: Mapping[str, int]
    rating: Mapping[str, tuple[float, float]]
    timeout_s: float
    options: Mapping[str, Any]
    # [instruments.ev.wiring]: line name → relay output number of the EV simulator / relay board
    wiring: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CanSettings:
    interface: str
    channel: str
    bitrate: int
    options: Mapping[str, Any]

    def bus_kwargs(self) -> dict[str, Any]:
        return {"interface": self.interface, "channel": self.channel, "bitrate": self.bitrate, **self.options}


@dataclass(frozen=True)
class Profile:
    path: Path
    bench: BenchSettings
    dut: Dut
    vehicle: Vehicle | None
    instruments: Mapping[str, InstrumentConfig]
    can: CanSettings | None
    sim: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.stem

    def instrument(self, role: str) -> InstrumentConfig | None:
        return self.instruments.get(role)

    def with_resources(
        self, resources: Mapping[str, str], can: CanSettings | None = None, dut: Dut | None = None
    ) -> Profile:
        """A copy with resource strings rewritten (the simulated bench's launcher)."""
        instruments = {
            role: dataclasses.replace(cfg, resource=resources.get(role, cfg.resource))
            for role, cfg in self.instruments.items()
        }
        return dataclasses.replace(self, instruments=instruments, can=can or self.can, dut=dut or self.dut)

    def with_sim(self, overrides: Mapping[str, Any], origin: str = "--sim-set") -> Profile:
        """A copy with `[sim]` values overridden (each checked like the file's)."""
        sim = dict(self.sim)
        for key, value in overrides.items():
            sim[key] = _coerce_sim(origin, key, value)
        return dataclasses.replace(self, sim=sim)


def _coerce_sim(origin: str | Path, key: str, value: Any) -> Any:
    if key not in sim_parameters.PARAMETERS:
        raise ProfileError(
            origin,
            f"sim.{key}",
            "unknown [sim] parameter; expected one of: " + ", ".join(sorted(sim_parameters.PARAMETERS)),
        )
    try:
        return sim_parameters.coerce(key, value)
    except ValueError as exc:
        raise ProfileError(origin, f"sim.{key}", str(exc)) from None
