"""Vehicle-side faults while charging (GB/T 18487.1-2015 Annex B, GB/T 34657.1-2017): the
charger must stop when the vehicle interface faults. From a steady charge at a third of the
maximum current, a relay of the EV simulator applies the fault during a scope record of CC1 and
the output current; the stop is timed from the fault to the output current at the 5 A of a
stopped charger:

* CC1 below its band: a resistor across CC1–PE at the vehicle side (line ``cc1_fault``) takes
  detection point 1 to 3.0 V, outside 3.2–4.8 V; CC1 opened: the relay in the CC1 line
  (``cc1``) opens, 12 V. Both ≤ 5 A within 100 ms of CC1 leaving the band
  (gbt18487.1:B:cc1_fault_current_off_time: band I, time U).
* PE lost at the vehicle inlet (``pe_break``): R4 floats, detection point 1 at 6 V; ≤ 5 A
  within 100 ms of CC1 leaving the band (gbt18487.1:B:pe_loss_current_off_time, U).
* The pile's emergency stop (the board's E-stop relay): ≤ 5 A within 100 ms of the command to
  the relay (gbt18487.1:B:estop_current_off_time, U). The CST → 5 A of the same kind of stop is
  judged in test_stopping.py.

A fault whose relay is not wired is skipped with the reason; a CC1 fault the record shows no
CC1 excursion of is not judged (invalid, with the CC1 level seen).

Fails against a simulated charger with: ignores_cc1_fault (the CC1 and PE stops),
ignores_pe_loss (the PE stop), cst_current_delay_s above about 0.1 s (all three).
"""

import pytest

pytestmark = pytest.mark.dut("dc")

CC1_KEY = "gbt18487.1:B:cc1_fault_current_off_time"
PE_KEY = "gbt18487.1:B:pe_loss_current_off_time"
ESTOP_KEY = "gbt18487.1:B:estop_current_off_time"


def judge_fault_stop(bench, key: str, fault: str) -> None:
    if not bench.vehicle_fault_wired(fault):
        pytest.skip(f"{fault}: its relay is not wired ([instruments.ev.wiring])")
    bench.judge_fault_stop(key, bench.vehicle_fault_while_charging(fault, key))


@pytest.mark.judges("gbt18487.1:B:cc1_fault_current_off_time")
@pytest.mark.clause("gbt18487.1:B")
def test_cc1_below_its_band_stops_the_charger(bench):
    judge_fault_stop(bench, CC1_KEY, "cc1_band")


@pytest.mark.judges("gbt18487.1:B:cc1_fault_current_off_time")
@pytest.mark.clause("gbt18487.1:B")
def test_cc1_opened_while_charging_stops_the_charger(bench):
    judge_fault_stop(bench, CC1_KEY, "cc1_open")


@pytest.mark.judges("gbt18487.1:B:pe_loss_current_off_time")
@pytest.mark.clause("gbt18487.1:B")
def test_pe_loss_stops_the_charger(bench):
    judge_fault_stop(bench, PE_KEY, "pe_loss")


@pytest.mark.judges("gbt18487.1:B:estop_current_off_time")
@pytest.mark.clause("gbt18487.1:B")
def test_emergency_stop_cuts_the_output(bench):
    judge_fault_stop(bench, ESTOP_KEY, "estop")
