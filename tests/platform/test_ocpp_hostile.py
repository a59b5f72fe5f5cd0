"""Issue 8, item 5 (part): hostile OCPP input. A pile (or anything that reaches the Central
System's port) sends deep nesting, huge frames, wrong types, unknown actions, broken numbers
and strings, junk answers to the bench's calls and junk credentials. Each one gives an error
with a named kind (bench/platform/errors.py FRAME_KINDS, SECURITY_KINDS) recorded in the
platform log, a CALLERROR per OCPP-J 1.6 §4.2.3 where the frame can be answered, and never a
traceback on stderr, a log record of the libraries, an exception in a thread or a generic or
internal kind. The connection stays usable, except after a frame above max_frame_bytes
(closed with 1009, the pile reconnects).

Fuzzed with hypothesis under a time bound per target (``FUZZ_BUDGET_S``); each fuzz test
prints the cases it tried and the kinds they ended in.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.core.profile import OcppEndpoint
from bench.platform.errors import (
    CALL_KINDS,
    FRAME_KINDS,
    GENERIC_KINDS,
    SECURITY_KINDS,
    PlatformError,
    PlatformLost,
    PlatformProtocolError,
)
from bench.platform.log import MessageLog
from bench.platform.ocpp import OcppChannel
from bench.platform.ocpp_session import ACTIONS
from bench.protocols.platform import ocpp_mapping as m
from bench.protocols.platform.loop_thread import LoopThread
from tests.figures import record as record_figure
from tests.platform.raw_charge_point import RawChargePoint, wait_for
from tests.support.transcript import new_clock

ROOT = Path(__file__).resolve().parents[2]
CP_ID = "CP-0001"
FUZZ_BUDGET_S = 5.0  # real seconds per fuzz target (cases after it are skipped); the cases tried are printed
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
OCPP16_CODES = set(m.ERROR_CODES) - {"InternalError", "GenericError"}
CP_ACTIONS = (
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
    "SecurityEventNotification",
)
FIELDS = (
    "connectorId",
    "errorCode",
    "status",
    "timestamp",
    "meterValue",
    "sampledValue",
    "value",
    "unit",
    "measurand",
    "idTag",
    "meterStart",
    "meterStop",
    "transactionId",
    "reason",
    "vendorId",
    "messageId",
    "data",
    "chargePointVendor",
    "chargePointModel",
    "info",
    "vendorErrorCode",
    "type",
    "techInfo",
)


# -- the rig: a Central System, a hand-driven pile, and what must never happen ------------------
class Watch:
    """Everything that must stay silent: stderr (fd level), the libraries' loggers, threads."""

    def __init__(self, capfd, caplog, monkeypatch):
        self.capfd, self.caplog = capfd, caplog
        self.thread_errors: list[str] = []
        monkeypatch.setattr(
            threading,
            "excepthook",
            lambda args: self.thread_errors.append(
                f"{args.exc_type.__name__} in {args.thread.name if args.thread else '?'}"
            ),
        )
        for name in ("websockets.server", "ocpp", "asyncio"):  # the server side's libraries, every level
            caplog.set_level(logging.DEBUG, logger=name)

    def assert_silent(self) -> None:
        out, err = self.capfd.readouterr()
        sys.stdout.write(out)  # what the test printed stays in its report
        assert "Traceback" not in err and "Error" not in err, err[-2000:]
        # The Central System logs through loggers of its own: nothing of the server side (at any
        # level: websockets logs headers at DEBUG) and no warning of anyone reaches logging.
        loud = [
            f"{r.name}: {r.getMessage()[:200]}"
            for r in self.caplog.records
            if r.levelno >= logging.WARNING or r.name.startswith(("websockets.server", "ocpp"))
        ]
        assert loud == [], loud[:5]
        assert self.thread_errors == []


@pytest.fixture
def watch(capfd, caplog, monkeypatch):
    return Watch(capfd, caplog, monkeypatch)


