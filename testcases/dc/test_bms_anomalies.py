"""The charger's reactions to a misbehaving BMS (GB/T 27930-2015, as GB/T 34658 tests them).

The bench's BMS emulator misbehaves on purpose; each entry of ``CATALOGUE`` is one case, with an
ID of our own and the GB/T 34658 item it corresponds to ("U": not known; the catalogue is the one
place the mapping lives, and every check carries it in its operating point; docs/limits.md §10).

* A message the charger waits for does not come: CEM naming it when its timeout runs out (5 s,
  BCL 1 s, BRO(0xAA) 60 s: T), within ±10 % (a bench window, U: `gbt27930:timeout:cem_time`,
  `bcl_cem_time`, `bro_cem_time`); with the anomaly persisting, three reconnection attempts and
  then the stop (`reconnect_attempts`, T); a vehicle that answers late, on the reconnection, is
  charged (`session_resumed`, T); a timeout while charging brings the current to 5 A within 1 s
  of the CEM (`current_off_time`, U; off a scope record). A frame of the wrong length and an
  aborted TP transfer are no message at all.
* A BST with any fault or error code: the current ≤ 5 A within 10 s (`gbt27930:stop:bms_current_off_time`, T).
* A vehicle whose BCP maximum charging voltage is below the charger's minimum output (its CML):
  not charged (`gbt27930:config:out_of_range_not_charged`, I), and CST within 5 s of BCP
  (`out_of_range_cst_time`, U; no CEM applies, the CST flags are reported, not judged).

The BMS holds its own timeouts meanwhile (no BEM), so only the charger's reaction shows; the
bench's protocol checks of the charger's own frames still run in every case and must find nothing.

Fails against a simulated charger with: cem_timeout_factor outside 0.9–1.1 (the CEM keys);
reconnect_attempts other than 3; ignores_bms_timeout (and ignores_can_loss, the same defect:
every timeout key); ignores_bcp_mismatch (BA-08); cst_current_delay_s past 10 s (the BST codes);
current_slew_a_per_s below about 45 A/s (current_off_time).
"""

from dataclasses import dataclass

import pytest

from bench.api.timings import CAN_TIME_RESOLUTION_S, SESSION_START_TIMEOUT_S, WINDOW_FACTOR, record_window_s

pytestmark = pytest.mark.dut("dc")

CEM_TIME = "gbt27930:timeout:cem_time"
BCL_CEM_TIME = "gbt27930:timeout:bcl_cem_time"
BRO_CEM_TIME = "gbt27930:timeout:bro_cem_time"
RECONNECTS = "gbt27930:timeout:reconnect_attempts"
OFF = "gbt27930:timeout:current_off_time"
RESUMED = "gbt27930:timeout:session_resumed"
BST_OFF = "gbt27930:stop:bms_current_off_time"
CST_TIME = "gbt27930:config:out_of_range_cst_time"
NOT_CHARGED = "gbt27930:config:out_of_range_not_charged"
CEM_KEY = {"BRM": CEM_TIME, "BCP": CEM_TIME, "BCS": CEM_TIME, "BCL": BCL_CEM_TIME, "BRO": BRO_CEM_TIME}

# Bench choices (docs/limits.md §10, U): a late answer comes this many timeouts after the
# charger's cue (past the ±10 % window); the wrong DLC of BCL (5 bytes) is one byte short; the
# vehicle below the charger's range announces 0.9 × its minimum output and its battery sits at
# 0.9 × that.
LATE_FACTOR = 1.2
WRONG_BCL_LENGTH = 4
BELOW_RANGE_FACTOR = 0.9
# BST fault and error codes (GB/T 27930-2015 BST, catalogue field names).
BST_CODES = (
    "insulation_fault",
    "connector_overtemperature",
    "bms_overtemperature",
    "connector_fault",
    "battery_overtemperature",
    "relay_fault",
    "cc2_voltage_fault",
    "other_fault",
    "overcurrent",
    "voltage_abnormal",
)


@dataclass(frozen=True)
class Anomaly:
    item: str  # the GB/T 34658 item, or "U" where not known
    reaction: str  # what the charger must do
    message: str = ""  # the BMS message concerned
    flag: str = ""  # the CEM flag naming it (the BST code for a BST)


