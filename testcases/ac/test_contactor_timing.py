"""4.2.9.4 and GB/T 18487.1 Annex A: the pile's AC contactor follows S2.

S2 closes → the pile closes its supply within 3 s (seed 4.2.9.4 (a), GB/T 18487.1); S2 opens
→ it opens within 100 ms (GB/T 18487.1, I). Both are read off one scope record holding the
CP (cause) and the pile's output (effect), so no bench latency enters the result.

Fails against a simulated pile with: contactor_close_delay_s, contactor_open_delay_s.
"""

import pytest

pytestmark = pytest.mark.dut("ac")


@pytest.mark.judges("changji:4.2.9.4:contactor_close_delay")
@pytest.mark.clause("changji:4.2.9.4")
def test_supply_closes_within_3_s_of_s2_closing(bench):
    bench.plug_in()
    bench.start_session()
    bench.check_supply_follows_s2("changji:4.2.9.4:contactor_close_delay", after="S2 closing")


@pytest.mark.judges("gbt18487.1:A:contactor_open_delay")
@pytest.mark.clause("gbt18487.1:A")
def test_supply_opens_within_100_ms_of_s2_opening(bench):
    bench.deliver()
    opening = bench.time_contactor_opening()
    bench.check_duration(
        "gbt18487.1:A:contactor_open_delay",
        opening.delay,
        window=opening.watched_s,
        missing="the output was still on",
        uncertainty=0.5 / bench.dut.supply_frequency_hz,
        detail="from the CP's rise to state 2 (S2 open) to the last half cycle of the output",
    )