@pytest.fixture
def central_system():
    opened: list = []

    def build(
        max_frame_bytes: int = m.MAX_FRAME_BYTES,
        security_profile: int = 0,
        password_file=None,
        call_timeout_s: float = 2.0,
    ) -> tuple[OcppChannel, MessageLog]:
        log = MessageLog()
        endpoint = OcppEndpoint(
            "127.0.0.1",
            0,
            CP_ID,
            security_profile=security_profile,
            password_file=password_file,
            max_frame_bytes=max_frame_bytes,
        )
        channel = OcppChannel(endpoint, new_clock(), log, rated_power_w=60_000.0, call_timeout_s=call_timeout_s)
        opened.append(channel)
        return channel, log

    yield build
    for channel in opened:
        channel.close()


class Pile:
    """A RawChargePoint that sends a frame, then a Heartbeat probe, and waits for the probe's
    answer: the Central System handles one connection's frames in order, so by then it has
    handled the frame. ``answers`` are the frames the Central System sent back in between."""

    def __init__(self, channel: OcppChannel):
        self.channel = channel
        self.raw: RawChargePoint | None = None
        self.count = itertools.count(1)
        self.reconnects = 0

    def connect(self) -> None:
        if self.raw is not None:
            self.raw.close()
            self.reconnects += 1
        self.raw = RawChargePoint(self.channel.url)
        self.raw.connect()
        wait_for(lambda: self.channel.connected)

    def exchange(self, frame: str | bytes) -> list:
        probe = f"probe{next(self.count)}"
        self.raw.received.clear()
        self.raw.send(frame)
        self.raw.send(f'[2,"{probe}","Heartbeat",{{}}]')
        wait_for(lambda: any(f'"{probe}"' in text for text in list(self.raw.received)))
        return [json.loads(text) for text in list(self.raw.received) if f'"{probe}"' not in text]

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()


def assert_named(errors: list[PlatformError], allowed=FRAME_KINDS) -> None:
    for error in errors:
        assert error.kind in allowed and error.kind not in GENERIC_KINDS, f"{error.kind!r}: {error}"
        assert f"): {error.kind}: " in str(error) and error.detail.startswith(f"{error.kind}: ")


def logged(log: MessageLog, error: PlatformError) -> bool:
    """The error's line in the platform log, with its kind: ``error: <class>: <kind>: …``."""
    line = f"error: {type(error).__name__}: {error.detail}"
    return any(record.text == line for record in log.records)