# The reactions name no figure: the figures are the limits' (docs/limits.md §10).
CATALOGUE: dict[str, Anomaly] = {
    "BA-01": Anomaly(
        "U", "BRM never sent: CEM at the BRM timeout; the reconnection attempts, then stop", "BRM", "brm_timeout"
    ),
    "BA-02": Anomaly(
        "U", "BCP never sent: CEM at the BCP timeout; the reconnection attempts, then stop", "BCP", "bcp_timeout"
    ),
    "BA-03": Anomaly(
        "U",
        "BCL stops mid-charge: CEM at the BCL timeout; current off; the reconnection attempts, then stop",
        "BCL",
        "bcl_timeout",
    ),
    "BA-04": Anomaly(
        "U",
        "BCS stops mid-charge: CEM at the BCS timeout; current off; the reconnection attempts, then stop",
        "BCS",
        "bcs_timeout",
    ),
    "BA-05": Anomaly("U", "BRM late past its timeout: CEM; reconnects and charges the vehicle", "BRM", "brm_timeout"),
    "BA-06": Anomaly("U", "BCP late past its timeout: CEM; reconnects and charges the vehicle", "BCP", "bcp_timeout"),
    "BA-07": Anomaly("U", "BRO never 0xAA: no output; CEM at the BRO(0xAA) timeout", "BRO", "bro_timeout"),
    "BA-08": Anomaly("U", "BCP maximum below the charger's minimum output: CML, then CST; never charged"),
    "BA-09": Anomaly(
        "U",
        "BMS restarts its handshake mid-session: CEM at the BCL timeout; current off; charges again",
        "BCL",
        "bcl_timeout",
    ),
    **{
        f"BA-{10 + i}": Anomaly("U", f"BST with {code}: current off in the time of a BMS stop", "BST", code)
        for i, code in enumerate(BST_CODES)
    },
    "BA-20": Anomaly(
        "U", "BCL one byte short (wrong DLC) is no BCL: CEM at the BCL timeout; current off", "BCL", "bcl_timeout"
    ),
    "BA-21": Anomaly(
        "U", "BCS TP transfer aborted mid-transfer is no BCS: CEM at the BCS timeout; current off", "BCS", "bcs_timeout"
    ),
}
BST_CASES = [case for case, entry in CATALOGUE.items() if entry.message == "BST"]


def where(case: str, **more) -> dict:
    """A check's operating point: the case, its GB/T 34658 item, what was done."""
    entry = CATALOGUE[case]
    return {"id": case, "gbt34658_item": entry.item, "anomaly": entry.reaction.split(":")[0], **more}


def unjudged(bench, case: str, reason: str, *keys: str) -> None:
    """The anomaly never got as far as the reaction to judge: every key invalid, with why."""
    for key in keys:
        bench.check(key, None, at=where(case), invalid_reason=reason)


def judge_cem(bench, case: str, since: float, what: str):
    """The CEM naming the message, timed from ``since`` (the start of the charger's wait); the
    CEM frame, or None."""
    entry = CATALOGUE[case]
    key = CEM_KEY[entry.message]
    window = WINDOW_FACTOR * bench.limit(key).high
    cem, seen = bench.cem_for(entry.flag, since, window)
    bench.check_duration(
        key,
        None if cem is None else cem.time - since,
        window=window,
        missing=seen,
        uncertainty=2 * CAN_TIME_RESOLUTION_S,
        at=where(case),
        detail=f"from {what} to the charger's first {seen}",
    )
    return cem


def judge_reconnections(bench, case: str, cem, since: float) -> None:
    """Three restarts after the CEM, then none (the anomaly persisting)."""
    rule = bench.limit(RECONNECTS)
    cem_rule = bench.limit(CEM_TIME)
    cycle = WINDOW_FACTOR * (cem_rule.high + cem_rule.figure("timeout_s"))  # a CEM episode and a new wait
    window = rule.figure("quiet_s") + (rule.high + 2) * cycle
    seen = bench.reconnections(cem.time if cem is not None else since, rule.figure("quiet_s"), window)
    if not seen.stopped and seen.attempts == rule.high:
        bench.check(RECONNECTS, None, at=where(case), invalid_reason=f"{seen.detail}: not seen to stop")
        return
    bench.check(RECONNECTS, seen.attempts, at=where(case), detail=seen.detail)


def judge_resumed(bench, case: str, cem) -> None:
    if cem is None:
        bench.check(RESUMED, False, reference=True, at=where(case), detail="no CEM: no reconnection to resume on")
        return
    resumed, detail = bench.session_resumed(cem.time)
    bench.check(RESUMED, resumed, reference=True, at=where(case), detail=detail)


def judge_current_off(bench, case: str, record, cem, since: float) -> None:
    """From the CEM (or, without one, the anomaly: the charger must stop either way) to the
    output current ≤ 5 A, off the scope record (the analyzer, polled, past its end)."""
    rule = bench.limit(OFF)
    end_a = rule.figure("end_current_a")
    start = cem.time if cem is not None else since
    what = "the CEM" if cem is not None else "the anomaly (no CEM came)"
    off, uncertainty = bench.current_off_after(record, start, end_a, WINDOW_FACTOR * rule.high)
    bench.check_duration(
        OFF,
        None if off is None else off - start,
        window=bench.now() - start,
        missing=f"the output current still above {end_a:g} A after {what}",
        uncertainty=uncertainty,
        at=where(case),
        detail=f"from {what} to the output current ≤ {end_a:g} A",
    )


