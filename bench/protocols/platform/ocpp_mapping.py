"""The OCPP 1.6J mapping of the platform channel: which message and field carries what.

Both ends use these names: the bench's Central System (bench/platform) and the simulated
pile's charge point (instruments/sim/platform). The table in README.md is the same mapping
in prose, for a manufacturer whose pile speaks OCPP.

Both ends also read every frame with the same guards (``parse_message``: nesting depth without
recursion, numbers, lone surrogates, OCPP-J element types and counts; ``FrameError`` names
the kind) and share the security profiles' credentials (``Secret``, the AuthorizationKey and
HTTP Basic authentication, OCPP 1.6 Security Whitepaper).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

from ocpp.messages import Call, CallError, CallResult

from bench.protocols.platform.vocabulary import BATTERY_STATUS_FIELDS, BMS_FIELDS, normalize_state

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
GET_BATTERY_STATUS = "GetBatteryStatus"  # bench → pile, answer data: the 4.5.3 e battery status (JSON object)
BATTERY_STATUS = "BatteryStatus"  # pile → bench on its own while charging, when it changes, same data
# What each bench → pile DataTransfer is for: named when a pile does not offer it.
VENDOR_CAPABILITIES = {
    WAKE_VEHICLE: "the platform's wake-up command",
    SET_CLOCK: "setting the pile's clock by DataTransfer",
    GET_CLOCK: "reading the pile's clock by DataTransfer",
    GET_BMS_INFO: "the 4.2.7 BMS data on request",
    GET_BATTERY_STATUS: "the 4.5.3 e battery status on request",
}
# A pile without the bench's DataTransfers answers one of these (OCPP 1.6 §5.6 DataTransferStatus;
# a pile with no DataTransfer handler at all, a CALLERROR, OCPP-J 1.6 §4.2.3).
NOT_OFFERED_STATUSES = ("UnknownVendorId", "UnknownMessageId")
NOT_OFFERED_ERRORS = ("NotImplemented", "NotSupported")

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
    "available": "Available",
    "preparing": "Preparing",
    "charging": "Charging",
    "suspended_ev": "SuspendedEV",
    "suspended_evse": "SuspendedEVSE",
    "finishing": "Finishing",
    "reserved": "Reserved",
    "unavailable": "Unavailable",
    "faulted": "Faulted",
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
    "OverVoltage": "protection",
    "UnderVoltage": "protection",
    "OverCurrentFailure": "protection",
    "GroundFailure": "protection",
    "HighTemperature": "protection",
}


# -- the WebSocket handshake -------------------------------------------------------------------
def offered_subprotocols(header_values: Iterable[str]) -> list[str]:
    """The subprotocols a pile offers: every Sec-WebSocket-Protocol header, comma-separated tokens."""
    return [item.strip() for value in header_values for item in value.split(",") if item.strip()]


def subprotocol_problem(offered: Sequence[str]) -> tuple[str, str] | None:
    """(kind, cause) when the offered subprotocols do not include ``ocpp1.6``, else None.

    The name is matched exactly, as websockets matches it: ``OCPP1.6`` is another name."""
    if SUBPROTOCOL in offered:
        return None
    if not offered:
        return "no_subprotocol", (
            f"the pile offered no WebSocket subprotocol (no Sec-WebSocket-Protocol header); "
            f"OCPP-J 1.6 §3.1.2 needs {SUBPROTOCOL!r}"
        )
    shown = ", ".join(short(name, 40) for name in offered[:8])
    near = [name for name in offered if name.lower() == SUBPROTOCOL]
    hint = f" ({short(near[0], 40)} differs in case: the name is matched exactly)" if near else ""
    return "wrong_subprotocol", (
        f"the pile offered the WebSocket subprotocol(s) {shown}, not {SUBPROTOCOL!r} (OCPP-J 1.6 §3.1.2){hint}"
    )


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
    moment = datetime.fromtimestamp(round(unix_time, 3), tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def from_iso(text: str) -> float:
    """Unix time of an ISO 8601 dateTime; ValueError for anything else or a time without zone."""
    unix_time, finding = read_pile_time(text)
    if finding is not None:
        raise ValueError(finding)
    return unix_time


class PileTime(NamedTuple):
    unix_time: float
    finding: str | None  # what the bench assumed to read it (a time without zone), None if nothing


def read_pile_time(text: str) -> PileTime:
    """A dateTime the pile sent. One without a zone is read as UTC, with a finding: OCPP
    dateTime is UTC (the OCPP 1.6 schemas' format date-time, RFC 3339 §5.6, has a zone).
    ValueError for anything that is no ISO 8601 time."""
    try:
        moment = datetime.fromisoformat(str(text).strip())
        finding = None
        if moment.tzinfo is None:
            finding = f"{short(text)} has no time zone (OCPP dateTime is UTC, ending in Z): read as UTC"
            moment = moment.replace(tzinfo=UTC)
        return PileTime(moment.timestamp(), finding)
    except (OverflowError, OSError) as exc:  # a year the platform cannot place
        raise ValueError(f"{short(text)} is out of range ({exc})") from None


# -- DataTransfer payloads ------------------------------------------------------------------
def clock_data(unix_time: float) -> str:
    return json.dumps({"currentTime": to_iso(unix_time)})


def parse_clock_data(data: str | None) -> float:
    """ValueError when the data is not {"currentTime": <ISO 8601 UTC>}."""
    return from_iso(clock_data_time(data))


def clock_data_time(data: str | None) -> str:
    """The currentTime text of {"currentTime": <ISO 8601>}; ValueError for other data."""
    try:
        text = loads(data or "")["currentTime"]
        if not isinstance(text, str):
            raise TypeError(text)
        return text
    except (TypeError, KeyError, FrameError) as exc:
        raise ValueError(f'expected {{"currentTime": "<ISO 8601>"}}, got {short(data)}') from exc


def bms_data(values: Mapping[str, Any]) -> str:
    unknown = set(values) - set(BMS_FIELDS)
    if unknown:
        raise ValueError(f"not 4.2.7 fields: {', '.join(sorted(unknown))}")
    return json.dumps({name: values[name] for name in BMS_FIELDS if name in values})


# The JSON type each 4.2.7 field travels as (README.md, "DataTransfer ids").
BMS_TYPES = {
    "vin": str,
    "battery_capacity": float,
    "lowest_cell_voltage": float,
    "lowest_cell_number": int,
    "heating_status": str,
    "cooling_status": str,
    "internal_resistance": float,
    "vehicle_model": str,
}


def parse_bms_data(data: str | None) -> dict[str, Any]:
    """The 4.2.7 fields present in the data; ValueError for anything that is not a JSON object
    of them, or a field of the wrong type."""
    values = _json_object(data, "4.2.7 fields")
    out = {}
    for name in BMS_FIELDS:
        value = values.get(name)
        if value is None:
            continue
        typ = BMS_TYPES.get(name, object)
        if not _of_json_type(value, typ):
            raise ValueError(f"4.2.7 field {name!r}: expected {_JSON_TYPE_NAMES[typ]}, got {short(value)}")
        if name in ("heating_status", "cooling_status") and value not in ("on", "off"):
            raise ValueError(f'4.2.7 field {name!r}: expected "on" or "off", got {short(value)}')
        out[name] = value
    return out


def battery_status_data(values: Mapping[str, Any]) -> str:
    unknown = set(values) - set(BATTERY_STATUS_FIELDS)
    if unknown:
        raise ValueError(f"not battery status fields: {', '.join(sorted(unknown))}")
    return json.dumps({name: values[name] for name in BATTERY_STATUS_FIELDS if name in values})


def parse_battery_status_data(data: str | None) -> dict[str, float]:
    """The 4.5.3 e battery status fields present in the data (numbers; cell and probe numbers
    integers); ValueError for anything else."""
    values = _json_object(data, "battery status fields")
    out = {}
    for name in BATTERY_STATUS_FIELDS:
        value = values.get(name)
        if value is None:
            continue
        typ = int if name.endswith(("_number", "_probe")) else float
        if not _of_json_type(value, typ):
            raise ValueError(f"battery status field {name!r}: expected {_JSON_TYPE_NAMES[typ]}, got {short(value)}")
        out[name] = float(value)
    return out


def _json_object(data: str | None, of_what: str) -> dict[str, Any]:
    """A DataTransfer's data read as a JSON object; ValueError naming what it should hold."""
    try:
        values = loads(data or "")
    except FrameError as exc:
        raise ValueError(f"expected a JSON object of {of_what}, got {short(data)} ({exc.cause})") from exc
    if not isinstance(values, dict):
        raise ValueError(f"expected a JSON object of {of_what}, got {short(data)}")
    return values


def _of_json_type(value: object, typ: type) -> bool:
    """A JSON value of ``typ``: a finite number (an integer for int; never a bool) or ``typ``."""
    if typ in (int, float):
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and (typ is float or float(value).is_integer())
        )
    return isinstance(value, typ)


