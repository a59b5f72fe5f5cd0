"""The simulated bench: the plant, the instruments' front ends on loopback, the charger's CAN
side and the pile's control interface, built from one profile.

``SimulatedBench.start()`` serves every instrument of the profile with the dialect its driver
speaks (ports chosen by the OS) and returns the endpoints the launcher writes into the
profile: resource strings, the virtual CAN channel, the pile's Modbus port. The bench then
opens the same drivers it would open on hardware. Nothing here is reachable from the bench
except through those sockets and the CAN bus.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.core.canbus import ClockedBus, virtual_bus
from bench.core.clock import Clock
from bench.core.errors import BenchError
from bench.core.profile_model import CanSettings, Dut, InstrumentConfig, Profile
from bench.core.resources import parse_modbus_resource
from bench.protocols.gbt27930.charger import CST_FLAGS, ChargerBehaviour, ChargerStateMachine
from bench.protocols.modbus.registers import load_pile_map as load_map
from instruments.sim.frontends.chroma_61800 import Chroma61800FrontEnd
from instruments.sim.frontends.chroma_63200a import Chroma63200AFrontEnd
from instruments.sim.frontends.ev_simulator import DEFAULT_MAP_PATH, EvSimulatorBoard
from instruments.sim.frontends.itech_it6000c import ItechIT6000CFrontEnd
from instruments.sim.frontends.keysight_scope import KeysightScopeFrontEnd
from instruments.sim.frontends.rigol_scope import RigolScopeFrontEnd
from instruments.sim.frontends.yokogawa_wt import YokogawaWTFrontEnd
from instruments.sim.hub import LOOPBACK, SocketHub
from instruments.sim.modbus import ModbusFrontEnd
from instruments.sim.plant import make_plant
from instruments.sim.platform.modbus_device import PlatformModbusDevice

# Test-only controls (never profile keys): instruments/sim/test_controls.py.
from instruments.sim.test_controls import (  # noqa: F401
    IDENTITY_OVERRIDE_ENV,
    START_CONDITIONS_ENV,
    attach_faults,
    load_fault_plan,
    start_conditions,
)
from instruments.sim.test_controls import identity_overrides as _identity_overrides

# Which maker string each dialect answers *IDN? with (docs/instruments.md).
MAKERS = {
    "keysight-infiniivision": "KEYSIGHT TECHNOLOGIES",
    "rigol-ds": "RIGOL TECHNOLOGIES",
    "yokogawa-wt": "YOKOGAWA",
    "chroma-63200a": "Chroma",
    "itech-it6000c": "ITECH Electronics",
    "chroma-61800": "Chroma",
    "modbus-ev-simulator": "Bench Simulation",
}
SIM_FIRMWARE = "SIM-1.0"
# The analyzer's elements are wired by name: "output" measures what the pile delivers to the
# vehicle, "input" what it draws from the grid.
ANALYZER_POINTS = {
    "ac": {"output": ("ac_voltage", "ac_current"), "input": ("supply_voltage", "supply_current")},
    "dc": {
        "output": ("inlet_voltage", "output_current"),
        "input": ("supply_voltage", "supply_current"),
        # issue 13: the charger's side of K1/K2 (a type-test probe point), for the pre-charge
        "charger_output": ("charger_voltage", "output_current"),
    },
}
# python-can's virtual channels are process-wide: each simulated bench gets its own.
_CAN_CHANNELS = itertools.count(1)
# How often the simulated charger hands what it learnt from the vehicle's frames to the
# pile's uploads (bench choice; the 4.2.7 values change rarely).
BMS_INFO_SYNC_S = 0.5
# GB/T 27930 extension names → the 4.2.7 upload names the platform uses.
UPLOAD_NAMES = {
    "vin": "vin",
    "rated_capacity_ah": "battery_capacity",
    "lowest_cell_voltage": "lowest_cell_voltage",
    "lowest_cell_number": "lowest_cell_number",
    "heating_status": "heating_status",
    "cooling_status": "cooling_status",
    "internal_resistance": "internal_resistance",
    "vehicle_model": "vehicle_model",
}


@dataclass(frozen=True)
class SimEndpoints:
    resources: dict[str, str]
    can: CanSettings | None
    dut: Dut


class SimulatedBench:
    def __init__(self, profile: Profile, clock: Clock):
        self.profile = profile
        self.clock = clock
        self.sim = dict(profile.sim)
        seeds = np.random.SeedSequence(int(self.sim["seed"])).spawn(len(profile.instruments) + 1)
        self._rngs = {role: np.random.default_rng(seed) for role, seed in zip(sorted(profile.instruments), seeds[1:])}
        self.plant = make_plant(clock, profile.dut, profile.vehicle, self.sim, np.random.default_rng(seeds[0]))
        self._start = start_conditions()
        if self._start.get("inlet_voltage_v") and hasattr(self.plant, "charge_inlet"):
            self.plant.charge_inlet(float(self._start["inlet_voltage_v"]))
        self.hub = SocketHub(clock)
        self.front_ends: dict[str, Any] = {}
        self.charger: ChargerStateMachine | None = None
        self.charger_bus: ClockedBus | None = None
        self.charge_point = None
        self._closers: list[Callable[[], None]] = []

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> SimEndpoints:
        fault_plan = load_fault_plan()  # test-only: injected instrument faults
        served = {}
        resources = {}
        for role, config in self.profile.instruments.items():
            front_end, unit = self._front_end(role, config)
            self.front_ends[role] = front_end
            served[role] = ModbusFrontEnd(role, front_end, unit) if unit is not None else front_end
            port = self.hub.serve(served[role])
            resources[role] = (
                f"modbus+tcp://{LOOPBACK}:{port}/{unit}" if unit is not None else f"TCPIP0::{LOOPBACK}::{port}::SOCKET"
            )
        dut = self._serve_control(self.profile.dut)
        can_settings = self._start_charger() if self.profile.dut.kind == "dc" else None
        try:
            self._closers.append(attach_faults(fault_plan, served, self.charger_bus, self.clock, self.plant.history))
        except BenchError:
            self.stop()
            raise
        self.hub.start()
        return SimEndpoints(resources, can_settings, dut)

    def connect_central_system(self, url: str) -> None:
        """OCPP piles connect to the bench's Central System once it listens."""
        from bench.protocols.platform.ocpp_mapping import read_authorization_key
        from instruments.sim.platform.ocpp_charge_point import SimChargePoint

        ocpp = self.profile.dut.ocpp
        base_url = url.rsplit("/", 1)[0] if url.endswith(ocpp.charge_point_id) else url
        # Security profiles 1 and 2: the pile's AuthorizationKey; for TLS the CA it trusts.
        password = read_authorization_key(ocpp.password_file) if ocpp.security_profile >= 1 else None
        ca_file = (ocpp.ca_file or ocpp.certificate_file) if ocpp.security_profile == 2 else None
        self.charge_point = SimChargePoint(
            self.plant.platform,
            self.clock,
            base_url,
            ocpp.charge_point_id,
            password=password,
            ca_file=ca_file,
            max_frame_bytes=ocpp.max_frame_bytes,
        )
        self.charge_point.connect()

    def drop(self, role: str) -> None:
        """Close one instrument's sockets, as a cable pulled or a unit switched off."""
        self.hub.drop(role)

    def stop(self) -> None:
        if self.charge_point is not None:
            self.charge_point.close()
            self.charge_point = None
        for close in reversed(self._closers):
            close()
        self._closers.clear()
        self.hub.stop()

    @property
    def history(self):
        return self.plant.history

    # -- front ends ------------------------------------------------------------------------
    def _identity(self, config: InstrumentConfig) -> tuple[str, str, str, str]:
        override = _identity_overrides().get(config.role, {})
        return (
            MAKERS.get(config.driver, "Bench Simulation"),
            override.get("model") or config.model or config.driver.upper(),
            override.get("serial") or config.serial or f"SIM-{config.role.upper()}",
            SIM_FIRMWARE,
        )

    def _front_end(self, role: str, config: InstrumentConfig):
        """The front end for one instrument and, for Modbus devices, its unit id."""
        identity, rng, plant = self._identity(config), self._rngs[role], self.plant
        rating = config.rating
        driver = config.driver
        if driver in ("keysight-infiniivision", "rigol-ds"):
            wiring = {number: signal for signal, number in config.channels.items()}
            cls = KeysightScopeFrontEnd if driver == "keysight-infiniivision" else RigolScopeFrontEnd
            return cls(
                role,
                self.clock,
                identity,
                wiring,
                rng,
                plant=plant,
                points=int(self.sim["scope_points"]),
                noise_v=float(self.sim["scope_noise_v"]),
            ), None
        if driver == "yokogawa-wt":
            points = ANALYZER_POINTS[self.profile.dut.kind]
            wiring = {number: points[name] for name, number in config.channels.items()}
            return YokogawaWTFrontEnd(
                role,
                self.clock,
                identity,
                wiring,
                rng,
                plant=plant,
                power_gain_error_pct=float(self.sim["analyzer_power_error_pct"]),
            ), None
        if driver == "chroma-63200a":
            return Chroma63200AFrontEnd(
                role,
                self.clock,
                identity,
                {1: plant.load},
                rng,
                **_maxima(rating, voltage_max="voltage_v", current_max="current_a", power_max="power_w"),
            ), None
        if driver == "itech-it6000c":
            return ItechIT6000CFrontEnd(
                role,
                self.clock,
                identity,
                {1: plant.battery},
                rng,
                **_maxima(rating, voltage_max="voltage_v", current_max="current_a", power_max="power_w"),
            ), None
        if driver == "chroma-61800":
            return Chroma61800FrontEnd(
                role,
                self.clock,
                identity,
                {1: plant.grid},
                rng,
                plant=plant,
                **_maxima(rating, current_max="current_a"),
            ), None
        if driver == "modbus-ev-simulator":
            _, _, unit = parse_modbus_resource(config.resource)
            map_path = config.options.get("map") or DEFAULT_MAP_PATH  # absolute (the profile resolves it)
            wires = plant.wires() if hasattr(plant, "wires") else {}
            if hasattr(plant, "fit_insulation_resistors"):  # issue 13: the resistors the lines switch
                plant.fit_insulation_resistors(config.options.get("insulation_ohm", {}))
            lines = {output: wires[line] for line, output in config.wiring.items() if line in wires}
            try:
                board = EvSimulatorBoard(
                    self.clock,
                    plant.ev,
                    plant.signal,
                    map_path,
                    identity={0: identity[0], 1: identity[1], 2: SIM_FIRMWARE, 5: identity[1], 0x80: identity[2]},
                    rng=rng,
                    lines=lines,
                    estop_input=bool(self._start.get("estop_input")),
                )
            except ValueError as exc:  # a line on a relay output the board does not have
                raise BenchError(f"{self.profile.path}: instruments.{role}.wiring: {exc}") from None
            self._closers.append(board.close)
            return board, unit
        raise BenchError(f"{self.profile.path}: instruments.{role}.driver: no simulated instrument speaks {driver!r}")

    def _serve_control(self, dut: Dut) -> Dut:
        """The pile's own control interface (Modbus); OCPP piles connect later."""
        if dut.control != "modbus":
            return dut
        device = PlatformModbusDevice(load_map(dut.modbus.map_file), self.plant.platform, clock=self.clock)
        self._closers.append(device.close)
        port = self.hub.serve(ModbusFrontEnd("platform", device, dut.modbus.unit_id))
        return dataclasses.replace(dut, modbus=dataclasses.replace(dut.modbus, host=LOOPBACK, port=port))

    # -- the DC charger's protocol side ----------------------------------------------------
    def _start_charger(self) -> CanSettings:
        plant = self.plant
        channel = f"{self.profile.can.channel}-sim{next(_CAN_CHANNELS)}"
        self.charger_bus = virtual_bus(channel, self.clock, "charger")
        behaviour = ChargerBehaviour(
            chm_period_s=plant.chm_period_s,
            stop_on_bsm_abnormal=plant.stops_on_battery_alarms,
            stop_on_overvoltage=plant.stops_on_battery_alarms,
            wake_restarts_communication=plant.restarts_communication_after_wake,
            frame_faults=frozenset(plant.sim["charger_frame_faults"]),
            stop_on_timeout=plant.stops_on_communication_loss,
            reconnect_attempts=int(plant.sim["reconnect_attempts"]),
            timeout_factor=float(plant.sim["cem_timeout_factor"]),
            # -- issue 13: BMS anomalies
            checks_voltage_range=not plant.sim["ignores_bcp_mismatch"],
        )
        extension = self.profile.vehicle.extension.dbc if self.profile.vehicle else None
        charger = ChargerStateMachine(
            self.charger_bus,
            plant,
            plant.ratings(),
            behaviour,
            extension_dbc_path=str(extension) if extension else None,
        )
        self.charger = charger
        plant.set_wake_handler(charger.wake_vehicle)
        plant.add_listener(self._plant_event)
        sync = self.clock.every(BMS_INFO_SYNC_S, self._sync_bms_info)
        self._closers.append(sync.cancel)
        self._closers.append(charger.close)
        self._closers.append(self.charger_bus.close)
        return CanSettings(
            interface="virtual",
            channel=channel,
            bitrate=self.profile.can.bitrate,
            options={"preserve_timestamps": True},
        )

    def _plant_event(self, name: str) -> None:
        charger = self.charger
        if name == "start":
            charger.start()
        elif name == "stop":
            charger.stop("manual")
        elif name in ("supply_fault", "estop", "disconnected", "short_circuit", "insulation_fault"):
            charger.stop("fault", ("other_fault",) if "other_fault" in CST_FLAGS else ())
        elif name == "unplugged":
            charger.vehicle_unplugged()

    def _sync_bms_info(self) -> None:
        """What the charger learnt from the vehicle, to the plant: the 4.2.7 fields and the
        battery status (4.5.3 e)."""
        charger = self.charger
        if charger is None:  # closed while the timer fired
            return
        learnt = charger.vehicle_data()
        info = {UPLOAD_NAMES[key]: value for key, value in learnt.items() if key in UPLOAD_NAMES and value is not None}
        if info and info != self.plant.learnt_bms_info():
            self.plant.learn_bms_info(info)
        self.plant.learn_battery_status(charger.battery_status())


def _maxima(rating, **names) -> dict:
    """Front-end maxima from the profile's rating table (largest magnitude of the range)."""
    return {arg: max(abs(v) for v in rating[key]) for arg, key in names.items() if key in rating}
