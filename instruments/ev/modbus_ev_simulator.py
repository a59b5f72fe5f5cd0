"""EV simulator / relay board over Modbus TCP (driver "modbus-ev-simulator", role "ev").

The board's registers are documented in ev_simulator_map.toml (next to this file; a
profile may point to its own copy with ``[instruments.ev] options.map = "..."``), read with
the bench's one register-map codec (bench/protocols/modbus/registers.py).
Every write is read back; a setpoint outside the map's allowed values or the DUT's range
is refused before anything is sent.

The board's general-purpose relay outputs drive the lines the profile's
``[instruments.ev.wiring]`` names (line → output number): ``battery_inhibit`` and
``load_inhibit`` (the instruments' hardware inhibit inputs, made = output allowed),
``cc1`` (a relay in the CC1 line, made while the plug is in) and ``output_short`` (the coil of
a shorting contactor across the vehicle inlet, made only while a 4.2.5 short-circuit case
applies the short; the watchdog opens it with the inhibit lines). ``arm_safety_net`` tells
the board what its watchdog opens, and in which order, when the bench's heartbeat stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bench.core.clock import Clock
from bench.core.errors import InstrumentError, SetpointRefused
from bench.core.profile import InstrumentConfig
from bench.protocols.modbus.registers import EV_BOARD_MAP, BoardMap, Register, load_board_map
from instruments.base import Driver, Identity
from instruments.ev.modbus_link import ModbusExceptionError, ModbusLink
from instruments.registry import register

# Modbus device identification objects (Modbus Application Protocol V1.1b3, 6.21)
VENDOR, PRODUCT_CODE, REVISION, PRODUCT_NAME, MODEL_NAME = 0x00, 0x01, 0x02, 0x04, 0x05
SERIAL_OBJECT = 0x80  # private object, documented in the map file
READ_REGULAR, READ_ONE = 0x02, 0x04

# cp_state values (map file)
UNPLUGGED, CONNECTED, S2_CLOSED = 1, 2, 3
# Lines on relay outputs that let an instrument energise (closed by arm_safety_net); the
# watchdog opens them before the CC1 line, which it opens last.
INHIBIT_LINES = ("battery_inhibit", "load_inhibit")
LAST_LINES = ("cc1",)
WATCHDOG_REGISTERS = ("watchdog_outputs", "watchdog_outputs_last", "watchdog_unplug")
DEFAULT_MAP = EV_BOARD_MAP  # the map file next to this driver, unless options.map names another


@register("modbus-ev-simulator")
class ModbusEvSimulator(Driver):
    transport = "modbus"
    roles = ("ev",)

    def __init__(
        self,
        config: InstrumentConfig,
        clock: Clock,
        dut_guard: Mapping[str, tuple[float, float]] | None = None,
        *,
        base_dir: Path | None = None,
    ):
        super().__init__(config, clock, dut_guard)
        self.map: BoardMap = load_board_map(map_path(config.options, base_dir))
        self.link = ModbusLink.for_resource(config.role, config.resource, config.timeout_s)
        self._heartbeat = 0
        self.wiring = dict(config.wiring)  # line → relay output number
        for line, output in self.wiring.items():
            if f"output_{output}" not in self.map.registers:
                raise InstrumentError(
                    self.role,
                    f"wiring.{line} = {output}: {self.map.path.name} has no "
                    f"relay output {output} (register output_{output})",
                )

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> None:
        self.link.open()
        self.identify()
        found = self.read_raw("map_version")
        if found >> 8 != self.map.version[0]:
            raise InstrumentError(
                self.role,
                f"board at {self.config.resource} reports register map "
                f"{found >> 8}.{found & 0xFF}; {self.map.path.name} is version "
                f"{self.map.version[0]}.{self.map.version[1]}",
            )
        self._heartbeat = self.read_raw("heartbeat")

    def close(self) -> None:
        self.link.close()

    def identify(self) -> Identity:
        objects = self.link.device_information(READ_REGULAR, VENDOR, "read device identification (43/14)")
        text = {
            obj: value.decode("ascii", errors="replace").strip() if isinstance(value, bytes) else str(value)
            for obj, value in objects.items()
        }
        if VENDOR not in text or (MODEL_NAME not in text and PRODUCT_CODE not in text):
            raise InstrumentError(self.role, f"device identification {text!r} lacks the vendor or model object")
        try:
            serial = self.link.device_information(READ_ONE, SERIAL_OBJECT, "read serial number (43/14 object 0x80)")
            text[SERIAL_OBJECT] = serial.get(SERIAL_OBJECT, b"").decode("ascii", errors="replace").strip()
        except ModbusExceptionError:
            pass  # a board without the private serial object
        self.identity = Identity(
            maker=text[VENDOR],
            model=text.get(MODEL_NAME) or text[PRODUCT_CODE],
            serial=text.get(SERIAL_OBJECT, ""),
            firmware=text.get(REVISION, ""),
            raw="; ".join(f"{obj:#04x}={value}" for obj, value in sorted(text.items())),
        )
        return self.identity

    # -- AC vehicle side ---------------------------------------------------------------------
    def plug(self, plugged: bool) -> None:
        """Insert (state 2, S2 open) or pull (state 1) the connector."""
        self.write("cp_state", CONNECTED if plugged else UNPLUGGED)

    def unplug(self) -> None:
        self.plug(False)

    def set_s2(self, closed: bool) -> None:
        state = self.read_raw("cp_state")
        if closed:
            if state == UNPLUGGED:
                raise InstrumentError(
                    self.role, "S2 cannot close while the connector is unplugged (cp_state 1); plug first"
                )
            self.write("cp_state", S2_CLOSED)
        elif state == S2_CLOSED:
            self.write("cp_state", CONNECTED)

    def open_s2(self) -> None:
        self.set_s2(False)

    def set_diode_fault(self, on: bool) -> None:
        self.write("diode_fault", int(on))

    def set_load_current(self, amps: float) -> None:
        self.write("load_current_setpoint", amps, quantity="current_a")

    def load_off(self) -> None:
        self.set_load_current(0.0)

    def load_current(self) -> float:
        return self.read("load_current")

    def cp_voltage(self) -> tuple[float, float]:
        """(high level, low level) of the CP PWM; both the steady level when there is no PWM."""
        high, low = self.read_many("cp_high", "cp_low")
        return high, low

    def cp_pwm(self) -> tuple[float, float]:
        """(duty %, frequency Hz) from the board's PWM meter; frequency 0 = no PWM."""
        duty, frequency = self.read_many("cp_duty", "cp_frequency")
        return duty, frequency

    # -- DC vehicle side ---------------------------------------------------------------------
    def set_cc2(self, connected: bool) -> None:
        """Plug in (the CC1 line made, if a relay is wired in it, then CC2) or pull the plug
        (CC2, then the CC1 line open)."""
        if connected:
            self.set_line("cc1", True)
        self.write("cc2_state", int(connected))
        if not connected:
            self.set_line("cc1", False)

    def set_vehicle_contactors(self, closed: bool) -> None:
        self.write("vehicle_contactors", int(closed))

    def open_vehicle_contactors(self) -> None:
        self.set_vehicle_contactors(False)

    def vehicle_contactors(self) -> bool:
        """K5/K6 closed, from the relays' auxiliary contacts."""
        return self.status()["vehicle_contactors"]

    def cc1_voltage(self) -> float:
        return self.read("cc1_voltage")

    def aux_voltage(self) -> float:
        return self.read("aux_voltage")

    def aux_present(self) -> bool:
        return self.status()["aux_present"]

    def inlet_voltage(self) -> float:
        return self.read("inlet_voltage")

    def set_estop(self, pressed: bool) -> None:
        self.write("estop", int(pressed))

    def estop_input(self) -> bool:
        """The bench's E-stop / interlock input is open (an E-stop pressed, an interlock open)."""
        if "estop_input" not in self.map["status"].bits:
            raise InstrumentError(
                self.role,
                f"{self.map.path.name}: status has no estop_input bit: the bench "
                "cannot read its E-stop / interlock input before energising",
            )
        return self.status()["estop_input"]

    # -- relay outputs and the watchdog's action ---------------------------------------------
    def has_line(self, line: str) -> bool:
        """The profile wires ``line`` to one of the board's relay outputs."""
        return line in self.wiring

    def set_line(self, line: str, closed: bool) -> None:
        """Make or open a wired line (its relay output); an unwired line is left alone."""
        output = self.wiring.get(line)
        if output is not None:
            self.write(f"output_{output}", int(closed))

    def arm_safety_net(self) -> None:
        """What the board's watchdog opens when the heartbeat stops, and in which order: the
        inhibit lines, then the CC1 line (after K5/K6 and S2, which it always opens), then
        CP to state 1; then the inhibit lines are made so that the instruments may energise.
        Needs a heartbeat first (the board refuses to close a relay while its watchdog is
        expired)."""
        missing = [name for name in WATCHDOG_REGISTERS if name not in self.map.registers]
        if missing:
            raise InstrumentError(
                self.role,
                f"{self.map.path.name} has no {missing[0]} register: the board "
                "cannot de-energise the bench by itself (map without the watchdog outputs)",
            )
        bits = {line: 1 << (output - 1) for line, output in self.wiring.items()}
        self.write("watchdog_outputs", sum(bits.values()))
        self.write("watchdog_outputs_last", sum(bit for line, bit in bits.items() if line in LAST_LINES))
        self.write("watchdog_unplug", 1)
        for line in INHIBIT_LINES:
            self.set_line(line, True)

    # -- watchdog, status --------------------------------------------------------------------
    def heartbeat(self) -> None:
        """Write the next heartbeat count (the board re-arms its watchdog on a new value)."""
        self._heartbeat = (self._heartbeat + 1) & 0xFFFF
        self.write("heartbeat", self._heartbeat)

    def set_watchdog(self, seconds: float) -> None:
        self.write("watchdog_time", seconds, quantity="watchdog_s")

    def status(self) -> dict[str, bool]:
        return self._bits("status")

    def faults(self) -> dict[str, bool]:
        return self._bits("faults")

    def safe_off(self) -> None:
        """Vehicle side to its safe state: load off, K5/K6 open, S2 open, unplugged (AC and DC).

        Every step is tried; the first failure is raised once all have run.
        """
        first_error: Exception | None = None
        for step in (
            self.load_off,
            self.open_vehicle_contactors,
            self.open_s2,
            self.unplug,
            lambda: self.set_cc2(False),
        ):
            try:
                step()
            except InstrumentError as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error

    # -- registers ---------------------------------------------------------------------------
    def read_raw(self, name: str) -> int:
        reg = self.map[name]
        return reg.integer(self.link.read(reg.table, reg.address, reg.count, f"read {reg.label}"))

    def read(self, name: str) -> float:
        return self.read_many(name)[0]

    def read_many(self, *names: str) -> list[float]:
        """Read adjacent registers of one table in one request (numbers, in the map's units)."""
        blocks = self.map.read_blocks(names)
        if len(blocks) != 1:
            raise ValueError(f"{names} are not adjacent registers of one table")
        block = blocks[0]
        what = (
            f"read {block.registers[0].label}"
            if len(names) == 1
            else f"read {', '.join(names)} ({block.table} {block.address}…)"
        )
        words = block.split(self.link.read(block.table, block.address, block.count, what))
        return [self.map[name].number(words[name]) for name in names]

    def write(self, name: str, value: float, quantity: str | None = None) -> None:
        """Check ``value`` against the map (and the guard for ``quantity``), write, read back."""
        reg = self.map[name]
        self._check_allowed(reg, value, quantity or reg.name)
        if quantity:
            self.guard(quantity, value, reg.unit)
        words = reg.encode(value)
        self.link.write(reg.address, words, f"write {reg.label}")
        back = self.link.read(reg.table, reg.address, reg.count, f"read back {reg.label}")
        if back != words:
            raise InstrumentError(
                self.role,
                f"{reg.label}: wrote {value:g} {reg.unit}".rstrip()
                + f", read back {reg.number(back):g} {reg.unit}".rstrip(),
            )

    def _check_allowed(self, reg: Register, value: float, quantity: str) -> None:
        if reg.allowed(value):
            return
        if reg.values:
            raise InstrumentError(
                self.role, f"{reg.label}: {value!r} is not one of {reg.allowed_text()}; nothing was sent"
            )
        raise SetpointRefused(
            self.role, quantity, value, reg.minimum, reg.maximum, reg.unit, f"register map ({self.map.path.name})"
        )

    def _bits(self, name: str) -> dict[str, bool]:
        reg = self.map[name]
        words = self.link.read(reg.table, reg.address, reg.count, f"read {reg.label}")
        return {bit: reg.bit(words, bit) for bit in reg.bits}


def map_path(options: Mapping[str, object], base_dir: Path | None = None) -> Path:
    """The register map file: ``options.map`` (relative to ``base_dir``) or the shipped map."""
    given = options.get("map")
    if given is None:
        return DEFAULT_MAP
    path = Path(str(given))
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return path