_JSON_TYPE_NAMES = {str: "a string", float: "a number", int: "an integer", object: "a value"}


# -- OCPP-J frames (OCPP-J 1.6 §4) --------------------------------------------------------------
# The limits a frame from the other end must keep, else it is refused with a named error kind
# (bench/platform/errors.py FRAME_KINDS) and never reaches the ocpp library.
MAX_FRAME_BYTES = 65536  # default [dut.ocpp] max_frame_bytes: websockets' max_size (close 1009 above it)
MAX_NESTING = 32  # the deepest OCPP 1.6 message (SetChargingProfile, StopTransaction) nests 6 levels
MAX_INTEGER_DIGITS = 20  # OCPP integers are 32-bit; a 4000-digit number is no OCPP value
MAX_UNIQUE_ID = 36  # OCPP-J 1.6 §4.1.1: "maximum of 36 characters, to allow for GUIDs"
MESSAGE_TYPES = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR"}
MESSAGE_LENGTHS = {2: 4, 3: 3, 4: 5}
# OCPP-J 1.6 §4.2.3, the only error codes a CALLERROR may carry.
ERROR_CODES = (
    "NotImplemented",
    "NotSupported",
    "InternalError",
    "ProtocolError",
    "SecurityError",
    "FormationViolation",
    "PropertyConstraintViolation",
    "OccurenceConstraintViolation",
    "TypeConstraintViolation",
    "GenericError",
)
# The ocpp library raises some OCPP 2.0 names; the 1.6 name goes on the wire.
ERROR_CODES_16 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}