# == the handshake and the configuration ========================================================
def wait_in_recognition(bench, case: str, *, late: bool, then: str):
    """The vehicle withholds BRM or BCP (for a late one: sends it past its timeout); the
    charger's cue (its first CRM(0x00) for BRM, CRM(0xAA) for BCP) and its CEM; None when the
    charger never sent the cue (the CEM key and ``then`` invalid)."""
    entry = CATALOGUE[case]
    bench.withhold(entry.message)
    first_crm = bench.begin_session()
    cue = {"BRM": "not_recognized", "BCP": "recognized"}[entry.message]
    asked = first_crm if cue == "not_recognized" else None
    if first_crm is not None and asked is None:
        asked = bench.first_frame("CRM", first_crm.time, WINDOW_FACTOR * bench.limit(CEM_TIME).high, recognition=cue)
    if asked is None:
        unjudged(bench, case, f"the charger never sent CRM({cue}): nothing asked for, nothing to time", CEM_TIME, then)
        return None
    if late:
        timeout = bench.limit(CEM_TIME).figure("timeout_s")
        bench.withhold(entry.message, release_after_s=asked.time + LATE_FACTOR * timeout - bench.now())
    return asked, judge_cem(bench, case, asked.time, f"the charger's first CRM({cue})")


@pytest.mark.judges("gbt27930:timeout:cem_time", "gbt27930:timeout:reconnect_attempts")
@pytest.mark.clause("gbt27930:timeout")
def test_ba01_brm_never_sent(bench):
    found = wait_in_recognition(bench, "BA-01", late=False, then=RECONNECTS)
    if found is not None:
        judge_reconnections(bench, "BA-01", found[1], found[0].time)


@pytest.mark.judges("gbt27930:timeout:cem_time", "gbt27930:timeout:reconnect_attempts")
@pytest.mark.clause("gbt27930:timeout")
def test_ba02_bcp_never_sent(bench):
    found = wait_in_recognition(bench, "BA-02", late=False, then=RECONNECTS)
    if found is not None:
        judge_reconnections(bench, "BA-02", found[1], found[0].time)


@pytest.mark.parametrize("case", ["BA-05", "BA-06"])
@pytest.mark.judges("gbt27930:timeout:cem_time", "gbt27930:timeout:session_resumed")
@pytest.mark.clause("gbt27930:timeout")
def test_ba05_ba06_brm_or_bcp_late_past_its_timeout(bench, case):
    found = wait_in_recognition(bench, case, late=True, then=RESUMED)
    if found is not None:
        judge_resumed(bench, case, found[1])


@pytest.mark.judges("gbt27930:timeout:bro_cem_time")
@pytest.mark.clause("gbt27930:timeout")
def test_ba07_bro_never_ready(bench):
    bench.bro_never_ready()
    first_crm = bench.begin_session()
    cml = None if first_crm is None else bench.first_frame("CML", first_crm.time, SESSION_START_TIMEOUT_S)
    if cml is None:
        unjudged(bench, "BA-07", "the charger never sent CML: no configuration to time", BRO_CEM_TIME)
        return
    judge_cem(bench, "BA-07", cml.time, "the charger's first CML")


@pytest.mark.judges("gbt27930:config:out_of_range_cst_time", "gbt27930:config:out_of_range_not_charged")
@pytest.mark.clause("gbt27930:config")
def test_ba08_bcp_maximum_below_the_chargers_minimum_output(bench):
    bcp_max_v = BELOW_RANGE_FACTOR * bench.dut.voltage_range_v[0]
    at = where("BA-08", bcp_max_v=round(bcp_max_v, 1), charger_min_v=bench.dut.voltage_range_v[0])
    bench.announce_bcp_max_voltage(bcp_max_v)
    first_crm = bench.begin_session(battery_v=BELOW_RANGE_FACTOR * bcp_max_v, request_v=bcp_max_v)
    bcp = None if first_crm is None else bench.wait_for_frame("BCP", first_crm.time, SESSION_START_TIMEOUT_S)
    if bcp is None:
        unjudged(bench, "BA-08", "the session never reached BCP: nothing to react to", CST_TIME, NOT_CHARGED)
        return
    window = WINDOW_FACTOR * bench.limit(CST_TIME).high
    cst = bench.first_frame("CST", bcp.time, window)
    cml = bench.frames.first("CML", bcp.time)
    shown = "after its CML" if cml is not None and (cst is None or cml.time <= cst.time) else "with no CML before it"
    bench.check_duration(
        CST_TIME,
        None if cst is None else cst.time - bcp.time,
        window=window,
        missing="no CST",
        uncertainty=2 * CAN_TIME_RESOLUTION_S,
        at=at,
        detail=f"from the vehicle's first BCP to the first CST ({bench.describe_stop(cst, 'CST', window)}), {shown}",
    )
    bench.wait(max(0.0, bcp.time + window - bench.now()))
    charged, detail = bench.charged_since(bcp.time, bench.limit(NOT_CHARGED).figure("end_current_a"))
    bench.check(NOT_CHARGED, not charged, reference=True, at=at, detail=detail)


