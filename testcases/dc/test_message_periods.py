"""GB/T 27930-2015 message periods of the charger.

Each message the charger sends repeats at its nominal period (docs/limits.md §3: CHM, CRM,
CML 250 ms; CTS 500 ms; CCS 50 ms; CST 10 ms; CSD 250 ms …); the bench accepts a mean
period within ±10 % of the nominal (gbt27930:messages:period, U, docs/limits.md §7). Measured
over one whole session — handshake with the insulation check, configuration, charging,
stop and statistics — by the test's GB/T 27930 conformance monitor from the frames' time
stamps; pauses of more than three periods split a message into runs. The vehicle answers
BRM and BRO late (as a slow car may), so that CRM, CML and CTS repeat long enough; a message
is judged when the session holds at least three intervals of it.

Fails against a simulated charger with: chm_period_ms (CHM).
"""

import pytest

from bench.api.timings import CAN_TIME_RESOLUTION_S, PERIODS_ANSWER_DELAY_S, PERIODS_CHARGING_S

pytestmark = pytest.mark.dut("dc")

# A message is judged with at least this many intervals (bench choice: CSD repeats only for
# the second after BSD, three intervals).
MIN_INTERVALS = 3


@pytest.mark.judges("gbt27930:messages:period")
@pytest.mark.clause("gbt27930:messages")
def test_charger_message_periods(bench):
    bench.vehicle_answers_late(PERIODS_ANSWER_DELAY_S)
    bench.charge_steadily(bench.dut.current_range_a[1] / 3)
    bench.wait(PERIODS_CHARGING_S)
    bench.stop_by_bms()
    bench.wait_for_session_end()
    periods = bench.message_periods(min_intervals=MIN_INTERVALS)
    if not periods:
        bench.check("gbt27930:messages:period", None, detail="no charger message with enough intervals")
    for name, stats in sorted(periods.items()):
        mean, nominal = stats["mean_period_s"], stats["nominal_period_s"]
        bench.check_reading(
            "gbt27930:messages:period",
            mean,
            reference=nominal,
            uncertainty=2 * CAN_TIME_RESOLUTION_S / stats["intervals"],
            at={"message": name, "nominal_ms": nominal * 1000},
            detail=f"mean {mean * 1000:.2f} ms over {stats['intervals']} intervals ({stats['count']} frames)",
        )