class FrameError(ValueError):
    """A frame that is refused: ``kind`` (a FRAME_KINDS name) and ``cause`` (one line).

    ``unique_id`` and ``error_code`` are set when the frame is a CALL that can be answered:
    the CALLERROR to send back (OCPP-J 1.6 §4.2.3)."""

    def __init__(self, kind: str, cause: str, unique_id: str | None = None, error_code: str | None = None):
        super().__init__(f"{kind}: {cause}")
        self.kind = kind
        self.cause = cause
        self.unique_id = unique_id
        self.error_code = error_code


_SPECIAL = re.compile(r'[\[\]{}"\\]')


def nesting_depth_exceeds(text: str, limit: int = MAX_NESTING) -> bool:
    """Whether JSON ``text`` nests arrays/objects deeper than ``limit``: one linear pass,
    no recursion (json.loads recurses and a 50,000-deep frame ends in RecursionError)."""
    depth, in_string, skip_to = 0, False, -1
    for match in _SPECIAL.finditer(text):
        at = match.start()
        if at < skip_to:
            continue  # the character after a backslash in a string
        char = text[at]
        if in_string:
            if char == "\\":
                skip_to = at + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _refuse_constant(name: str) -> NoReturn:
    raise FrameError("bad_number", f"{name} is not a JSON number (RFC 8259 §6)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise FrameError("bad_number", f"the number {short(text)} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise FrameError("bad_number", f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INTEGER_DIGITS})")
    return int(text)


