"""GB/T 27930 frames of the charger over one whole session (handshake to statistics).

The bench judges the charger's own frames in every DC test that runs a session
(bench/session/protocol_checks.py): for each of CHM, CRM, CML, CTS, CRO, CCS, CST and CSD that
was sent, the number of the test's monitor findings of each kind — mean period outside ±10 %
(gbt27930:protocol:period, U), length (gbt27930:protocol:dlc, T), phase order
(gbt27930:protocol:phase_order, T) and value range (gbt27930:protocol:value_range, T) — must
be none. This case runs one complete session so that every message is seen at least once.

Fails against a simulated charger with: charger_frame_faults (ccs_dlc, ccs_range,
cml_in_charging), chm_period_ms.
"""

import pytest

pytestmark = pytest.mark.dut("dc")

# Long enough in charging for CCS (50 ms) and CML's neighbours to repeat many times.
CHARGING_S = 3.0


@pytest.mark.judges(
    "gbt27930:protocol:period",
    "gbt27930:protocol:dlc",
    "gbt27930:protocol:phase_order",
    "gbt27930:protocol:value_range",
)
@pytest.mark.clause("gbt27930:protocol")
def test_charger_frames_conform_over_a_whole_session(bench):
    bench.charge_steadily(bench.dut.current_range_a[1] / 3)
    bench.wait(CHARGING_S)
    bench.stop_by_bms()
    bench.wait_for_session_end()
