"""The OCPP 1.6J mapping of the platform channel: which message and field carries what.

Both ends use these names: the bench's Central System (bench/platform) and the simulated
pile's charge point (instruments/sim/platform). The table in README.md is the same mapping
in prose, for a manufacturer whose pile speaks OCPP.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from bench.protocols.platform.vocabulary import BMS_FIELDS, normalize_state

SUBPROTOCOL = "ocpp1.6"  # OCPP-J 1.6 §3.1.2 WebSocket subprotocol name
CONNECTOR_ID = 1  # the bench tests one connector
ID_TAG = "BENCH"  # idTag the bench starts transactions with (CiString20)

# DataTransfer: OCPP 1.6 has no message for these (OCPP 1.6 §4.3 / §5.6).
VENDOR_ID = "org.chargerbench"
WAKE_VEHICLE = "WakeVehicle"  # bench → pile, no data
SET_CLOCK = "SetClock"  # bench → pile, data {"currentTime": <ISO 8601>}
GET_CLOCK = "GetClock"  # bench → pile, answer data {"currentTime": <ISO 8601>}
GET_BMS_INFO = "GetBmsInfo"  # bench → pile, answer data: the 4.2.7 fields (JSON object)
BMS_INFO = "BmsInfo"  # pile → bench on its own when it learns them, same data

# SetChargingProfile: an immediate limit replaces profile 1 (stack level 0, kind Relative);
# a timed power change is profile 2 one stack level higher (kind Absolute, startSchedule =
# the time of the change), so it takes over only from its start. A timed start rides on
# RemoteStartTransaction as a TxProfile whose first period has limit 0 until the start time.
LIMIT_PROFILE_ID = 1
TIMED_PROFILE_ID = 2
TIMED_START_PROFILE_ID = 3

# MeterValues measurands (OCPP 1.6 §7.31) for the real-time values.
MEASURANDS = {
    "voltage_v": "Voltage",
    "current_a": "Current.Import",
    "power_w": "Power.Active.Import",
    "energy_kwh": "Energy.Active.Import.Register",
}
MEASURAND_UNITS = {"voltage_v": "V", "current_a": "A", "power_w": "W", "energy_kwh": "Wh"}
# Factors to the bench's units for the units a pile may report (OCPP 1.6 §7.45 UnitOfMeasure).
UNIT_FACTORS = {"V": 1.0, "A": 1.0, "W": 1.0, "kW": 1000.0, "Wh": 0.001, "kWh": 1.0}

# Pile state ↔ ChargePointStatus (OCPP 1.6 §7.7).
STATE_TO_STATUS = {
    "available": "Available", "preparing": "Preparing", "charging": "Charging",
    "suspended_ev": "SuspendedEV", "suspended_evse": "SuspendedEVSE", "finishing": "Finishing",
    "reserved": "Reserved", "unavailable": "Unavailable", "faulted": "Faulted",
}
STATUS_TO_STATE = {status: state for state, status in STATE_TO_STATUS.items()}

# Events. start/stop travel as StartTransaction/StopTransaction; the others as a
# StatusNotification with an errorCode, our vendorId and the event kind in vendorErrorCode.
EVENT_ERROR_CODES = {
    "anomaly": "OtherError",
    "protection": "OtherError",
    "communication_fault": "EVCommunicationError",
}
# A pile that does not use our vendorErrorCode: the kind from the errorCode (OCPP 1.6 §7.6).
ERROR_CODE_KINDS = {
    "EVCommunicationError": "communication_fault",
    "OverVoltage": "protection", "UnderVoltage": "protection", "OverCurrentFailure": "protection",
    "GroundFailure": "protection", "HighTemperature": "protection",
}


def status_for_state(state: str) -> str:
    return STATE_TO_STATUS[normalize_state(state)]


def event_kind(error_code: str, vendor_id: str | None, vendor_error_code: str | None) -> str | None:
    """The event a StatusNotification reports (None for errorCode NoError)."""
    if error_code == "NoError":
        return None
    if vendor_id == VENDOR_ID and vendor_error_code in EVENT_ERROR_CODES:
        return vendor_error_code
    return ERROR_CODE_KINDS.get(error_code, "anomaly")


# -- time -------------------------------------------------------------------------------------
def to_iso(unix_time: float) -> str:
    """OCPP dateTime (UTC, milliseconds): 2026-01-05T01:00:00.000Z."""
    moment = datetime.fromtimestamp(round(unix_time, 3), tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def from_iso(text: str) -> float:
    """Unix time of an ISO 8601 dateTime; ValueError for anything else or a time without zone."""
    moment = datetime.fromisoformat(str(text).strip())
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (OCPP dateTime is UTC, ending in Z)")
    return moment.timestamp()


# -- DataTransfer payloads ------------------------------------------------------------------
def clock_data(unix_time: float) -> str:
    return json.dumps({"currentTime": to_iso(unix_time)})


def parse_clock_data(data: str | None) -> float:
    """ValueError when the data is not {"currentTime": <ISO 8601>}."""
    try:
        return from_iso(json.loads(data or "")["currentTime"])
    except (TypeError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f'expected {{"currentTime": "<ISO 8601>"}}, got {data!r}') from exc


def bms_data(values: dict) -> str:
    unknown = set(values) - set(BMS_FIELDS)
    if unknown:
        raise ValueError(f"not 4.2.7 fields: {', '.join(sorted(unknown))}")
    return json.dumps({name: values[name] for name in BMS_FIELDS if name in values})


def parse_bms_data(data: str | None) -> dict:
    """The 4.2.7 fields present in the data; ValueError for anything that is not a JSON object."""
    try:
        values = json.loads(data or "")
    except json.JSONDecodeError as exc:
        raise ValueError(f"expected a JSON object of 4.2.7 fields, got {data!r}") from exc
    if not isinstance(values, dict):
        raise ValueError(f"expected a JSON object of 4.2.7 fields, got {data!r}")
    return {name: values[name] for name in BMS_FIELDS if name in values and values[name] is not None}
