"""Test-only controls of the simulated bench. Never profile keys; never part of a lab's run.

They are environment variables holding JSON, so that a test can set them for a conformance
run in a child process (``python -m pytest testcases --profile profiles/sim-dc-60kw.toml``)
with the simulated bench inside it. A bad value stops the bench from starting with one line
(a BenchError naming the variable, the fault and what was expected).

``BENCH_SIM_IDENTITIES`` (``IDENTITY_OVERRIDE_ENV``)
    The identity a simulated instrument answers with instead of the profile's expected one:
    ``{"<role>": {"model": ..., "serial": ...}}``. It stands for a lab that wired another
    instrument than the profile names (type-test guard tests).

``BENCH_SIM_START_CONDITIONS`` (``START_CONDITIONS_ENV``)
    How the bench finds the simulated plant when it starts: ``{"estop_input": true,
    "inlet_voltage_v": 400.0}``. ``estop_input``: the lab's E-stop / interlock chain is open at
    the EV simulator's input; ``inlet_voltage_v``: the DC inlet is still charged (a killed
    run's output capacitors). The conditions the bench must refuse to energise on
    (tests/test_before_energising.py).

``BENCH_SIM_FAULTS`` (``FAULT_PLAN_ENV``)
    Instrument faults to inject, as a real instrument would show them: a JSON list of
    faults (one object is taken as a list of one)::

        [{"role": "analyzer", "kind": "timeout", "duration_s": 0.25,
          "trigger": {"command": ":NUMeric:NORMal:VALue?", "nth": 1, "at_s": 0}}]

    ``role``     an instrument role of the profile, or ``"can"`` (the CAN bus of a DC bench).
    ``kind``     what happens (which roles it fits):

    ================  ============  ===========================================================
    kind              fits          what the instrument does from the trigger on
    ================  ============  ===========================================================
    timeout           SCPI, Modbus  takes no command and answers nothing for ``duration_s``
                                    bench seconds (required; ``null``: for ever)
    reset             SCPI, Modbus  resets the connection (TCP RST) instead of answering; it
                                    can be reached again at once
    garbled           SCPI, Modbus  the reply (to the trigger, or the next one) has its bits
                                    flipped (SCPI) or a byte count that lies (Modbus)
    scpi_error        SCPI          queues ``error`` (default ``[-200, "Execution error"]``)
                                    in the error queue after executing the command, as
                                    ``SYST:ERR?`` then reports it
    block_length      SCPI          the next definite-length block's header announces
                                    ``claim`` × its length (default 2.0; 0.5 = fewer)
    modbus_exception  Modbus        answers the request with exception ``code`` (default 4,
                                    server device failure); ``trigger.command`` names the
                                    function, e.g. ``"6"`` or ``"6@130"``
    bus_off           can           every frame the bench sends is destroyed by bus errors
                                    for ``duration_s`` (required; ``null``: for ever): the
                                    bench's controller goes bus-off and refuses to send
    error_frames      can           error frames on the bus every ``period_s`` (default
                                    0.002) for ``duration_s`` (required)
    ================  ============  ===========================================================

    ``trigger`` (optional; every key optional): the fault fires on the ``nth`` (default 1)
    command that matches ``command`` (default: any) received at or after bench time ``at_s``
    (default 0). A command is what the instrument receives: an SCPI program message unit as
    the driver sent it (``"MEAS:CURR?"`` matches the header; with a space it must match the
    whole unit, ``"OUTP ON"``; case and a leading colon do not matter), a Modbus request
    ``"<function>"`` or ``"<function>@<address>"`` (decimal), a CAN frame sent by the bench
    (its identifier, ``"0x1810F456"``). One fault fires per command, in plan order; each
    fault fires once.

    Every fault that fires is entered in the plant's history (``sim_history.jsonl``) as
    ``[t, role, "fault_injected", [kind, command]]``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import can

from bench.core.canbus import ClockedBus, virtual_wire
from bench.core.errors import BenchError
from instruments.sim.hub import ResetConnection

IDENTITY_OVERRIDE_ENV = "BENCH_SIM_IDENTITIES"
FAULT_PLAN_ENV = "BENCH_SIM_FAULTS"

SCPI, MODBUS, CAN = "SCPI", "Modbus", "can"
KINDS = {
    "timeout": (SCPI, MODBUS),
    "reset": (SCPI, MODBUS),
    "garbled": (SCPI, MODBUS),
    "scpi_error": (SCPI,),
    "block_length": (SCPI,),
    "modbus_exception": (MODBUS,),
    "bus_off": (CAN,),
    "error_frames": (CAN,),
}
# Keys each kind takes besides role, kind, trigger; the ones that must be given.
OPTIONS = {
    "timeout": {"duration_s"},
    "bus_off": {"duration_s"},
    "error_frames": {"duration_s", "period_s"},
    "scpi_error": {"error"},
    "block_length": {"claim"},
    "modbus_exception": {"code"},
}
REQUIRED = {"timeout": {"duration_s"}, "bus_off": {"duration_s"}, "error_frames": {"duration_s"}}
TRIGGER_KEYS = {"command", "nth", "at_s"}
DEFAULT_ERROR = (-200, "Execution error")
DEFAULT_EXCEPTION = 0x04  # server device failure
DEFAULT_CLAIM = 2.0
DEFAULT_ERROR_FRAME_PERIOD_S = 0.002


# == identities ================================================================================
def identity_overrides() -> dict[str, dict[str, str]]:
    text = os.environ.get(IDENTITY_OVERRIDE_ENV, "")
    if not text:
        return {}
    try:
        overrides = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchError(f"${IDENTITY_OVERRIDE_ENV}: not JSON ({exc})") from None
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise BenchError(f'${IDENTITY_OVERRIDE_ENV}: expected {{"<role>": {{"model": ..., "serial": ...}}}}')
    return overrides


# == the fault plan ============================================================================
@dataclass
class Fault:
    index: int  # position in the plan, from 0
    role: str
    kind: str
    command: str | None = None  # trigger: which commands count (None: every command)
    nth: int = 1
    at_s: float = 0.0
    duration_s: float | None = None  # timeout, bus_off, error_frames (None: for ever)
    error: tuple[int, str] = DEFAULT_ERROR
    code: int = DEFAULT_EXCEPTION
    claim: float = DEFAULT_CLAIM
    period_s: float = DEFAULT_ERROR_FRAME_PERIOD_S
    seen: int = 0  # matching commands so far
    fired_at: float | None = None
    fired_on: str | None = None

    @property
    def label(self) -> str:
        return f"fault {self.index} ({self.role} {self.kind})"

    def matches(self, command: str) -> bool:
        if self.command is None:
            return True
        if self.kind in ("bus_off", "error_frames"):
            return _can_id(self.command) == _can_id(command)
        if self.command[:1].isdigit():  # a Modbus request "<function>[@<address>]"
            function, _, address = self.command.partition("@")
            got_function, _, got_address = command.partition("@")
            return function == got_function and (not address or address == got_address)
        want, got = _scpi_unit(self.command), _scpi_unit(command)
        return got == want if " " in want else got.partition(" ")[0] == want

    def triggered_by(self, command: str, now: float) -> bool:
        if now < self.at_s or not self.matches(command):
            return False
        self.seen += 1
        return self.seen == self.nth


def _scpi_unit(text: str) -> str:
    return " ".join(text.split()).lstrip(":").upper()


def _can_id(text: str) -> int | None:
    try:
        return int(text, 0)
    except ValueError:
        return None


def load_fault_plan() -> list[Fault]:
    """The fault plan of ``$BENCH_SIM_FAULTS`` (empty when unset)."""
    return parse_fault_plan(os.environ.get(FAULT_PLAN_ENV, ""))


def parse_fault_plan(text: str) -> list[Fault]:
    """Parse and check a fault plan (format: the module docstring); BenchError, one line."""
    if not text.strip():
        return []
    where = f"${FAULT_PLAN_ENV}"

    def refuse_constant(name):
        raise ValueError(f"{name} is no number")

    try:
        data = json.loads(text, parse_constant=refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise BenchError(
            f"{where}: not JSON ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        ) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise BenchError(
            f'{where}: expected a list of faults, e.g. [{{"role": "analyzer", "kind": "timeout", "duration_s": 1.0}}]'
        )
    return [_fault(index, item, where) for index, item in enumerate(data)]


def _fault(index: int, item, where: str) -> Fault:
    head = f"{where}: fault {index}"
    if not isinstance(item, dict):
        raise BenchError(f"{head}: expected an object with role, kind and trigger")
    role, kind = item.get("role"), item.get("kind")
    if not isinstance(role, str) or not role:
        raise BenchError(f'{head}: role: expected an instrument role of the profile (or "can")')
    if kind not in KINDS:
        raise BenchError(f"{head}: kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    head = f"{where}: fault {index} ({role} {kind})"
    allowed = {"role", "kind", "trigger"} | OPTIONS.get(kind, set())
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise BenchError(f"{head}: {unknown[0]}: not a key of this kind (it takes {', '.join(sorted(allowed))})")
    missing = sorted(REQUIRED.get(kind, set()) - set(item))
    if missing:
        raise BenchError(
            f"{head}: {missing[0]}: required (a number of bench seconds"
            + (", or null for ever)" if kind != "error_frames" else ")")
        )
    fault = Fault(index, role, kind)
    trigger = item.get("trigger", {})
    if not isinstance(trigger, dict):
        raise BenchError(f"{head}: trigger: expected an object with command, nth and/or at_s")
    unknown = sorted(set(trigger) - TRIGGER_KEYS)
    if unknown:
        raise BenchError(f"{head}: trigger.{unknown[0]}: not a trigger key (command, nth, at_s)")
    if "command" in trigger:
        command = trigger["command"]
        if not isinstance(command, str) or not command.strip() or "\n" in command:
            raise BenchError(f"{head}: trigger.command: expected the command as the instrument receives it")
        fault.command = command.strip()
    if "nth" in trigger:
        fault.nth = _integer(trigger["nth"], f"{head}: trigger.nth", 1, 10**9)
    if "at_s" in trigger:
        fault.at_s = _number(trigger["at_s"], f"{head}: trigger.at_s", 0.0)
    if "duration_s" in item:
        duration = item["duration_s"]
        if duration is None and kind != "error_frames":
            fault.duration_s = None
        else:
            fault.duration_s = _number(duration, f"{head}: duration_s", 0.0, positive=True)
    if "error" in item:
        error = item["error"]
        if (
            not isinstance(error, list)
            or len(error) != 2
            or isinstance(error[0], bool)
            or not isinstance(error[0], int)
            or error[0] == 0
            or not isinstance(error[1], str)
            or '"' in error[1]
            or "\n" in error[1]
        ):
            raise BenchError(
                f'{head}: error: expected [code, "text"] with a code other than 0, e.g. [-222, "Data out of range"]'
            )
        fault.error = (error[0], error[1])
    if "code" in item:
        fault.code = _integer(item["code"], f"{head}: code", 1, 255)
    if "claim" in item:
        fault.claim = _number(item["claim"], f"{head}: claim", 0.0, positive=True)
        if fault.claim == 1.0:
            raise BenchError(f"{head}: claim: 1 is the truth; expected another factor (2.0 more, 0.5 fewer)")
    if "period_s" in item:
        fault.period_s = _number(item["period_s"], f"{head}: period_s", 0.0, positive=True)
    if kind == "modbus_exception":
        function = (fault.command or "").partition("@")[0]
        if not function.isdigit() or not 1 <= int(function) <= 127:
            raise BenchError(f'{head}: trigger.command: name the Modbus function (1…127), e.g. "6" or "6@130"')
    if fault.command is not None and fault.command[:1].isdigit() and kind not in ("bus_off", "error_frames"):
        function, _, address = fault.command.partition("@")
        if not function.isdigit() or (address and not (address.isdigit() and int(address) <= 0xFFFF)):
            raise BenchError(
                f'{head}: trigger.command: a Modbus request is "<function>" or '
                f'"<function>@<address>", got {fault.command!r}'
            )
    if kind in ("bus_off", "error_frames") and fault.command is not None and _can_id(fault.command) is None:
        raise BenchError(f'{head}: trigger.command: a CAN identifier such as "0x1810F456", got {fault.command!r}')
    return fault


def _integer(value, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BenchError(f"{what}: expected a whole number {low}…{high}, got {value!r}")
    return value


def _number(value, what: str, low: float, positive: bool = False) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < low
        or (positive and value <= 0)
    ):
        raise BenchError(f"{what}: expected a number {'> 0' if positive else f'≥ {low:g}'}, got {value!r}")
    return float(value)


# == injecting =================================================================================
@dataclass(frozen=True)
class Effect:
    """What a front end does with one command."""

    swallows: bool = False  # take no command, send nothing
    error: tuple[int, str] | None = None  # queue this SCPI error after the command
    exception: int | None = None  # answer with this Modbus exception code


SWALLOW = Effect(swallows=True)


@dataclass
class FaultInjector:
    """The faults of one socket front end (SCPI instrument or Modbus device)."""

    role: str
    faults: list[Fault]
    clock: object
    history: object
    fired: list[Fault] = field(default_factory=list)
    _silent_until: float | None = None  # inf: for ever
    _pending: list[Fault] = field(default_factory=list)  # garbled / block_length: the next reply

    def command(self, text: str) -> Effect | None:
        """Called for every command before the front end takes it. Raises ResetConnection."""
        now = self.clock.now()
        if self._silent_until is not None:
            if now < self._silent_until:
                return SWALLOW
            self._silent_until = None
        for fault in self.faults:
            if fault.fired_at is not None or not fault.triggered_by(text, now):
                continue
            self._fire(fault, text, now)
            if fault.kind == "timeout":
                self._silent_until = math.inf if fault.duration_s is None else now + fault.duration_s
                return SWALLOW
            if fault.kind == "reset":
                raise ResetConnection(f"{self.role}: injected reset on {text!r}")
            if fault.kind == "scpi_error":
                return Effect(error=fault.error)
            if fault.kind == "modbus_exception":
                return Effect(exception=fault.code)
            self._pending.append(fault)  # garbled, block_length: shape the reply
            return None
        return None

    def reply(self, data: bytes, terminator: bytes, modbus: bool = False) -> bytes:
        """The reply as the faults waiting for one make it."""
        for fault in self._pending:
            if fault.kind == "garbled":
                self._pending.remove(fault)
                return _garble_modbus(data) if modbus else _garble(data, terminator)
            if fault.kind == "block_length":
                lied = _lie_about_length(data, fault.claim)
                if lied is not None:
                    self._pending.remove(fault)
                    return lied
        return data

    def _fire(self, fault: Fault, text: str, now: float) -> None:
        fault.fired_at, fault.fired_on = now, text
        self.fired.append(fault)
        self.history.record(self.role, "fault_injected", (fault.kind, text))


def _garble(data: bytes, terminator: bytes) -> bytes:
    """Bit errors: every byte of the reply has its top bit flipped; the terminator survives."""
    if terminator and data.endswith(terminator):
        return bytes(b ^ 0x80 for b in data[: -len(terminator)]) + terminator
    return bytes(b ^ 0x80 for b in data)


def _garble_modbus(pdu: bytes) -> bytes:
    """A read reply whose byte count lies; any other reply cut to its function code."""
    if len(pdu) >= 2 and pdu[0] in (0x03, 0x04):
        return bytes([pdu[0], (pdu[1] + 2) & 0xFF]) + pdu[2:]
    return pdu[:1] + b"\xff"


def _lie_about_length(data: bytes, claim: float) -> bytes | None:
    """The same reply with its definite-length block header announcing ``claim`` × the length;
    None when the reply holds no such block."""
    if len(data) < 2 or data[:1] != b"#" or data[1:2] not in b"123456789":
        return None
    digits = int(data[1:2])
    length_text = data[2 : 2 + digits]
    if not length_text.isdigit():
        return None
    length = int(length_text)
    claimed = max(0, round(length * claim))
    if claimed == length:
        claimed = length + 1 if claim > 1 else max(0, length - 1)
    text = str(claimed)
    width = max(digits, len(text))
    if width > 9:
        text, width = "9" * 9, 9
    return b"#" + str(width).encode() + text.zfill(width).encode() + data[2 + digits :]


@dataclass
class CanFaultInjector:
    """The faults of the CAN bus: seen from the simulated charger's side of the bus."""

    faults: list[Fault]
    clock: object
    history: object
    bus: ClockedBus  # the simulated bench's own node (spared by a bus-off fault)
    fired: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._wire = virtual_wire(self.bus.bus.channel_id)
        self._handle = self.bus.on_receive(self._frame)
        self._timers: list = []

    def _frame(self, msg: can.Message) -> None:
        if msg.is_error_frame:
            return
        now = self.clock.now()
        text = f"0x{msg.arbitration_id:08X}"
        for fault in self.faults:
            if fault.fired_at is None and fault.triggered_by(text, now):
                self._fire(fault, text, now)
                return

    def _fire(self, fault: Fault, text: str, now: float) -> None:
        fault.fired_at, fault.fired_on = now, text
        self.fired.append(fault)
        self.history.record(CAN, "fault_injected", (fault.kind, text))
        until = None if fault.duration_s is None else now + fault.duration_s
        if fault.kind == "bus_off":
            self._wire.destroy_transmissions(self.bus, until)
            return
        periodic = self.clock.every(fault.period_s, lambda: self._error_frame(periodic, until))
        self._timers.append(periodic)

    def _error_frame(self, periodic, until: float) -> None:
        if self.clock.now() >= until:
            periodic.cancel()
            return
        self.bus.send(can.Message(is_error_frame=True, arbitration_id=0, is_extended_id=False, dlc=0))

    def close(self) -> None:
        self._handle.remove()
        for timer in self._timers:
            timer.cancel()
        self._wire.restore()


