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
    closing = bench.time_contactor_closing()
    bench.check_duration(
        "changji:4.2.9.4:contactor_close_delay",
        closing.delay,
        window=closing.watched_s,
        missing="the output did not come on after S2 closed",
        uncertainty=bench.cp_window_s() + 1.0 / bench.dut.supply_frequency_hz,
        detail="from the CP's fall to state 3 (S2 closed) to the output's first rise past "
        "100 V (which comes up to one mains cycle after the contacts close)",
    )


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