def loads(text: str, max_depth: int = MAX_NESTING) -> Any:
    """JSON ``text`` → value, or FrameError (not_json, nesting_too_deep, bad_number,
    bad_string); never RecursionError or a bare ValueError."""
    if not isinstance(text, str):
        raise FrameError("wrong_type", f"expected JSON text, got {type(text).__name__}")
    if nesting_depth_exceeds(text, max_depth):
        raise FrameError("nesting_too_deep", f"arrays/objects nested deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except FrameError:
        raise
    except json.JSONDecodeError as exc:
        raise FrameError("not_json", f"Message is not valid JSON ({exc.msg} at character {exc.pos})") from None
    except RecursionError:  # belt and braces: nesting_depth_exceeds should have caught it
        raise FrameError("nesting_too_deep", "arrays/objects nested too deep to parse") from None
    except ValueError as exc:
        raise FrameError("bad_number", short(str(exc), 120)) from None
    _check_strings(value)
    return value


def _check_strings(value: object) -> None:
    """No lone surrogate (U+D800 … U+DFFF without its pair) anywhere: it is no Unicode character and
    cannot be written to a log or a report."""
    stack = [value]
    texts: Iterable[str]  # JSON object keys are strings
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            texts = (item,)
        elif isinstance(item, list):
            stack.extend(item)
            continue
        elif isinstance(item, dict):
            stack.extend(item.values())
            texts = item.keys()
        else:
            continue
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise FrameError("bad_string", "a string with a lone UTF-16 surrogate (no Unicode character)") from None


def parse_message(text: str) -> Call | CallResult | CallError:
    """One OCPP-J frame → the ocpp library's Call, CallResult or CallError, or FrameError.

    Stricter than ``ocpp.messages.unpack``: MessageTypeId an integer, exact element counts,
    UniqueId, Action and error code strings, payloads and error details objects."""
    value = loads(text)
    if not isinstance(value, list) or not value:
        raise FrameError("not_a_message", f"an OCPP-J message is a non-empty JSON array, got {_json_type(value)}")
    type_id = value[0]
    if type(type_id) is not int or type_id not in MESSAGE_TYPES:
        raise FrameError(
            "unknown_message_type", f"MessageTypeId {short(type_id)} is not 2 (CALL), 3 (CALLRESULT) or 4 (CALLERROR)"
        )
    name = MESSAGE_TYPES[type_id]
    unique_id = value[1] if len(value) > 1 else None
    answer = unique_id if type_id == 2 and isinstance(unique_id, str) else None

    def refuse(kind: str, cause: str, code: str = "FormationViolation") -> NoReturn:
        raise FrameError(kind, cause, answer, code if answer is not None else None)

    if len(value) != MESSAGE_LENGTHS[type_id]:
        refuse("wrong_length", f"a {name} has {MESSAGE_LENGTHS[type_id]} elements, this one {len(value)}")
    if not isinstance(unique_id, str):
        refuse("wrong_type", f"UniqueId must be a string, got {_json_type(unique_id)}")
    if not 0 < len(unique_id) <= MAX_UNIQUE_ID:
        refuse("bad_unique_id", f"UniqueId of {len(unique_id)} characters (1 … {MAX_UNIQUE_ID})")
    if type_id == 2:
        action, payload = value[2], value[3]
        if not isinstance(action, str):
            refuse("wrong_type", f"Action must be a string, got {_json_type(action)}")
        if not isinstance(payload, dict):
            refuse("wrong_type", f"the payload of {short(action, 40)} must be a JSON object, got {_json_type(payload)}")
        return Call(unique_id, action, payload)
    if type_id == 3:
        if not isinstance(value[2], dict):
            refuse("wrong_type", f"a CALLRESULT payload must be a JSON object, got {_json_type(value[2])}")
        return CallResult(unique_id, value[2])
    code, description, details = value[2], value[3], value[4]
    for what, item, typ in (
        ("errorCode", code, str),
        ("errorDescription", description, str),
        ("errorDetails", details, dict),
    ):
        if not isinstance(item, typ):
            refuse(
                "wrong_type",
                f"a CALLERROR {what} must be {_JSON_TYPE_NAMES.get(typ, 'a JSON object')}, got {_json_type(item)}",
            )
    return CallError(unique_id, code, description, details)


def call_error_frame(unique_id: str, code: str, description: str, cause: str | None = None) -> str:
    """The CALLERROR text answering a refused CALL (details carry the cause, shortened)."""
    details = {"cause": short(cause, 200, quote=False)} if cause else {}
    return json.dumps([4, unique_id, ERROR_CODES_16.get(code, code), description, details], separators=(",", ":"))


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {short(value)}"
    if isinstance(value, str):
        return f"the string {short(value)}"
    return "an array" if isinstance(value, list) else "an object"


def short(value: object, limit: int = 80, quote: bool = True) -> str:
    """A value for a one-line message: its repr (or text), cut to ``limit`` characters."""
    text = repr(value) if quote else str(value)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


# -- security profiles (OCPP 1.6 Security Whitepaper, edition 3) -------------------------------------
# Profile 1: HTTP Basic authentication over ws://; profile 2: the same over TLS (wss://), the
# Central System showing its server certificate. Username = the charge point identity; password
# = the AuthorizationKey: 16–20 bytes, written (and configured through ChangeConfiguration) as
# their hexadecimal digits, sent in the Basic credentials as the bytes themselves.
SECURITY_PROFILES = (0, 1, 2)
AUTHORIZATION_KEY_BYTES = (16, 20)
BASIC_REALM = "OCPP Central System"
# TLS 1.2 cipher suites the whitepaper names (TLS 1.3 suites are OpenSSL's defaults).
TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-GCM-SHA384"
)


