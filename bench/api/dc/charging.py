"""A DC charging session on the bench: operating points, bringing the charger to charge, new
demands, the stops, and the current step of the NB/T 33001 adjustment time."""

from __future__ import annotations

from dataclasses import dataclass

from bench.analysis.dc import settling_to_final
from bench.analysis.operating_points import battery_voltage_for
from bench.api.dc.measurement import DcMeasurement
from bench.api.dc.messages import DcMessages
from bench.api.dc.vehicle import DcVehicle
from bench.api.frames import Frame
from bench.api.timings import (
    BST_POLL_S,
    BST_WAIT_S,
    PHASE_POLL_S,
    QUIET_POLL_S,
    QUIET_S,
    SESSION_START_TIMEOUT_S,
    WINDOW_FACTOR,
    record_window_s,
)
from bench.core.errors import BenchError
from bench.protocols.gbt27930.ids import CHARGER_ADDRESS

# Operating points stay this far inside the DUT's rated power and the rules' current bounds,
# so that a point is where the clause puts it whatever the cable drop (bench choice).
OPERATING_MARGIN = 0.05
# 4.2.10.5: the BMS asks for this much more current than the set power gives, so that the
# platform's power limit — not the BMS demand — governs the output (bench choice).
POWER_TEST_CURRENT_HEADROOM = 0.10


@dataclass(frozen=True)
class StepTiming:
    """How long the output current took to settle after a step of the BMS demand."""

    seconds: float  # from the step to the first sample of the settled band (a lower bound if never)
    settled: bool
    uncertainty: float | None  # of ``seconds``: scope timebase plus one sample interval
    detail: str