# == while charging ============================================================================
def charging_message_lost(bench, case: str, misbehave) -> None:
    """While charging the vehicle's BCL or BCS is lost (``misbehave()`` returns the bench time of
    its last good frame), during a scope record of the output current; CEM, current off, and the
    reconnections or the resumed session."""
    entry = CATALOGUE[case]
    bench.charge_steadily(round(bench.dut.current_range_a[1] / 3))
    lost: list[float] = []
    reaction_s = bench.limit(CEM_KEY[entry.message]).high + WINDOW_FACTOR * bench.limit(OFF).high
    with bench.step(f"{case} during a record of the output current"):
        record, _ = bench.record_during(
            f"output current, {case}",
            ("output_current",),
            record_window_s(reaction_s),
            lambda: lost.append(misbehave()),
        )
    cem = judge_cem(bench, case, lost[0], f"the vehicle's last good {entry.message}")
    judge_current_off(bench, case, record, cem, lost[0])
    return cem


@pytest.mark.judges(
    "gbt27930:timeout:bcl_cem_time", "gbt27930:timeout:current_off_time", "gbt27930:timeout:reconnect_attempts"
)
@pytest.mark.clause("gbt27930:timeout")
def test_ba03_bcl_stops_while_charging(bench):
    cem = charging_message_lost(bench, "BA-03", lambda: bench.withhold("BCL"))
    judge_reconnections(bench, "BA-03", cem, bench.now())


@pytest.mark.judges(
    "gbt27930:timeout:cem_time", "gbt27930:timeout:current_off_time", "gbt27930:timeout:reconnect_attempts"
)
@pytest.mark.clause("gbt27930:timeout")
def test_ba04_bcs_stops_while_charging(bench):
    cem = charging_message_lost(bench, "BA-04", lambda: bench.withhold("BCS"))
    judge_reconnections(bench, "BA-04", cem, bench.now())


@pytest.mark.judges(
    "gbt27930:timeout:bcl_cem_time", "gbt27930:timeout:current_off_time", "gbt27930:timeout:session_resumed"
)
@pytest.mark.clause("gbt27930:timeout")
def test_ba09_bms_restarts_its_handshake_mid_session(bench):
    cem = charging_message_lost(bench, "BA-09", bench.restart_bms_handshake)
    judge_resumed(bench, "BA-09", cem)


@pytest.mark.judges("gbt27930:timeout:bcl_cem_time", "gbt27930:timeout:current_off_time")
@pytest.mark.clause("gbt27930:timeout")
def test_ba20_bcl_of_the_wrong_dlc(bench):
    charging_message_lost(bench, "BA-20", lambda: bench.send_wrong_length("BCL", WRONG_BCL_LENGTH))


@pytest.mark.judges("gbt27930:timeout:cem_time", "gbt27930:timeout:current_off_time")
@pytest.mark.clause("gbt27930:timeout")
def test_ba21_bcs_transfer_aborted_mid_transfer(bench):
    charging_message_lost(bench, "BA-21", lambda: bench.abort_transfers("BCS"))


@pytest.mark.judges("gbt27930:stop:bms_current_off_time")
@pytest.mark.clause("gbt27930:stop")
def test_ba10_to_ba19_bst_with_each_fault_code_stops_the_current(bench):
    # One pytest case, one session and one check per code (the check names its case): ten
    # cases would cost the run ten record rewrites and ten sets of protocol checks.
    rule = bench.limit(BST_OFF)
    end_a = rule.figure("end_current_a")
    window = WINDOW_FACTOR * rule.high
    for case in BST_CASES:
        code = CATALOGUE[case].flag
        amps = bench.charge_steadily(round(bench.dut.current_range_a[1] / 3))
        bst_at = bench.stop_by_bms(code)
        off, resolution = bench.current_off_polled(bst_at, window)
        bench.check_duration(
            BST_OFF,
            None if off is None else off - bst_at,
            window=window,
            missing=f"the output current still above {end_a:g} A after BST",
            uncertainty=resolution,
            at=where(case, bst=code, charging_a=round(amps, 1)),
            detail=f"from the first BST with {code} to ≤ {end_a:g} A (analyzer, polled)",
        )
