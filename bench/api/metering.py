"""4.4.3 metering for trade settlement (JJG 1148-2022 AC, JJG 1149-2022 DC): the pile's energy
register, read over the platform channel (Modbus ``energy``; OCPP MeterValues
``Energy.Active.Import.Register``), against the power analyzer's integrated energy at a load
point, for an AC pile and a DC charger alike.

Each point is measured between two steps of the register: the analyzer integrates from the
moment the bench sees the register step to the moment it sees a later step, so the register
counted a whole number of its own steps and its resolution drops out; what remains is how late
the bench may see each step (METER_POLL_S of energy at the point's power). A register that
does not step within METER_STEP_WAIT_S is read as it stands (its step then counts against it).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.api.base import BenchView
from bench.api.timings import METER_POLL_S, METER_STEP_WAIT_S

WH_PER_KWH = 1000.0
JOULES_PER_KWH = 3.6e6


@dataclass(frozen=True)
class MeteredPoint:
    load: str  # what the load point is (BenchView.metering_load)
    pile_kwh: float | None  # what the register counted over the point; None: it gave no energy
    analyzer_kwh: float | None  # what the power analyzer integrated over the same span
    uncertainty_kwh: float | None
    seconds: float  # the span
    note: str  # how the span was delimited


def register_kwh(bench: BenchView) -> float | None:
    """The pile's energy register as the platform reads it now (None: the pile gives none)."""
    return bench.platform.realtime().energy_kwh


def next_register_step(bench: BenchView) -> tuple[float | None, bool]:
    """(the register's value once it steps from its present value, True), polled every
    METER_POLL_S for METER_STEP_WAIT_S at most; (its value then, False) when it does not."""
    first = register_kwh(bench)
    if first is None:
        return None, False
    seen: list[float | None] = [first]

    def stepped() -> bool:
        seen[0] = register_kwh(bench)
        return seen[0] is not None and seen[0] != first

    moved = bench.try_wait_until(stepped, METER_STEP_WAIT_S, poll=METER_POLL_S, what="the energy register to step")
    return seen[0], moved is not None


def meter_point(bench: BenchView, fraction: float, seconds: float) -> MeteredPoint:
    """The pile at the load point ``fraction`` (BenchView.metering_load), its register against
    the analyzer's integration over about ``seconds``, from one register step to a later one."""
    load = bench.metering_load(fraction)
    analyzer = bench.session.instrument("analyzer")
    element = bench.session.analyzer_element("output")
    watts = bench.measured_output()["P"]
    analyzer.integration_reset()  # stopped at the end of every point (and RESET from power-up)
    start_kwh, start_on_step = next_register_step(bench)
    if start_kwh is None:
        return MeteredPoint(load, None, None, None, 0.0, "the pile gives no energy register")
    analyzer.integration_start()
    began = bench.now()
    bench.wait(seconds)
    end_kwh, end_on_step = next_register_step(bench)
    analyzer.integration_stop()
    span = bench.now() - began
    energy_wh = analyzer.energy(element).value
    analyzer_kwh = None if energy_wh is None else energy_wh / WH_PER_KWH
    pile_kwh = None if end_kwh is None else end_kwh - start_kwh
    note = (
        "between two steps of the register"
        if start_on_step and end_on_step
        else "the register did not step within the wait: read as it stood"
    )
    return MeteredPoint(load, pile_kwh, analyzer_kwh, _uncertainty(bench, watts, analyzer_kwh), span, note)


def _uncertainty(bench: BenchView, watts: float | None, analyzer_kwh: float | None) -> float | None:
    """The analyzer's power accuracy over the energy, and one poll of energy: the bench sees
    each of the two register steps up to one poll late, so the span is off by at most that."""
    if watts is None or analyzer_kwh is None or watts <= 0:
        return None
    power = bench.accuracy("analyzer", "power", watts)
    if power is None:
        return None
    return power / watts * analyzer_kwh + watts * METER_POLL_S / JOULES_PER_KWH
