"""The pre-charge before K1/K2 close (issue 13; GB/T 18487.1-2015 B.3.4, GB/T 34657.1-2017
D0.3001): the charger brings its output to 1–10 V below the voltage on the contactors' outer side
(the inlet, the battery behind K5/K6), then closes K1/K2 and sends CRO 0xAA.

The charger's side of K1/K2 is inside the charger: a type test wires an analyzer element there
(``[instruments.analyzer] channels charger_output``). From K5/K6 closing the bench reads that
element and the inlet (``output``) together every PRECHARGE_POLL_S; the pair it judges is the
last one read before the CRO 0xAA. An analyzer reading is the mean over its last update
interval, which ended before it was read: that pair is wholly from before the closing.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.api.dc.charging import DcCharging
from bench.api.timings import FAULT_CHARGING_FRACTION, PHASE_POLL_S, PRECHARGE_POLL_S, SESSION_START_TIMEOUT_S

CHARGER_SIDE = "charger_output"  # the analyzer element on the charger's side of K1/K2


@dataclass(frozen=True)
class PrechargeReading:
    """The charger's output and the inlet just before K1/K2 closed (None: not seen)."""

    charger_v: float | None
    inlet_v: float | None
    read_before_s: float | None  # how long before the CRO 0xAA the pair was read
    uncertainty: float | None  # of inlet − charger: the two readings' accuracies added
    detail: str


class DcPrecharge(DcCharging):
    """The output voltage the charger closes K1/K2 at."""

    def charger_side_wired(self) -> bool:
        return CHARGER_SIDE in self.session.instrument("analyzer").config.channels

    def precharge_at_closing(self) -> PrechargeReading:
        """A session started as a car would (battery at its rated voltage, a third of the
        maximum current asked for): the charger's output and the inlet read until the CRO 0xAA."""
        self.plug_in_asking(self.dut.current_range_a[1] * FAULT_CHARGING_FRACTION)
        self.platform.start()
        reached = self.try_wait_until(
            lambda: self.bms.phase in ("configuration", "charging"),
            SESSION_START_TIMEOUT_S,
            poll=PHASE_POLL_S,
            what="the BMS to reach configuration (BCP/CML)",
        )
        if reached is None:
            return PrechargeReading(
                None, None, None, None, f"the session never reached configuration ({self.bms.phase})"
            )
        since = self.now()
        self.ev.set_vehicle_contactors(True)
        pairs: list[tuple[float, float | None, float | None]] = []

        def closed() -> bool:
            if self.ready_cro(since) is not None:
                return True
            pairs.append((self.now(), *self._charger_and_inlet()))
            return False

        self.try_wait_until(closed, SESSION_START_TIMEOUT_S, poll=PRECHARGE_POLL_S, what="CRO 0xAA")
        cro = self.ready_cro(since)
        if cro is None:
            return PrechargeReading(None, None, None, None, "no CRO 0xAA: the charger never closed K1/K2")
        before = [p for p in pairs if p[0] < cro.time]
        if not before:
            return PrechargeReading(None, None, None, None, "no reading before the CRO 0xAA")
        t, charger_v, inlet_v = before[-1]
        parts = [self.accuracy("analyzer", "voltage", v) if v is not None else None for v in (charger_v, inlet_v)]
        uncertainty = None if None in parts else sum(p for p in parts if p is not None)
        detail = f"read {cro.time - t:.2f} s before CRO 0xAA: charger side {charger_v} V, inlet {inlet_v} V"
        return PrechargeReading(charger_v, inlet_v, cro.time - t, uncertainty, detail)

    def _charger_and_inlet(self) -> tuple[float | None, float | None]:
        analyzer = self.session.instrument("analyzer")
        charger_el, inlet_el = (self.session.analyzer_element(point) for point in (CHARGER_SIDE, "output"))
        analyzer.configure([("U", charger_el), ("U", inlet_el)])
        values = {reading.element: reading.value for reading in analyzer.read()}
        return values.get(charger_el), values.get(inlet_el)