# -- the headline cases, each on its own ---------------------------------------------------------
DEEP_50K = "[" * 50000 + "]" * 50000
RESULT = "CALLRESULT"  # a value the bench cannot use in a valid message: answered, then refused
SINGLE_CASES = {
    # name: (frame, the kind, the answer: a CALLERROR code, RESULT (a CALLRESULT) or None (no answer))
    "50,000 deep (above max_frame_bytes)": (DEEP_50K, "frame_too_large", None),
    "50,000 open brackets": ("[" * 50000, "nesting_too_deep", None),
    "deep objects": ('{"a":' * 5000 + "1" + "}" * 5000, "nesting_too_deep", None),
    "deep payload of a CALL": ('[2,"d1","Heartbeat",' + '{"a":' * 40 + "1" + "}" * 40 + "]", "nesting_too_deep", None),
    "deep JSON inside DataTransfer data": (
        json.dumps(
            [
                2,
                "d2",
                "DataTransfer",
                {"vendorId": m.VENDOR_ID, "messageId": m.BMS_INFO, "data": "[" * 30000 + "]" * 30000},
            ]
        ),
        "bad_value",
        RESULT,
    ),
    "huge frame": ('[2,"h1","DataTransfer",{"vendorId":"x","data":"' + "x" * 200_000 + '"}]', "frame_too_large", None),
    "unknown action": ('[2,"u1","OpenTheVault",{}]', "unknown_action", "NotImplemented"),
    "action for a charge point": (
        '[2,"u2","RemoteStopTransaction",{"transactionId":1}]',
        "unsupported_action",
        "NotSupported",
    ),
    "payload field of the wrong type": (
        '[2,"t1","StatusNotification",{"connectorId":"1","errorCode":"NoError","status":"Available"}]',
        "wrong_type",
        "TypeConstraintViolation",
    ),
    "payload not an object": ('[2,"t2","Heartbeat",[]]', "wrong_type", "FormationViolation"),
    "UniqueId not a string": ('[2,7,"Heartbeat",{}]', "wrong_type", None),
    "MessageTypeId 2.0": ('[2.0,"t3","Heartbeat",{}]', "unknown_message_type", None),
    "MessageTypeId true": ('[true,"t4","Heartbeat",{}]', "unknown_message_type", None),
    "a CALL of three elements": ('[2,"t5","Heartbeat"]', "wrong_length", "FormationViolation"),
    "unknown field": ('[2,"t6","Heartbeat",{"surprise":1}]', "schema_violation", "FormationViolation"),
    "missing field": ('[2,"t7","StartTransaction",{"connectorId":1}]', "missing_field", "ProtocolError"),
    "a UniqueId of 37 characters": ('[2,"' + "u" * 37 + '","Heartbeat",{}]', "bad_unique_id", "FormationViolation"),
    "NaN": ('[2,"n1","Heartbeat",{"x":NaN}]', "bad_number", None),
    "1e999": ('[2,"n2","MeterValues",{"connectorId":1e999,"meterValue":[]}]', "bad_number", None),
    "a 4000-digit integer": (
        '[2,"n3","MeterValues",{"connectorId":' + "9" * 4000 + ',"meterValue":[]}]',
        "bad_number",
        None,
    ),
    "a lone surrogate": ('[2,"s1","Authorize",{"idTag":"\\ud800"}]', "bad_string", None),
    "not JSON": ("{this is not an OCPP frame", "not_json", None),
    "not an array": ('{"a":1}', "not_a_message", None),
    "binary frame": (b"\x00\x01\x02", "binary_frame", None),
    "an answer to nothing": ('[3,"never-sent",{}]', "unexpected_response", None),
    "a timestamp that is no time": (
        '[2,"v1","StartTransaction",{"connectorId":1,"idTag":"A","meterStart":0,"timestamp":"yesterday"}]',
        "bad_value",
        RESULT,
    ),
    "a meter value that is no number": (
        '[2,"v2","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":'
        '"2026-01-05T01:00:00Z","sampledValue":[{"value":"four hundred","measurand":'
        '"Voltage"}]}]}]',
        "bad_value",
        RESULT,
    ),
}


@pytest.mark.parametrize("case", list(SINGLE_CASES))
def test_a_hostile_frame_is_a_named_error_in_the_log(central_system, watch, case):
    frame, kind, code = SINGLE_CASES[case]
    channel, log = central_system()
    pile = Pile(channel)
    pile.connect()
    try:
        if kind == "frame_too_large":
            pile.raw.received.clear()
            pile.raw.send(frame)
            wait_for(lambda: channel.frame_errors)
            wait_for(lambda: not channel.connected)
            pile.connect()  # the pile reconnects; the channel is usable again
            answers = []
        else:
            answers = pile.exchange(frame)
        errors = list(channel.frame_errors)
        assert [e.kind for e in errors] == [kind], [str(e) for e in errors]
        assert_named(errors)
        assert logged(log, errors[0]), log.text()[-2000:]
        if code is None:
            assert answers == []
        elif code == RESULT:
            assert len(answers) == 1 and answers[0][0] == 3, answers
        else:
            assert len(answers) == 1 and answers[0][0] == 4 and answers[0][2] == code, answers
        if kind in ("unknown_action", "unsupported_action"):
            assert channel.errors == []  # answered and logged; not the pile's failure
        elif code == RESULT:  # a value of a message the bench accepted: kept with it, never raised later
            assert channel.errors == [] and channel.findings == errors
        else:
            with pytest.raises(PlatformProtocolError) as caught:  # raised once, from the next call
                channel.change_configuration("HeartbeatInterval", "300")
            assert caught.value is errors[0] and "\n" not in str(caught.value)
        assert channel.connected
    finally:
        pile.close()
    watch.assert_silent()


def test_50000_deep_within_the_frame_limit_is_refused_by_the_depth_guard(central_system, watch):
    channel, log = central_system(max_frame_bytes=1 << 20)
    pile = Pile(channel)
    pile.connect()
    try:
        assert pile.exchange(DEEP_50K) == []
        assert [e.kind for e in channel.frame_errors] == ["nesting_too_deep"]
        assert (
            "nesting_too_deep: malformed OCPP frame from charge point 'CP-0001': arrays/objects nested deeper "
            "than 32 levels" in log.text()
        )
    finally:
        pile.close()
    watch.assert_silent()


