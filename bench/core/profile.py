"""Profiles, the reader: the pile model under test, the vehicle side, the bench wiring and
`[sim]` (the model: bench/core/profile_model.py; resource strings: bench/core/resources.py).

A profile is a TOML file (schema in profiles/README.md). ``load_profile`` validates the
whole file before anything is opened: an unknown key, a wrong type, a missing value,
ratings that contradict each other, an unknown driver, or a resource string its transport
cannot parse ends in one ProfileError line naming the file, the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from bench.core import sim_parameters
from bench.core.editions import DEFAULT_EDITION, EDITIONS
from bench.core.errors import ProfileError
from bench.core.profile_model import (  # noqa: F401 - the model, importable from here as before
    AC_MAX_CURRENT_A,
    BATTERY_TYPES,
    CONNECTORS,
    EV_OUTPUTS_MAX,
    EV_WIRING_LINES,
    METER_ACCURACY_CLASSES,
    PROTOCOL_EDITIONS,
    REQUIRED_ROLES,
    ROLES,
    VIN_PATTERN,
    Accuracy,
    BenchSettings,
    CanSettings,
    Dut,
    InstrumentConfig,
    ModbusEndpoint,
    OcppEndpoint,
    Profile,
    Vehicle,
    VehicleExtension,
    _coerce_sim,
)
from bench.core.resources import parse_modbus_resource, resource_problem  # noqa: F401 - as before
from bench.core.tomlfile import Table as _Table  # the one TOML table reader (also the register maps')
from bench.core.tomlfile import read_toml

# The model and the resource parser stay importable from here, as before the split.
__all__ = [
    "AC_MAX_CURRENT_A",
    "BATTERY_TYPES",
    "CONNECTORS",
    "EV_OUTPUTS_MAX",
    "EV_WIRING_LINES",
    "PROTOCOL_EDITIONS",
    "REQUIRED_ROLES",
    "ROLES",
    "VIN_PATTERN",
    "Accuracy",
    "BenchSettings",
    "CanSettings",
    "Dut",
    "InstrumentConfig",
    "ModbusEndpoint",
    "OcppEndpoint",
    "Profile",
    "Vehicle",
    "VehicleExtension",
    "load_profile",
    "parse_modbus_resource",
    "resource_problem",
]


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------
def load_profile(path: str | Path, drivers: Mapping[str, str] | None = None) -> Profile:
    """Read and validate a profile.

    ``drivers`` maps each registered driver name to its transport ("visa", "modbus");
    without it driver names and resource strings are not checked.
    """
    path = Path(path)
    raw = read_toml(path, "no such profile file")
    _refuse_non_finite(path, raw, "")
    return _ProfileReader(path, raw, drivers).read()


def _refuse_non_finite(path: Path, value: Any, key: str) -> None:
    """No NaN or ±inf anywhere in a profile, whatever the key (TOML allows nan and inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ProfileError(path, key or "(top level)", f"a finite number, got {value!r}")
    if isinstance(value, dict):
        for name, item in value.items():
            _refuse_non_finite(path, item, f"{key}.{name}" if key else name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_non_finite(path, item, f"{key}[{index}]")


def _check_ocpp_security(t: _Table, endpoint: OcppEndpoint) -> None:
    """[dut.ocpp] security keys: which profile needs which file, and that each file is usable.
    A message names the file's key and what is wrong, never what a password file holds."""
    import ssl

    from bench.protocols.platform import ocpp_mapping

    profile = endpoint.security_profile
    needs = {"password_file": 1, "certificate_file": 2, "key_file": 2, "ca_file": 2}
    for key, lowest in needs.items():
        given = getattr(endpoint, key) is not None
        if given and profile < lowest:
            t.fail(
                key,
                f"only used with security_profile = {'1 or 2' if lowest == 1 else '2'} (security_profile is {profile})",
            )
        if not given and profile >= lowest and key != "ca_file":
            what = {
                "password_file": "a file with the charge point's AuthorizationKey (32–40 hex digits)",
                "certificate_file": "the Central System's certificate chain (PEM)",
                "key_file": "the Central System's private key (PEM)",
            }[key]
            t.fail(key, f"missing; security_profile = {profile} needs {what}")
    if profile >= 1:
        if ":" in endpoint.charge_point_id:
            t.fail("charge_point_id", "no ':' with security_profile 1 or 2 (the id is the HTTP Basic username)")
        assert endpoint.password_file is not None  # the loop above failed the profile without one
        try:
            ocpp_mapping.read_authorization_key(endpoint.password_file)
        except ValueError as exc:
            t.fail("password_file", str(exc))
    if profile == 2:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)

        class Encrypted(Exception):
            pass

        def passphrase() -> NoReturn:  # without it OpenSSL would prompt on the terminal
            raise Encrypted

        try:
            context.load_cert_chain(str(endpoint.certificate_file), str(endpoint.key_file), password=passphrase)
        except Encrypted:
            t.fail("key_file", "an unencrypted PEM private key; this one asks for a passphrase")
        except (ssl.SSLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc).__name__
            t.fail(
                "key_file",
                f"a PEM certificate chain (certificate_file) and its unencrypted private key "
                f"(key_file) that belong together; ssl says: {reason}",
            )
        try:
            ssl.create_default_context(cafile=str(endpoint.ca_file or endpoint.certificate_file))
        except (ssl.SSLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc).__name__
            t.fail(
                "ca_file" if endpoint.ca_file else "certificate_file",
                f"PEM certificates a charge point can trust; ssl says: {reason}",
            )


class _ProfileReader:
    def __init__(self, path: Path, raw: dict[str, Any], drivers: Mapping[str, str] | None):
        self.path = path
        self.root = _Table(path, "", raw)
        self.drivers = drivers

    def read(self) -> Profile:
        root = self.root
        bench = self._bench(root.table("bench", required=True))
        dut = self._dut(root.table("dut", required=True))
        vehicle_table = root.table("vehicle", required=dut.kind == "dc")
        vehicle = self._vehicle(vehicle_table) if vehicle_table else None
        instruments = self._instruments(root.table("instruments", required=True), dut)
        can_table = root.table("can", required=dut.kind == "dc")
        can_settings = self._can(can_table) if can_table else None
        sim_table = root.table("sim")
        sim = self._sim(sim_table)
        root.finish()
        self._cross_checks(bench, dut, vehicle, instruments, can_settings)
        return Profile(self.path, bench, dut, vehicle, instruments, can_settings, sim)

    # -- sections ------------------------------------------------------------------------
    def _bench(self, t: _Table) -> BenchSettings:
        settings = BenchSettings(
            simulated=t.get("simulated", bool),
            mode=t.choice("mode", ("development", "type-test"), "development"),
            watchdog_s=t.number("watchdog_s", "s", 5.0, low=0.1, high=3600),
        )
        t.finish()
        return settings

    def _dut(self, t: _Table) -> Dut:
        kind = t.choice("kind", ("ac", "dc"))
        control = t.choice("control", ("modbus", "ocpp16"))
        modbus_t, ocpp_t = t.table("modbus"), t.table("ocpp")
        modbus = self._modbus(modbus_t) if modbus_t else None
        ocpp = self._ocpp(ocpp_t) if ocpp_t else None
        if control == "modbus" and modbus is None:
            raise ProfileError(
                self.path, "[dut.modbus]", 'missing table; control = "modbus" needs host, port, unit_id, map'
            )
        if control == "ocpp16" and ocpp is None:
            raise ProfileError(
                self.path, "[dut.ocpp]", 'missing table; control = "ocpp16" needs port and charge_point_id'
            )
        dut = Dut(
            kind=kind,
            model=t.get("model", str),
            manufacturer=t.get("manufacturer", str),
            serial=t.get("serial", str),
            firmware=t.get("firmware", str, ""),
            rated_power_kw=t.number("rated_power_kw", "kW", low=0.1, high=1000),
            voltage_range_v=t.range("voltage_range_v", "V", low=0),
            current_range_a=t.range("current_range_a", "A", low=0),
            phases=t.choice("phases", (1, 3), 1),
            nominal_supply_v=t.number("nominal_supply_v", "V (phase, L–N)", 220.0, low=100, high=500),
            supply_frequency_hz=t.number("supply_frequency_hz", "Hz", 50.0, low=45, high=65),
            connector=t.choice("connector", tuple(CONNECTORS.values())),
            protocol_edition=t.choice("protocol_edition", PROTOCOL_EDITIONS[kind]),
            control=control,
            modbus=modbus,
            ocpp=ocpp,
            meter_accuracy_class=self._meter_class(t, kind),
            standard_edition=t.choice("standard_edition", tuple(EDITIONS), DEFAULT_EDITION.name),
        )
        t.finish()
        return dut

    def _meter_class(self, t: _Table, kind: str) -> float | None:
        value = t.number("meter_accuracy_class", "", None)
        classes = METER_ACCURACY_CLASSES[kind]
        if value is not None and value not in classes:
            t.fail(
                "meter_accuracy_class",
                f"one of {', '.join(f'{c:g}' for c in classes)} for a {kind.upper()} pile "
                f"({'JJG 1148-2022' if kind == 'ac' else 'JJG 1149-2022'}), got {value!r}",
            )
        return None if value is None else float(value)

    def _modbus(self, t: _Table) -> ModbusEndpoint:
        endpoint = ModbusEndpoint(
            host=t.get("host", str),
            port=t.integer("port", low=0, high=65535),
            unit_id=t.integer("unit_id", 1, low=0, high=247),
            map_file=t.file("map"),
        )
        t.finish()
        return endpoint

    def _ocpp(self, t: _Table) -> OcppEndpoint:
        endpoint = OcppEndpoint(
            listen_host=t.get("listen_host", str, "127.0.0.1"),
            port=t.integer("port", low=0, high=65535),
            charge_point_id=t.get("charge_point_id", str),
            security_profile=t.choice("security_profile", (0, 1, 2), 0),
            password_file=t.file("password_file", None),
            certificate_file=t.file("certificate_file", None),
            key_file=t.file("key_file", None),
            ca_file=t.file("ca_file", None),
            max_frame_bytes=t.integer("max_frame_bytes", 65536, low=1024, high=16 * 1024 * 1024),
        )
        if not endpoint.charge_point_id.strip():
            t.fail("charge_point_id", "a non-empty charge point id")
        t.finish()
        _check_ocpp_security(t, endpoint)
        return endpoint

    def _vehicle(self, t: _Table) -> Vehicle:
        ext_t = t.table("extension", required=True)
        extension = VehicleExtension(
            lowest_cell_voltage_v=ext_t.number("lowest_cell_voltage_v", "V", low=0, high=10),
            lowest_cell_number=ext_t.integer("lowest_cell_number", low=1, high=256),
            heating_status=ext_t.choice("heating_status", ("off", "on")),
            cooling_status=ext_t.choice("cooling_status", ("off", "on")),
            internal_resistance_mohm=ext_t.number("internal_resistance_mohm", "mΩ", low=0, high=10000),
            vehicle_model=ext_t.get("vehicle_model", str),
            dbc=ext_t.file("dbc", None),
        )
        ext_t.finish()
        vehicle = Vehicle(
            battery_type=t.choice("battery_type", BATTERY_TYPES),
            capacity_ah=t.number("capacity_ah", "Ah", low=0.1, high=10000),
            rated_voltage_v=t.number("rated_voltage_v", "V", low=1, high=1500),
            voltage_range_v=t.range("voltage_range_v", "V", low=0),
            max_charge_voltage_v=t.number("max_charge_voltage_v", "V", low=1, high=1500),
            max_charge_current_a=t.number("max_charge_current_a", "A", low=0.1, high=1000),
            max_cell_voltage_v=t.number("max_cell_voltage_v", "V", low=0.5, high=10),
            max_temperature_c=t.number("max_temperature_c", "°C", low=-50, high=200),
            nominal_energy_kwh=t.number("nominal_energy_kwh", "kWh", low=0.1, high=1000),
            soc_pct=t.number("soc_pct", "%", low=0, high=100),
            temperature_c=t.number("temperature_c", "°C", low=-50, high=200),
            cells=t.integer("cells", low=1, high=1024),
            vin=t.get("vin", str),
            bms_protocol_version=t.get("bms_protocol_version", str, "1.1"),
            extension=extension,
        )
        if not VIN_PATTERN.fullmatch(vehicle.vin):
            t.fail("vin", f"17 characters A–Z (no I, O, Q) and 0–9, got {vehicle.vin!r}")
        t.finish()
        lo, hi = vehicle.voltage_range_v
        if not lo <= vehicle.rated_voltage_v <= hi:
            t.fail(
                "rated_voltage_v", f"a value inside voltage_range_v {lo:g} … {hi:g} V, got {vehicle.rated_voltage_v:g}"
            )
        if vehicle.max_charge_voltage_v < vehicle.rated_voltage_v:
            t.fail(
                "max_charge_voltage_v",
                f"≥ rated_voltage_v ({vehicle.rated_voltage_v:g} V), got {vehicle.max_charge_voltage_v:g}",
            )
        return vehicle

    def _instruments(self, t: _Table, dut: Dut) -> dict[str, InstrumentConfig]:
        configs = {}
        for role in t.data:
            if role not in ROLES:
                t.fail(role, "unknown instrument role; expected one of: " + ", ".join(ROLES))
            role_t = t.table(role)
            assert role_t is not None  # role is a key of t.data
            configs[role] = self._instrument(role, role_t, dut)
        t.finish()
        for role in REQUIRED_ROLES[dut.kind]:
            if role not in configs:
                raise ProfileError(
                    self.path, f"[instruments.{role}]", f"missing table; a {dut.kind.upper()} bench needs a {role}"
                )
        return configs

    def _instrument(self, role: str, t: _Table, dut: Dut) -> InstrumentConfig:
        driver = t.get("driver", str)
        transport = None
        if self.drivers is not None:
            if driver not in self.drivers:
                t.fail("driver", f"unknown driver {driver!r}; expected one of: " + ", ".join(sorted(self.drivers)))
            transport = self.drivers[driver]
        resource = t.get("resource", str)
        if transport is not None:
            problem = resource_problem(transport, resource)
            if problem:
                t.fail("resource", problem)
        calibration_due = self._date(t, "calibration_due")
        accuracy = {}
        acc_t = t.table("accuracy")
        if acc_t:
            for quantity in acc_t.data:
                q = acc_t.table(quantity)
                assert q is not None  # quantity is a key of acc_t.data
                accuracy[quantity] = Accuracy(
                    q.number("pct_reading", "%", 0.0, low=0), q.number("offset", "(unit of the quantity)", 0.0, low=0)
                )
                q.finish()
            acc_t.finish()
        channels = {}
        ch_t = t.table("channels")
        if ch_t:
            for name in ch_t.data:
                channels[name] = ch_t.integer(name, low=1, high=64)
            ch_t.finish()
        rating = {}
        rating_t = t.table("rating")
        if rating_t:
            for quantity in rating_t.data:
                rating[quantity] = rating_t.range(quantity, "(unit of the quantity)")
            rating_t.finish()
        options_t = t.table("options")
        wiring_t = t.table("wiring")
        wiring = self._ev_wiring(role, wiring_t, dut) if wiring_t else {}
        config = InstrumentConfig(
            role=role,
            driver=driver,
            resource=resource,
            visa_backend=t.choice("visa_backend", ("@py", "@ivi"), "@py"),
            model=t.get("model", str, ""),
            serial=t.get("serial", str, ""),
            calibration_due=calibration_due,
            accuracy=accuracy,
            channels=channels,
            rating=rating,
            timeout_s=t.number("timeout_s", "s", 2.0, low=0.01, high=600),
            options=self._options(options_t),
            wiring=wiring,
        )
        t.finish()
        return config

    def _options(self, t: _Table | None) -> dict[str, Any]:
        """Driver options, passed through; a ``map`` (the EV simulator's register map) is a file
        relative to the profile's folder, resolved here so that no one resolves it against the
        working directory."""
        if t is None:
            return {}
        options = dict(t.data)
        if "map" in options:
            options["map"] = t.file("map")
        return options

    def _ev_wiring(self, role: str, t: _Table, dut: Dut) -> dict[str, int]:
        """[instruments.ev.wiring]: which relay output of the board drives which line."""
        if role != "ev":
            raise ProfileError(
                self.path,
                t.name,
                "only [instruments.ev] has a wiring table (the relay "
                "board's outputs); wire scope and analyzer inputs with channels",
            )
        lines = EV_WIRING_LINES[dut.kind]
        wiring: dict[str, int] = {}
        for line in t.data:
            if line not in lines:
                if any(line in names for names in EV_WIRING_LINES.values()):
                    t.fail(
                        line,
                        f"a {dut.kind.upper()} bench has no such line; its lines: "
                        + (", ".join(lines) or "none (S2 and CP are the board's own relays)"),
                    )
                t.fail(
                    line,
                    "unknown line; expected one of: "
                    + ", ".join(sorted({n for names in EV_WIRING_LINES.values() for n in names})),
                )
            output = t.integer(line, low=1, high=EV_OUTPUTS_MAX)
            other = next((name for name, used in wiring.items() if used == output), None)
            if other is not None:
                t.fail(line, f"a relay output of its own; output {output} already drives {other}")
            wiring[line] = output
        t.finish()
        return wiring

    def _date(self, t: _Table, key: str) -> date | None:
        t.used.add(key)
        if key not in t.data:
            return None
        value = t.data[key]
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        t.fail(key, f"expected a date (YYYY-MM-DD), got {value!r}")

    def _can(self, t: _Table) -> CanSettings:
        import can  # only to know the interface names python-can has

        interface = t.get("interface", str)
        if interface not in can.interfaces.BACKENDS:
            t.fail(
                "interface",
                f"unknown python-can interface {interface!r}; expected one of: "
                + ", ".join(sorted(can.interfaces.BACKENDS)),
            )
        settings = CanSettings(
            interface=interface,
            channel=self._channel(t),
            bitrate=t.integer("bitrate", 250_000, low=10_000, high=1_000_000),
            options={},
        )
        options_t = t.table("options")
        t.finish()
        return dataclasses.replace(settings, options=dict(options_t.data) if options_t else {})

    def _channel(self, t: _Table) -> str:
        t.used.add("channel")
        value = t.data.get("channel")
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            t.fail("channel", f"expected the adapter channel (a string or an integer), got {value!r}")
        return str(value)

    def _sim(self, t: _Table | None) -> dict[str, Any]:
        sim = sim_parameters.defaults()
        if t is None:
            return sim
        for key, value in t.data.items():
            sim[key] = _coerce_sim(self.path, key, value)
        return sim

    # -- contradictions between sections -------------------------------------------------
    def _cross_checks(
        self,
        bench: BenchSettings,
        dut: Dut,
        vehicle: Vehicle | None,
        instruments: Mapping[str, InstrumentConfig],
        can_settings: CanSettings | None,
    ) -> None:
        def fail(key: str, expected: str) -> NoReturn:
            raise ProfileError(self.path, key, expected)

        if dut.connector != CONNECTORS[dut.kind]:
            fail("dut.connector", f"{CONNECTORS[dut.kind]!r} for a {dut.kind.upper()} pile, got {dut.connector!r}")
        v_lo, v_hi = dut.voltage_range_v
        i_lo, i_hi = dut.current_range_a
        rated_w = dut.rated_power_kw * 1000
        if dut.kind == "ac":
            if i_hi > AC_MAX_CURRENT_A:
                fail(
                    "dut.current_range_a", f"a maximum ≤ {AC_MAX_CURRENT_A:g} A (GB/T 18487.1 duty table), got {i_hi:g}"
                )
            if not v_lo <= dut.nominal_supply_v <= v_hi:
                fail(
                    "dut.nominal_supply_v",
                    f"a value inside voltage_range_v {v_lo:g} … {v_hi:g} V, got {dut.nominal_supply_v:g}",
                )
            offered_w = dut.phases * dut.nominal_supply_v * i_hi
            if abs(offered_w - rated_w) > 0.1 * rated_w:
                fail(
                    "dut.rated_power_kw",
                    f"≈ phases × supply voltage × maximum current "
                    f"({offered_w / 1000:.2f} kW within 10 %), got {dut.rated_power_kw:g}",
                )
        else:
            if rated_w > v_hi * i_hi:
                fail(
                    "dut.rated_power_kw",
                    f"≤ maximum voltage × maximum current ({v_hi * i_hi / 1000:g} kW), got {dut.rated_power_kw:g}",
                )
            if vehicle is not None:
                b_lo, b_hi = vehicle.voltage_range_v
                if b_lo < v_lo or b_hi > v_hi:
                    fail(
                        "vehicle.voltage_range_v",
                        f"inside the charger's output range {v_lo:g} … {v_hi:g} V, got [{b_lo:g}, {b_hi:g}]",
                    )
            battery = instruments.get("battery")
            if battery is not None and vehicle is not None and "voltage_v" in battery.rating:
                r_lo, r_hi = battery.rating["voltage_v"]
                b_lo, b_hi = vehicle.voltage_range_v
                if b_lo < r_lo or b_hi > r_hi:
                    fail(
                        "instruments.battery.rating.voltage_v",
                        f"covering the vehicle's battery voltage range {b_lo:g} … {b_hi:g} V, got [{r_lo:g}, {r_hi:g}]",
                    )
        if bench.simulated and can_settings is not None and can_settings.interface != "virtual":
            fail("can.interface", f"'virtual' on a simulated bench, got {can_settings.interface!r}")