class Secret:
    """A password held without showing it: repr and str never give the bytes."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes):
        self._value = bytes(value)

    def reveal(self) -> bytes:
        return self._value

    def matches(self, candidate: bytes) -> bool:
        return hmac.compare_digest(self._value, candidate)

    def matches_hex(self, candidate: bytes) -> bool:
        """Whether ``candidate`` is the key's hexadecimal digits (a pile that sends the
        configured text instead of the key's bytes)."""
        return hmac.compare_digest(self._value.hex().encode(), candidate.lower())

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret is not pickled")


def authorization_key(text: str) -> bytes:
    """The AuthorizationKey's bytes from its hexadecimal digits. The ValueError names what is
    wrong, never the text itself."""
    digits = "".join(text.split())
    low, high = AUTHORIZATION_KEY_BYTES
    expected = (
        f"expected the AuthorizationKey as {2 * low}–{2 * high} hexadecimal digits ({low}–{high} bytes, "
        "OCPP 1.6 security whitepaper)"
    )
    if not re.fullmatch(r"[0-9A-Fa-f]*", digits):
        raise ValueError(f"{expected}; the file holds characters that are not hexadecimal digits")
    if len(digits) % 2 or not 2 * low <= len(digits) <= 2 * high:
        raise ValueError(f"{expected}; the file holds {len(digits)} digits")
    return bytes.fromhex(digits)


def read_authorization_key(path: str | Path) -> Secret:
    """The AuthorizationKey in a password file; ValueError (content never shown) if unusable."""
    path = Path(path)
    try:
        data = path.read_bytes()[:4097]
    except OSError as exc:
        raise ValueError(f"cannot read the password file {path}: {exc.strerror or type(exc).__name__}") from None
    if len(data) > 4096:
        raise ValueError("expected the AuthorizationKey as hexadecimal digits; the file is larger than 4 KiB")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError("expected the AuthorizationKey as hexadecimal digits; the file is not ASCII text") from None
    return Secret(authorization_key(text))


def basic_auth_header(charge_point_id: str, key: Secret) -> str:
    """The Authorization header value a charge point sends (RFC 7617)."""
    if ":" in charge_point_id:
        raise ValueError("a charge point id with ':' cannot be a Basic authentication username")
    return "Basic " + base64.b64encode(charge_point_id.encode("utf-8") + b":" + key.reveal()).decode("ascii")


def parse_basic_auth(header: str) -> tuple[bytes, bytes]:
    """(username, password) bytes of an Authorization header value; ValueError naming what is
    wrong (never the credentials)."""
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise ValueError("the Authorization header is not HTTP Basic credentials")  # never quoted: it may be a password
    credentials = credentials.strip()
    if not credentials or len(credentials) > 1024:
        raise ValueError("Basic credentials empty or longer than 1024 characters")
    try:
        user_pass = base64.b64decode(credentials.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("Basic credentials that are not base64") from None
    username, colon, password = user_pass.partition(b":")
    if not colon:
        raise ValueError("Basic credentials without the ':' between username and password")
    return username, password
