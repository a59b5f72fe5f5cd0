"""4.4.3: a pile used for trade settlement meters to JJG 1148-2022 (AC) or JJG 1149-2022 (DC).

The legal verification is the district metrology body's; the bench checks what it would check
before the pile goes there (docs/limits.md §9, all U):

* Energy: in one charging session at three or more load points (grid ``metering_load_fraction``:
  fractions of the maximum current on an AC pile, of the rated power on a DC charger), the energy
  the pile's register counted (read over the platform channel: the Modbus ``energy`` register,
  OCPP ``Energy.Active.Import.Register``) against what the power analyzer integrated at the
  output over the same span, METERING_POINT_S between two steps of the register. The limit is
  the operating error of the pile's accuracy class (``[dut] meter_accuracy_class``): ±0.5 %, ±1 %
  or ±2 % of the analyzer's energy, one case per class (the others are skipped).
* Clock: a pile with time-of-use billing keeps its clock within ±5 s of standard time at first
  verification; the pile's clock is read against the bench's (traceable) clock as it stands
  (this case sends no time sync).

A pile without ``meter_accuracy_class`` is not for trade settlement: 4.4.3 does not apply and
the cases are skipped.

Fails against a simulated pile with: meter_error_pct beyond its class (the energy);
rtc_offset_s beyond ±5 s (the clock; also the time sync and the timed commands).
"""

import pytest

from bench.api.metering import meter_point
from bench.api.timings import METERING_POINT_S, PILE_CLOCK_RESOLUTION_S

pytestmark = pytest.mark.clause("changji:4.4.3")


def judge_energy(bench, accuracy_class: float, key: str) -> None:
    declared = bench.dut.meter_accuracy_class
    if declared is None:
        pytest.skip("not a trade-settlement pile: the profile gives no [dut] meter_accuracy_class")
    if declared != accuracy_class:
        pytest.skip(f"the pile's meter is class {declared:g} ([dut] meter_accuracy_class), not {accuracy_class:g}")
    for fraction in bench.points("metering_load_fraction"):
        with bench.step(f"load point {fraction:g}"):
            point = meter_point(bench, fraction, METERING_POINT_S)
        at = {"load_fraction": fraction, "class": accuracy_class}
        error = (
            f"{100 * (point.pile_kwh - point.analyzer_kwh) / point.analyzer_kwh:+.3f} %"
            if point.pile_kwh is not None and point.analyzer_kwh
            else "no error"
        )
        bench.check_reading(
            key,
            point.pile_kwh,
            reference=point.analyzer_kwh,
            uncertainty=point.uncertainty_kwh,
            at=at,
            detail=f"{point.load}: register {point.pile_kwh} kWh, analyzer {point.analyzer_kwh} kWh over "
            f"{point.seconds:.1f} s ({point.note}): {error}",
        )


@pytest.mark.judges("changji:4.4.3:energy_error_class_0_5")
def test_energy_register_class_0_5(bench):
    judge_energy(bench, 0.5, "changji:4.4.3:energy_error_class_0_5")


@pytest.mark.judges("changji:4.4.3:energy_error_class_1")
def test_energy_register_class_1(bench):
    judge_energy(bench, 1.0, "changji:4.4.3:energy_error_class_1")


@pytest.mark.judges("changji:4.4.3:energy_error_class_2")
def test_energy_register_class_2(bench):
    judge_energy(bench, 2.0, "changji:4.4.3:energy_error_class_2")


@pytest.mark.judges("changji:4.4.3:clock_error")
def test_clock_error_at_first_verification(bench):
    if bench.dut.meter_accuracy_class is None:
        pytest.skip("not a trade-settlement pile: the profile gives no [dut] meter_accuracy_class")
    before = bench.now()
    pile = bench.platform.read_clock()
    after = bench.now()
    offset = pile - (bench.clock.epoch + (before + after) / 2)
    bench.check(
        "changji:4.4.3:clock_error",
        offset,
        reference=0.0,
        uncertainty=PILE_CLOCK_RESOLUTION_S + (after - before) / 2,
        detail=f"pile clock − bench clock as the pile keeps it (this case sends no time sync; read in "
        f"{after - before:.3f} s)",
    )
