"""The charger's reactions to a misbehaving BMS (GB/T 27930-2015, as GB/T 34658 tests them).

The bench's BMS stops sending one message; the charger must answer with CEM when the message's
timeout runs out (5 s, BCL 1 s while charging; T), not before and not much later (±10 %, U:
a bench window until GB/T 34658's tolerance is in hand), and, with the BMS still silent, try
three reconnections and then give up (T). The catalogue (our IDs; the GB/T 34658 item numbers
are not in hand, so every item is U):

* BA-01, the BMS never sends BRM: CEM (BRM timeout) 5 s after the charger's first CRM(0x00);
  three reconnections, then it stops (`gbt27930:timeout:cem_time`, `reconnect_attempts`);
* BA-02, never BCP: CEM (BCP timeout) 5 s after the first CRM(0xAA) (`cem_time`);
* BA-03, BCL stops while charging: CEM (BCL timeout) 1 s after the last BCL (`bcl_cem_time`);
* BA-04, BCS stops while charging: CEM (BCS timeout) 5 s after the last BCS (`cem_time`).

Not in the catalogue yet (issue 13 item 2): BRO never reaching 0xAA, a BCP maximum below the
charger's minimum, BST fault codes, a wrong DLC, a TP abort, a handshake restarted mid-session.

Fails against a simulated charger with: cem_timeout_factor past ±10 % (every CEM time);
reconnect_attempts other than 3; ignores_bms_timeout (no CEM at all).
"""

import pytest

from bench.api.timings import CAN_TIME_RESOLUTION_S, WINDOW_FACTOR

pytestmark = [pytest.mark.dut("dc"), pytest.mark.clause("gbt27930:timeout")]

CEM_TIME = "gbt27930:timeout:cem_time"
BCL_CEM_TIME = "gbt27930:timeout:bcl_cem_time"
RECONNECTS = "gbt27930:timeout:reconnect_attempts"
# The bench watches a BMS that stays silent this long for the charger's reconnections: four
# timeouts of 5 s and their CEM episodes, with room for one attempt too many.
RECONNECT_WATCH_S = 40.0


def check_cem(bench, key: str, since: float, what: str, at: dict) -> None:
    """Judge ``key`` on the time from ``since`` to the charger's first CEM after it."""
    window = WINDOW_FACTOR * bench.limit(key).upper
    cem = bench.first_frame("CEM", since, window)
    bench.check_duration(
        key,
        None if cem is None else cem.time - since,
        window=bench.now() - since,
        missing="no CEM",
        uncertainty=2 * CAN_TIME_RESOLUTION_S,
        at=at,
        detail=f"from {what} to the charger's first CEM"
        + ("" if cem is None else f" ({', '.join(k for k, v in cem.values.items() if v == 'timeout') or 'no flag'})"),
    )


@pytest.mark.judges("gbt27930:timeout:cem_time", "gbt27930:timeout:reconnect_attempts")
def test_ba01_brm_never_sent(bench):
    bench.bms_withholds(["BRM"])
    first_crm = bench.begin_session()
    if first_crm is None:
        pytest.fail("the charger never began recognition (no CRM): nothing to time", pytrace=False)
    check_cem(bench, CEM_TIME, first_crm.time, "the charger's first CRM(0x00)", {"id": "BA-01", "withheld": "BRM"})
    found = bench.reconnections(first_crm.time, RECONNECT_WATCH_S)
    bench.check(RECONNECTS, found.attempts, reference=3, at={"id": "BA-01"}, detail=found.detail)


@pytest.mark.judges("gbt27930:timeout:cem_time")
def test_ba02_bcp_never_sent(bench):
    bench.bms_withholds(["BCP"])
    first_crm = bench.begin_session()
    if first_crm is None:
        pytest.fail("the charger never began recognition (no CRM): nothing to time", pytrace=False)
    window = WINDOW_FACTOR * bench.limit(CEM_TIME).upper
    recognised = bench.first_frame("CRM", first_crm.time, window, recognition="recognized")
    if recognised is None:
        pytest.fail("the charger never recognised the BMS (no CRM 0xAA): nothing to time", pytrace=False)
    check_cem(bench, CEM_TIME, recognised.time, "the charger's first CRM(0xAA)", {"id": "BA-02", "withheld": "BCP"})


def cem_after_a_message_stops(bench, message: str, key: str, case_id: str) -> None:
    """While charging the BMS stops ``message``: judge ``key`` from its last frame to the CEM."""
    bench.charge_steadily(round(bench.dut.current_range_a[1] / 3))
    bench.bms_withholds([message])
    last = bench.frames.last(message)
    since = last.time if last is not None else bench.now()
    check_cem(bench, key, since, f"the BMS's last {message}", {"id": case_id, "withheld": message})


@pytest.mark.judges("gbt27930:timeout:bcl_cem_time")
def test_ba03_bcl_stops_while_charging(bench):
    cem_after_a_message_stops(bench, "BCL", BCL_CEM_TIME, "BA-03")


@pytest.mark.judges("gbt27930:timeout:cem_time")
def test_ba04_bcs_stops_while_charging(bench):
    cem_after_a_message_stops(bench, "BCS", CEM_TIME, "BA-04")