def test_hostile_frames_leave_stderr_empty_outside_pytest(tmp_path):
    """The bug as reported: no logging configured, so a library's traceback would land on stderr."""
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        from bench.core.profile import OcppEndpoint
        from bench.platform.log import MessageLog
        from bench.platform.ocpp import OcppChannel
        from tests.platform.raw_charge_point import RawChargePoint, wait_for
        from tests.support.transcript import new_clock

        channel = OcppChannel(OcppEndpoint("127.0.0.1", 0, "CP-1", max_frame_bytes=1 << 20), new_clock(), MessageLog(),
                              rated_power_w=6e4, call_timeout_s=1.0)
        raw = RawChargePoint(channel.url)
        raw.connect()
        channel.wait_connected(5)
        frames = json.loads(sys.stdin.read())
        for number, frame in enumerate(frames):
            raw.send(frame)
            raw.send('[2,"p%d","Heartbeat",{{}}]' % number)
            wait_for(lambda: any('"p%d"' % number in r for r in raw.received))
        print(json.dumps([e.kind for e in channel.frame_errors]))
        raw.close()
        channel.close()
    """)
    frames = [
        DEEP_50K,
        "[" * 50000,
        '[2,"a","OpenTheVault",{}]',
        '[2,"b","Heartbeat",[]]',
        '[2,"c","Heartbeat",{"x":NaN}]',
        '[2,"d","StatusNotification",{"connectorId":"1","errorCode":"NoError","status":"Available"}]',
        '[3,"e",{}]',
        "{not json",
    ]
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(frames),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    assert json.loads(done.stdout) == [
        "nesting_too_deep",
        "nesting_too_deep",
        "unknown_action",
        "wrong_type",
        "bad_number",
        "wrong_type",
        "unexpected_response",
        "not_json",
    ]


def test_invalid_utf8_in_a_text_frame_is_named(central_system, watch):
    channel, log = central_system()
    pile = Pile(channel)
    pile.connect()
    try:

        async def send_invalid():
            pile.raw._websocket.protocol.send_text(b'[2,"x","\xff\xfe",{}]')
            pile.raw._websocket.send_data()

        pile.raw._loop.run(send_invalid(), 5.0)
        wait_for(lambda: channel.frame_errors and not channel.connected)
        assert [e.kind for e in channel.frame_errors] == ["invalid_utf8"]
        assert "invalid_utf8: charge point 'CP-0001' sent a frame" in log.text() and "closed (1007)" in log.text()
    finally:
        pile.raw._loop.stop()
    watch.assert_silent()


# -- fuzz targets -----------------------------------------------------------------------------------
def _scalars():
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    )


def _json(max_leaves: int = 12):
    return st.recursive(
        _scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), inner, max_size=4),
        ),
        max_leaves=max_leaves,
    )


@st.composite
def _deep(draw) -> tuple[str, bool]:
    opener = draw(st.sampled_from(["[", '{"a":', '[2,"x","Heartbeat",']))
    closer = {"[": "]", '{"a":': "}", '[2,"x","Heartbeat",': "]"}[opener]
    most = (m.MAX_FRAME_BYTES - 16) // (len(opener) + 1)  # within the frame limit: the depth guard's turn
    depth = draw(st.integers(min_value=m.MAX_NESTING + 1, max_value=most))
    balanced = draw(st.booleans())
    return opener * depth + ("1" + closer * depth if balanced else ""), True


@st.composite
def _ocpp_shaped(draw) -> tuple[str, bool]:
    type_id = draw(st.sampled_from([2, 2, 2, 3, 4]) | _scalars())
    unique_id = draw(st.text(min_size=1, max_size=40) | _scalars())
    action = draw(st.sampled_from(sorted(ACTIONS)) | st.sampled_from(CP_ACTIONS) | st.text(max_size=20) | _scalars())
    payload = draw(st.dictionaries(st.sampled_from(FIELDS), _json(6), max_size=5) | _json(6))
    message = draw(
        st.sampled_from(
            [
                [type_id, unique_id, action, payload],
                [type_id, unique_id, action],
                [type_id, unique_id, payload],
                [type_id, unique_id, action, payload, payload],
                [type_id, unique_id, "GenericError", action, payload],
            ]
        )
    )
    return json.dumps(message, allow_nan=False), False


@st.composite
def _valid_action_bad_payload(draw) -> tuple[str, bool]:
    action = draw(st.sampled_from(CP_ACTIONS))
    payload = draw(st.dictionaries(st.sampled_from(FIELDS), _json(6), max_size=6))
    return json.dumps([2, draw(st.text(min_size=1, max_size=36)), action, payload], allow_nan=False), False


@st.composite
def _broken_literals(draw) -> tuple[str, bool]:
    literal = draw(
        st.sampled_from(
            ["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "9" * 30, '"\\udc00"', '"\\ud83d"', '"a\\ud800b"']
        )
    )
    where = draw(
        st.sampled_from(
            [
                '[2,"b1","Heartbeat",{"x":%s}]',
                '[%s,"b2","Heartbeat",{}]',
                "[3,%s,{}]",
                '[2,"b3","DataTransfer",{"vendorId":%s}]',
            ]
        )
    )
    return where % literal, True


@st.composite
def _mutated(draw) -> tuple[str, bool]:
    good = draw(
        st.sampled_from(
            [
                '[2,"g1","Heartbeat",{}]',
                '[2,"g2","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available",'
                '"timestamp":"2026-01-05T01:00:00.000Z"}]',
                '[2,"g3","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-01-05T01:00:00.000Z",'
                '"sampledValue":[{"value":"400.0","measurand":"Voltage","unit":"V"}]}]}]',
                '[2,"g4","DataTransfer",{"vendorId":"org.chargerbench","messageId":"BmsInfo","data":"{\\"vin\\":\\"X\\"}"}]',
            ]
        )
    )
    at = draw(st.integers(0, len(good)))
    cut = draw(st.integers(0, 4))
    return good[:at] + draw(st.text(max_size=6)) + good[at + cut :], False


FRAMES = st.one_of(
    _deep(),
    _ocpp_shaped(),
    _valid_action_bad_payload(),
    _broken_literals(),
    _mutated(),
    st.text(max_size=60).map(lambda t: (t, False)),
    _json().map(lambda v: (json.dumps(v), False)),
)


def _budgeted(budget_s: float):
    """A stop watch for a fuzz target, started by its first example (hypothesis may take a while
    to begin): later examples are skipped (not counted) once it runs out."""
    started: list[float] = []

    def out_of_time() -> bool:
        if not started:
            started.append(time.monotonic())
        return time.monotonic() - started[0] > budget_s

    return out_of_time


def _print_tried(target: str, tried: int, seconds: float, kinds: dict[str, int]) -> None:
    seen = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    record_figure("fuzz cases tried", f"OCPP, {target}", f"{tried} in {seconds:.1f} s; kinds: {seen or 'none'}")


def test_fuzz_frames_from_the_pile(central_system, watch):
    channel, log = central_system()
    pile = Pile(channel)
    pile.connect()
    out_of_time = _budgeted(FUZZ_BUDGET_S)
    tried, kinds, started = 0, {}, time.monotonic()

    @FUZZ
    @given(FRAMES)
    def case(generated):
        nonlocal tried
        frame, surely_bad = generated
        if out_of_time():
            return
        before = len(channel.frame_errors)
        if len(frame.encode("utf-8")) > channel.max_frame_bytes:
            return  # the huge-frame target covers these
        answers = pile.exchange(frame)
        new = channel.frame_errors[before:]
        assert_named(new)
        for error in new:
            kinds[error.kind] = kinds.get(error.kind, 0) + 1
            assert logged(log, error)
        if surely_bad:
            assert new, f"no error for {frame[:80]!r}"
        for answer in answers:  # every CALLERROR the Central System sent names an OCPP-J 1.6 code
            assert answer[0] == 3 or (answer[0] == 4 and answer[2] in OCPP16_CODES), answer
        assert channel.connected
        tried += 1

    try:
        case()
        assert not [e for e in channel.errors if not isinstance(e, PlatformProtocolError)]  # never lost
    finally:
        pile.close()
    _print_tried("frames from the pile", tried, time.monotonic() - started, kinds)
    assert tried >= 50
    watch.assert_silent()


def test_fuzz_huge_frames(central_system, watch):
    channel, log = central_system(max_frame_bytes=4096)
    pile = Pile(channel)
    pile.connect()
    out_of_time = _budgeted(FUZZ_BUDGET_S / 2)
    tried, kinds, started = 0, {}, time.monotonic()

    @settings(FUZZ, max_examples=60)
    @given(size=st.integers(1024, 40_000), filler=st.sampled_from(["x", "é", "[", '\\"', "€"]))
    def case(size, filler):
        nonlocal tried
        if out_of_time():
            return
        before = len(channel.frame_errors)
        frame = '[2,"big","DataTransfer",{"vendorId":"org.chargerbench","data":"' + filler * size + '"}]'
        too_large = len(frame.encode("utf-8")) > channel.max_frame_bytes
        if too_large:
            pile.raw.send(frame)
            wait_for(lambda: len(channel.frame_errors) > before and not channel.connected)
            pile.connect()
        else:
            pile.exchange(frame)
        new = channel.frame_errors[before:]
        assert_named(new)
        assert [e.kind for e in new if e.kind == "frame_too_large"] == (["frame_too_large"] if too_large else [])
        for error in new:
            kinds[error.kind] = kinds.get(error.kind, 0) + 1
            assert logged(log, error)
        tried += 1

    try:
        case()
        assert not [e for e in channel.errors if not isinstance(e, PlatformProtocolError)]  # 1009 is no loss
    finally:
        pile.close()
    _print_tried("huge frames", tried, time.monotonic() - started, kinds)
    assert tried >= 10 and kinds.get("frame_too_large", 0) >= 1
    watch.assert_silent()


class _AnsweringPile:
    """Answers every CALL of the Central System with the text ``reply(unique_id)`` gives."""

    def __init__(self, url: str):
        self.url = url
        self.reply = lambda unique_id: None
        self._loop = LoopThread("hostile-answers")
        self._websocket = None

    def connect(self) -> None:
        async def open_():
            return await websockets.connect(self.url, subprotocols=[m.SUBPROTOCOL], proxy=None, ping_interval=None)

        self._websocket = self._loop.run(open_(), 5.0)
        self._loop.submit(self._answer())

    async def _answer(self) -> None:
        try:
            async for frame in self._websocket:
                message = json.loads(frame)
                if message[0] == 2:
                    text = self.reply(message[1])
                    if text is not None:
                        await self._websocket.send(text)
        except websockets.ConnectionClosed:
            pass

    def close(self) -> None:
        if self._websocket is not None:
            self._loop.run(self._websocket.close(), 5.0)
        self._loop.stop()


@st.composite
def _answers(draw):
    """(reply maker, whether the bench can tell it is an answer at all)."""
    kind = draw(st.sampled_from(["result"] * 3 + ["error"] * 3 + ["junk"]))  # junk costs a call timeout
    if kind == "result":
        payload = draw(
            st.dictionaries(
                st.sampled_from(["status", "data", "currentTime", "extra"]),
                st.sampled_from(["Accepted", "Rejected", "Bogus", ""]) | _scalars(),
                max_size=3,
            )
        )
        return (lambda uid: json.dumps([3, uid, payload], allow_nan=False)), True
    if kind == "error":
        code = draw(st.sampled_from(sorted(m.ERROR_CODES)) | st.text(max_size=20))
        description = draw(st.text(max_size=300))
        details = draw(st.dictionaries(st.text(max_size=5), _scalars(), max_size=2))
        return (lambda uid: json.dumps([4, uid, code, description, details])), True
    junk, _ = draw(
        st.one_of(
            _deep(),
            _broken_literals(),
            st.text(max_size=30).map(lambda t: (t, False)),
            st.just(('[3,"someone-else",{}]', False)),
        )
    )
    return (lambda uid: junk), False


def test_fuzz_answers_to_the_bench_calls(central_system, watch):
    channel, log = central_system(call_timeout_s=0.5)
    pile = _AnsweringPile(channel.url)
    pile.connect()
    wait_for(lambda: channel.connected)
    out_of_time = _budgeted(FUZZ_BUDGET_S)
    allowed = set(FRAME_KINDS) | set(CALL_KINDS)
    tried, kinds, started = 0, {}, time.monotonic()

    @FUZZ
    @given(_answers(), st.sampled_from(["start", "wake_vehicle", "read_clock", "bms_info", "set_power_limit"]))
    def case(answer, command):
        nonlocal tried
        reply, answerable = answer
        if out_of_time():
            return
        try:
            channel.events(refresh=False)  # drops what earlier cases left pending
        except PlatformError:
            pass
        pile.reply = reply
        before = len(channel.frame_errors)
        lost = False
        try:
            if command == "set_power_limit":
                channel.set_power_limit(7000)
            else:
                getattr(channel, command)()
        except PlatformError as error:
            assert_named([error], allowed)
            assert "\n" not in str(error)
            lost = isinstance(error, PlatformLost)
            kinds[error.kind] = kinds.get(error.kind, 0) + 1
        new = channel.frame_errors[before:]
        assert_named(new)
        if lost and answerable:  # an answer ends the call at once, unless its frame was refused
            assert new, "an answer was ignored"
        for error in new:
            kinds[error.kind] = kinds.get(error.kind, 0) + 1
            assert logged(log, error)
        assert channel.connected
        tried += 1

    try:
        case()
    finally:
        pile.close()
    _print_tried("answers to the bench's calls", tried, time.monotonic() - started, kinds)
    assert tried >= 20
    watch.assert_silent()


def test_fuzz_basic_credentials(central_system, watch, tmp_path):
    key = bytes(range(0x30, 0x44))  # 20 bytes
    (tmp_path / "pile.key").write_text(key.hex())
    channel, log = central_system(security_profile=1, password_file=tmp_path / "pile.key")
    loop = LoopThread("fuzz-credentials")
    out_of_time = _budgeted(FUZZ_BUDGET_S / 2)
    tried, kinds, started = 0, {}, time.monotonic()
    printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)

    async def attempt(header: str | None) -> int:
        headers = {} if header is None else {"Authorization": header}
        try:
            async with websockets.connect(
                channel.url, subprotocols=[m.SUBPROTOCOL], additional_headers=headers, proxy=None, open_timeout=5
            ):
                return 101
        except websockets.InvalidStatus as exc:
            return exc.response.status_code

    def basic(username: bytes, password: bytes) -> str:
        return "Basic " + base64.b64encode(username + b":" + password).decode()

    @settings(FUZZ, max_examples=200)
    @given(
        st.one_of(
            printable,
            printable.map(lambda t: "Basic " + t),
            st.tuples(st.binary(max_size=24), st.binary(max_size=24)).map(lambda up: basic(*up)),
            st.binary(min_size=1, max_size=24).map(lambda pw: basic(CP_ID.encode(), pw)),
            st.binary(min_size=1, max_size=40).map(lambda raw: "Basic " + base64.b64encode(raw).decode()),
            st.none(),
        )
    )
    def case(header):
        nonlocal tried
        if out_of_time():
            return
        before = len(channel.security_events)
        status = loop.run(attempt(header), 10.0)
        assert status == 401, (status, header)
        new = channel.security_events[before:]
        assert len(new) == 1, new
        assert_named(new, SECURITY_KINDS)
        assert logged(log, new[0])
        credentials = (header or "").split(" ", 1)[-1]
        if len(credentials) >= 12:  # the credentials are never logged (shorter ones may occur by chance)
            assert credentials not in "\n".join(record.text for record in log.records)
        kinds[new[0].kind] = kinds.get(new[0].kind, 0) + 1
        tried += 1

    try:
        case()
    finally:
        loop.stop()
    _print_tried("Basic credentials", tried, time.monotonic() - started, kinds)
    assert tried >= 20 and key.hex() not in log.text()
    watch.assert_silent()
