"""The DC charger bench as test cases use it: the bench plays the vehicle (BMS emulator on
CAN, EV simulator with K5/K6, a bidirectional supply as the battery, a DC load), measures
the output with the power analyzer and the scope, and plays the platform.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.api.base import BenchView
from bench.api.scope import Record, ScopeCapture, save_record
from bench.core.errors import BenchError
from bench.protocols.gbt27930.catalogue import BY_NAME
from bench.protocols.gbt27930.codec import CODEC
from bench.protocols.gbt27930.ids import parse_id

# The battery simulator sources next to nothing (it is a battery being charged) and may sink
# a margin above what the case asks for, so the charger, not the supply, sets the current.
BATTERY_SOURCE_LIMIT_A = 5.0
BATTERY_SINK_MARGIN = 1.2
# Waits (bench seconds) for the GB/T 27930 session: handshake with the insulation check,
# configuration; the standard's 60 s for BRO/CRO bounds it (standards.md §3).
SESSION_START_TIMEOUT_S = 90.0
PHASE_POLL_S = 0.05
# Output readings: polled at this period; "settled" = within the band for the hold time.
OUTPUT_POLL_S = 0.1
SETTLE_HOLD_S = 1.0


@dataclass(frozen=True)
class Frame:
    time: float  # bench time
    name: str
    values: dict


class FrameLog:
    """Every GB/T 27930 frame of a test with its bench time, decoded when asked for."""

    def __init__(self, bus):
        self._raw: list[tuple[float, int, int, bytes]] = []
        self._handles = [bus.on_send(self._keep), bus.on_receive(self._keep)]

    def _keep(self, msg) -> None:
        self._raw.append((msg.timestamp, msg.arbitration_id, len(msg.data), bytes(msg.data)))

    def frames(self, name: str, since: float = 0.0) -> list[Frame]:
        """Single-frame messages called ``name`` sent at or after ``since``."""
        pgn = BY_NAME[name].pgn
        found = []
        for t, can_id, _, data in self._raw:
            if t < since or parse_id(can_id)[1] != pgn:
                continue
            decoded = CODEC.decode(pgn, data)
            found.append(Frame(t, name, decoded[1] if decoded else {}))
        return found

    def first(self, name: str, since: float = 0.0) -> Frame | None:
        frames = self.frames(name, since)
        return frames[0] if frames else None

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()


class DcBench(BenchView):
    kind = "dc"

    def __init__(self, session, grid: str = "full"):
        super().__init__(session, grid)
        self.scope = ScopeCapture(session)
        self.frames = FrameLog(session.can)
        session.evidence.on_end(self.frames.close)

    # -- instruments and the vehicle --------------------------------------------------------
    @property
    def bms(self):
        return self.session.bms

    @property
    def ev(self):
        return self.session.instrument("ev")

    @property
    def battery(self):
        return self.session.instrument("battery")

    @property
    def vehicle(self):
        return self.profile.vehicle

    def connect_vehicle(self) -> None:
        """Connector fully in (CC1 4 V), K5/K6 open."""
        self.ev.set_vehicle_contactors(False)
        self.ev.set_cc2(True)

    def hold_battery(self, volts: float, sink_a: float | None = None) -> None:
        """The battery simulator holds ``volts`` and sinks what the charger pushes."""
        sink = sink_a if sink_a is not None else self.dut.current_range_a[1] * BATTERY_SINK_MARGIN
        self.battery.hold_voltage(volts, BATTERY_SOURCE_LIMIT_A, sink)
        self.battery.set_output(True)

    # -- a charging session -----------------------------------------------------------------
    def start_charging(self, *, battery_v: float, current_a: float, voltage_v: float | None = None,
                       mode: str = "cc", power_limit_w: float | None = None) -> float:
        """Bring the charger to charging the battery simulator; the bench time it took.

        The BMS asks for ``current_a`` (mode "cc", BCL mode 2) or ``voltage_v`` (mode "cv",
        mode 1) from the start; the vehicle closes K5/K6 once configuration begins (before
        BRO 0xAA, GB/T 18487.1 Annex B), as a car does.
        """
        start = self.now()
        self.hold_battery(battery_v)
        self.connect_vehicle()
        self.bms.request(voltage_v if voltage_v is not None else self.vehicle.max_charge_voltage_v,
                         current_a, mode)
        if power_limit_w is not None:
            self.platform.set_power_limit(power_limit_w)
        self.platform.start()
        self.wait_until(lambda: self.bms.phase in ("configuration", "charging"), SESSION_START_TIMEOUT_S,
                        poll=PHASE_POLL_S, what="the BMS to reach configuration (BCP/CML)")
        self.ev.set_vehicle_contactors(True)
        self.wait_until(lambda: self.bms.phase == "charging", SESSION_START_TIMEOUT_S, poll=PHASE_POLL_S,
                        what="the charging phase (BCL/CCS)")
        return self.now() - start

    def request(self, voltage_v: float, current_a: float, mode: str = "cc") -> float:
        """A new BCL demand; the bench time it was made."""
        self.bms.request(voltage_v, current_a, mode)
        return self.now()

    def stop_by_bms(self, reason: str = "soc_reached") -> float:
        """BST from the vehicle; the bench time of the first BST frame."""
        since = self.now()
        if not self.bms.stop(reason):
            raise BenchError(f"BMS could not stop in phase {self.bms.phase}")
        self.wait_until(lambda: self.frames.first("BST", since) is not None, 1.0, poll=0.01,
                        what="the BST frame")
        return self.frames.first("BST", since).time

    # -- measurements -----------------------------------------------------------------------
    def output(self) -> dict:
        """Voltage, current, power at the vehicle inlet from the power analyzer (None = invalid)."""
        readings = self.session.instrument("analyzer").read_element(self.session.analyzer_element("output"))
        return {name: reading.value for name, reading in readings.items()}

    def output_current(self) -> float:
        return self.session.output_current()

    def settle_output(self, quantity: str, band: float, timeout: float, hold: float = SETTLE_HOLD_S) -> tuple[float, float]:
        """Wait until the analyzer's ``quantity`` ("U", "I", "P") holds within ±band; (mean, time)."""

        def read() -> float:
            value = self.output()[quantity]
            return float("nan") if value is None else value

        settled = self.clock.wait_settled(read, band=band, hold=hold, timeout=timeout, poll=OUTPUT_POLL_S,
                                          what=f"output {quantity} to settle")
        return settled.value, settled.elapsed

    def capture(self, name: str, volts_per_div: dict[str, float], *, seconds_per_div: float,
                pre_trigger: float = 0.1, actions=(), save: bool = True) -> Record:
        """A forced-trigger record on the bench clock (its time 0 is the forced trigger)."""
        record = self.scope.capture(volts_per_div, seconds_per_div=seconds_per_div, trigger=None,
                                    pre_trigger=pre_trigger, timeout_s=seconds_per_div * 10 * 3 + 2,
                                    force_after_s=seconds_per_div * 10 * pre_trigger, actions=list(actions))
        if save:
            save_record(self, name, record)
        return record

    # -- the output, as the platform cases see any pile ------------------------------------
    output_level_unit = "W"

    def deliver(self) -> None:
        """Charging at the battery's rated voltage with a current demand above what the
        rated power allows, so that the platform's power limit governs the output."""
        self.start_charging(battery_v=self.vehicle.rated_voltage_v, current_a=self.dut.current_range_a[1])

    def output_active(self) -> bool:
        return abs(self.output_current()) > self.limit("gbt27930:stop:bms_current_off_time").figure("end_current_a")

    def output_level(self) -> float | None:
        """Output power at the vehicle inlet (W), from the power analyzer."""
        return self.output()["P"]

    def command_output_level(self, watts: float) -> float:
        """The platform's orderly-charging command for a DC charger: a power limit."""
        self.platform.set_power_limit(watts)
        return self.now()

    def output_level_band(self, target: float) -> float:
        return abs(target) * self.limit("changji:4.2.10.5:power_error").absolute / 100.0

    def output_level_points(self) -> tuple[float, float]:
        rated = self.dut.rated_power_kw * 1000.0
        return rated, rated / 2
