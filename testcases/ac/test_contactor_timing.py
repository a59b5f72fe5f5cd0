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
    bench.check_supply_opens_after_s2("gbt18487.1:A:contactor_open_delay")