class DcCharging(DcVehicle, DcMeasurement, DcMessages):
    """A charging session, from the plug to the stop."""

    def battery_voltage_for(self, current_a: float) -> float:
        """A battery voltage at which the charger delivers ``current_a`` without reaching its
        rated power (bench/analysis/operating_points.py)."""
        return battery_voltage_for(
            current_a,
            rated_power_w=self.dut.rated_power_kw * 1000.0,
            rated_voltage_v=self.vehicle.rated_voltage_v,
            min_output_v=self.dut.voltage_range_v[0],
            margin=OPERATING_MARGIN,
        )

    def current_error_limit(self, demand_a: float):
        """The NB/T 33001 current-error limit for a demand: ±0.3 A below 30 A
        (nbt33001:output:current_error_small), ±1 % from 30 A (nbt33001:output:current_error)."""
        small = self.limit("nbt33001:output:current_error_small")
        return small if demand_a < small.figure("below_a") else self.limit("nbt33001:output:current_error")

    def current_tolerance_a(self, demand_a: float) -> float:
        return self.current_error_limit(demand_a).tolerance(demand_a)

    def start_charging(
        self,
        *,
        battery_v: float,
        current_a: float,
        voltage_v: float | None = None,
        mode: str = "cc",
        power_limit_w: float | None = None,
    ) -> float:
        """Bring the charger to charging the battery simulator; the bench time it took.

        The BMS asks for ``current_a`` (mode "cc", BCL mode 2) or ``voltage_v`` (mode "cv",
        mode 1) from the start; the vehicle closes K5/K6 once configuration begins (before
        BRO 0xAA, GB/T 18487.1 Annex B), as a car does. The platform's power limit
        (``power_limit_w``, else the rated power, whatever an earlier case left) is sent
        before the start command, so the pile has it before it charges; a lower one is set
        back to the rated power when the test ends.
        """
        start = self.now()
        rated_w = self.dut.rated_power_kw * 1000.0
        self.plug_in_asking(current_a, battery_v=battery_v, voltage_v=voltage_v, mode=mode)
        self.platform.set_power_limit(power_limit_w if power_limit_w is not None else rated_w)
        if power_limit_w is not None and power_limit_w != rated_w:
            self._at_end(lambda: self.platform.set_power_limit(rated_w))
        self.platform.start()
        self.wait_until(
            lambda: self.bms.phase in ("configuration", "charging"),
            SESSION_START_TIMEOUT_S,
            poll=PHASE_POLL_S,
            what="the BMS to reach configuration (BCP/CML)",
        )
        self.ev.set_vehicle_contactors(True)
        self.wait_until(
            lambda: self.bms.phase == "charging",
            SESSION_START_TIMEOUT_S,
            poll=PHASE_POLL_S,
            what="the charging phase (BCL/CCS)",
        )
        return self.now() - start

    def plug_in_asking(
        self, current_a: float, *, battery_v: float | None = None, voltage_v: float | None = None, mode: str = "cc"
    ) -> None:
        """Battery held (at the vehicle's rated voltage unless ``battery_v``), the connector
        freshly in, the BMS asking for ``current_a`` (mode "cc", BCL mode 2) up to ``voltage_v``
        (the vehicle's maximum unless given): a session ready for the platform's start."""
        self.hold_battery(self.vehicle.rated_voltage_v if battery_v is None else battery_v)
        self.connect_vehicle()
        self.bms.request(self.vehicle.max_charge_voltage_v if voltage_v is None else voltage_v, current_a, mode)

    def close_k5_k6_at_configuration(self) -> None:
        """From now until the test ends, the vehicle closes K5/K6 once its BMS reaches
        configuration (before BRO 0xAA, GB/T 18487.1 Annex B), as a car does, for a case that
        does not wait for it itself (the session may never get there)."""
        closed = False

        def close_once() -> None:
            nonlocal closed
            if not closed and self.bms.phase in ("configuration", "charging"):
                closed = True
                self.ev.set_vehicle_contactors(True)

        watcher = self.clock.every(PHASE_POLL_S, close_once)
        self._at_end(watcher.cancel)

    def ready_cro(self, since: float) -> Frame | None:
        """The charger's first CRO(0xAA) (K1/K2 closed, ready) at or after ``since``."""
        return next((f for f in self.frames.frames("CRO", since) if f.values.get("ready") == "ready"), None)

    def charge_steadily(self, current_a: float) -> float:
        """Charging at ``current_a`` (BCL mode 2) into the battery simulator at a voltage where
        the rated power does not limit it, until the current has settled (within a tenth of
        its NB/T tolerance); the settled current (the last reading if it never settles)."""
        self.start_charging(battery_v=self.battery_voltage_for(current_a), current_a=current_a)
        settled = self.settled_within("I", self.current_error_limit(current_a), current_a)
        return settled if settled is not None else self.output_current()

    def request(self, voltage_v: float, current_a: float, mode: str = "cc") -> float:
        """A new BCL demand; the bench time it was made."""
        self.bms.request(voltage_v, current_a, mode)
        return self.now()

    def stop_by_bms(self, reason: str = "soc_reached") -> float:
        """BST from the vehicle; the bench time of the first BST frame."""
        since = self.now()
        if not self.bms.stop(reason):
            raise BenchError(f"BMS could not stop in phase {self.bms.phase}")
        self.wait_until(
            lambda: self.frames.first("BST", since) is not None, BST_WAIT_S, poll=BST_POLL_S, what="the BST frame"
        )
        first = self.frames.first("BST", since)
        assert first is not None  # the wait above returned only once it came
        return first.time

    def stop_by_platform(self) -> bool:
        """The platform's stop, then wait until the pile has gone quiet on the bus (no frame
        for ``QUIET_S``), so the next case starts from an idle pile; False when it did not
        within the command wait."""
        self.platform.stop()

        def quiet() -> bool:
            last = self.frames.last_time_from(CHARGER_ADDRESS)
            return last is None or self.now() - last >= QUIET_S

        return (
            self.try_wait_until(
                quiet, self.command_wait_s(), poll=QUIET_POLL_S, what="the pile to go quiet after the platform's stop"
            )
            is not None
        )

    def wait_for_session_end(self, timeout: float = SESSION_START_TIMEOUT_S) -> bool:
        """Until the BMS has ended the session (BSD/CSD done); False when it did not in time."""
        return (
            self.try_wait_until(
                lambda: self.bms.phase in ("ended", "idle", "aborted"),
                timeout,
                poll=PHASE_POLL_S,
                what="the end of the session (CSD)",
            )
            is not None
        )

    def time_current_step(self, start_a: float, end_a: float, allowed_s: float) -> StepTiming:
        """Charge at ``start_a``, settle, step the BMS demand to ``end_a`` and time the output
        current into the current tolerance of the level it settles at (NB/T 33001 adjustment).

        The record reaches WINDOW_FACTOR × the allowed time past its trigger (its first
        RECORD_PRE_TRIGGER is before the step), so a pile too slow shows as such."""
        self.start_charging(battery_v=self.battery_voltage_for(max(start_a, end_a)), current_a=start_a)
        self.settled_within("I", self.current_error_limit(start_a), start_a)
        band = self.current_tolerance_a(end_a)
        record, stepped_at = self.record_during(
            f"current step {start_a:g} A to {end_a:g} A",
            ("output_current",),
            record_window_s(WINDOW_FACTOR * allowed_s),
            lambda: self.request(self.vehicle.max_charge_voltage_v, end_a, "cc"),
        )
        times = record.bench_times("output_current")
        took, final = settling_to_final(times, record.volts("output_current"), band, start=stepped_at)
        detail = f"settled within ±{band:.3g} A of {final} A"
        settled = took is not None
        if took is None:
            took = times[-1] - stepped_at
            detail = f"not settled within ±{band:.3g} A by the end of the record: the time is a lower bound"
        uncertainty = self.accuracy("scope", "time", took)
        return StepTiming(took, settled, None if uncertainty is None else uncertainty + record.sample_interval, detail)