def attach_faults(plan: list[Fault], servers: dict, can_bus: ClockedBus | None, clock, history):
    """Give each served front end (``{role: ScpiFrontEnd | ModbusFrontEnd}``) and the CAN bus
    its faults; return a closer. BenchError for a fault whose role or kind does not fit."""
    from instruments.sim.modbus import ModbusFrontEnd
    from instruments.sim.scpi import ScpiFrontEnd

    if not plan:
        return lambda: None
    by_role: dict[str, list[Fault]] = {}
    for fault in plan:
        server = servers.get(fault.role)
        if fault.role == CAN:
            fits = CAN if can_bus is not None else None
        elif isinstance(server, ScpiFrontEnd):
            fits = SCPI
        elif isinstance(server, ModbusFrontEnd):
            fits = MODBUS
        else:
            fits = None
        if fits is None:
            roles = sorted(servers) + ([CAN] if can_bus is not None else [])
            raise BenchError(
                f"${FAULT_PLAN_ENV}: {fault.label}: role: the profile has no such instrument "
                f"(roles: {', '.join(roles)})"
            )
        if fits not in KINDS[fault.kind]:
            raise BenchError(
                f"${FAULT_PLAN_ENV}: {fault.label}: kind: a {fits} instrument cannot do this; "
                f"{fault.kind} fits {' and '.join(KINDS[fault.kind])}"
            )
        if fault.command is not None and fits != CAN and fault.command[:1].isdigit() != (fits == MODBUS):
            form = '"<function>[@<address>]"' if fits == MODBUS else 'an SCPI command such as "MEAS:VOLT?"'
            raise BenchError(
                f"${FAULT_PLAN_ENV}: {fault.label}: trigger.command: {fault.role} is a {fits} "
                f"instrument: expected {form}, got {fault.command!r}"
            )
        by_role.setdefault(fault.role, []).append(fault)
    closers = []
    for role, faults in by_role.items():
        if role == CAN:
            injector = CanFaultInjector(faults, clock, history, can_bus)
            closers.append(injector.close)
        else:
            servers[role].faults = FaultInjector(role, faults, clock, history)
    return lambda: [close() for close in closers]


START_CONDITIONS_ENV = "BENCH_SIM_START_CONDITIONS"


def start_conditions() -> dict:
    """The test-only start conditions of ``START_CONDITIONS_ENV`` (empty when unset)."""
    text = os.environ.get(START_CONDITIONS_ENV, "")
    if not text:
        return {}
    expected = f'${START_CONDITIONS_ENV}: expected {{"estop_input": true|false, "inlet_voltage_v": <V ≥ 0>}}'
    try:
        conditions = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchError(f"${START_CONDITIONS_ENV}: not JSON ({exc})") from None
    if (
        not isinstance(conditions, dict)
        or set(conditions) - {"estop_input", "inlet_voltage_v"}
        or not isinstance(conditions.get("estop_input", False), bool)
    ):
        raise BenchError(expected)
    volts = conditions.get("inlet_voltage_v", 0.0)
    if isinstance(volts, bool) or not isinstance(volts, (int, float)) or not 0 <= volts < 2000:
        raise BenchError(expected)
    return conditions
