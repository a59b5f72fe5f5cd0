"""Hostile replies to the SCPI reply parsers, fuzzed with hypothesis under a time bound.

Numbers (NR1/NR2/NR3 and anything else), the error-queue reply, *IDN?, and IEEE 488.2
definite-length blocks: truthful ones, headers that lie (more or fewer bytes than follow),
truncated blocks, trailing bytes, arbitrary bytes; then the same block and number replies
over a real pyvisa-py socket. Every bad input must be refused with a named error kind
(GarbledReply, BlockLengthMismatch, or InstrumentTimeout when nothing came at all); a plain
InstrumentError / BenchError or any other exception fails the test. Each test prints the
number of cases it tried.
"""

from __future__ import annotations

import math
import socket
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.core.errors import BlockLengthMismatch, GarbledReply, InstrumentError, InstrumentTimeout
from instruments.scpi import NR1, NRF, parse_error_reply, parse_identity, parse_integer, parse_number
from instruments.visa import VisaLink, read_definite_block
from tests.figures import record as record_figure

ROLE, QUERY, WHERE = "scope", ":WAV:DATA?", "TCPIP0::127.0.0.1::5025::SOCKET"
BUDGET_S = 2.0  # wall-clock time bound of one fuzz target (examples after it are not tried)
WIRE_BUDGET_S = 3.0
FUZZ = settings(max_examples=500, deadline=None, database=None, suppress_health_check=list(HealthCheck))
WIRE_FUZZ = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
NAMED = (GarbledReply, InstrumentTimeout)  # BlockLengthMismatch is a GarbledReply


class Tried:
    """Cases tried by one target, and its time bound."""

    def __init__(self, name: str, budget_s: float = BUDGET_S):
        self.name = name
        self.count = 0
        self.budget_s = budget_s
        self.deadline: float | None = None  # from the first case on (hypothesis may take a while to start)

    def next(self) -> bool:
        """False once the time bound has passed (the case is then not tried)."""
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.budget_s
        if now > self.deadline:
            return False
        self.count += 1
        return True

    def report(self) -> None:
        record_figure("fuzz cases tried", f"SCPI reply parsers, {self.name}", str(self.count))
        assert self.count >= 20, f"{self.name}: only {self.count} cases in the time bound"


def assert_named(error: BaseException, *kinds: type) -> None:
    """A named kind (not the generic InstrumentError, not an internal error), one line, naming
    the role."""
    kinds = kinds or NAMED
    assert isinstance(error, kinds) and type(error) is not InstrumentError, f"{type(error).__name__}: {error}"
    text = str(error)
    assert "\n" not in text and text.startswith(f"{ROLE}: "), text
    assert error.kind, f"{type(error).__name__} names no kind"


def outcome(fn, *args, **kwargs):
    """(result, None) or (None, the bench error); anything else than a BenchError propagates."""
    try:
        return fn(*args, **kwargs), None
    except InstrumentError as error:
        return None, error


# == numbers, the error query, *IDN? ===========================================================
def _nr(sign: str, whole: str, fraction: str | None, exponent: int | None, e: str) -> str:
    mantissa = whole + ("." + fraction if fraction is not None else "")
    if not whole and not fraction:
        mantissa = "0"
    return sign + mantissa + (f"{e}{exponent:+d}" if exponent is not None else "")


DIGIT_TEXT = st.text(alphabet="0123456789", max_size=14)
NR_TEXT = st.builds(
    _nr,
    st.sampled_from(["", "+", "-"]),
    DIGIT_TEXT,
    st.one_of(st.none(), DIGIT_TEXT),
    st.one_of(st.none(), st.integers(-400, 400)),
    st.sampled_from(["E", "e"]),
)
ANY_TEXT = st.one_of(
    st.text(max_size=40),
    NR_TEXT.map(lambda t: t + "x"),
    st.sampled_from(
        [
            "",
            " ",
            "1e400",
            "-1e999",
            "9.9E+37",
            "NAN",
            "nan",
            "INF",
            "-inf",
            "+INF",
            "1_000",
            "0x10",
            "١٢",
            "1.2.3",
            "+",
            "-",
            ".",
            "e5",
            "1e",
            "1,2",
            "\x00",
            "12\r",
            "  +3.5E-3  ",
            "Infinity",
            "--1",
        ]
    ),
)


def test_fuzz_numbers():
    tried = Tried("numbers")

    @FUZZ
    @given(st.one_of(ANY_TEXT, NR_TEXT))
    def check(reply):
        if not tried.next():
            return
        value, error = outcome(parse_number, ROLE, QUERY, reply)
        if error is not None:
            assert_named(error, GarbledReply)
            assert QUERY in str(error)
            return
        text = reply.strip()
        assert NRF.fullmatch(text) or text.upper() in ("NAN", "INF", "+INF", "-INF", "NINF"), reply
        if NRF.fullmatch(text):
            assert value == float(text) and math.isfinite(value)

    check()
    tried.report()


def test_fuzz_integers():
    tried = Tried("integers")

    @FUZZ
    @given(st.one_of(ANY_TEXT, NR_TEXT, st.integers().map(str)))
    def check(reply):
        if not tried.next():
            return
        value, error = outcome(parse_integer, ROLE, QUERY, reply)
        if error is not None:
            assert_named(error, GarbledReply)
            return
        text = reply.strip()
        assert isinstance(value, int) and NRF.fullmatch(text)
        if NR1.fullmatch(text):
            assert value == int(text)

    check()
    tried.report()


ERROR_REPLIES = st.one_of(
    st.text(max_size=60),
    st.builds(lambda code, text: f'{code:+d},"{text}"', st.integers(-999, 999), st.text(max_size=30)),
    st.builds(lambda a, b: f"{a},{b}", st.text(max_size=10), st.text(max_size=20)),
)


def test_fuzz_error_query_replies():
    tried = Tried("error-queue replies")

    @FUZZ
    @given(ERROR_REPLIES)
    def check(reply):
        if not tried.next():
            return
        parsed, error = outcome(parse_error_reply, ROLE, "SYST:ERR?", reply)
        if error is not None:
            assert_named(error, GarbledReply)
            return
        code, text = parsed
        assert code == int(reply.split(",")[0]) and isinstance(text, str)

    check()
    tried.report()


def test_fuzz_identity_replies():
    tried = Tried("*IDN? replies")

    @FUZZ
    @given(st.one_of(st.text(max_size=60), st.lists(st.text(max_size=12), max_size=7).map(",".join)))
    def check(reply):
        if not tried.next():
            return
        identity, error = outcome(parse_identity, ROLE, reply)
        if error is not None:
            assert_named(error, GarbledReply)
            return
        assert identity.maker and identity.model and identity.raw == reply

    check()
    tried.report()


# == definite-length blocks, from memory ======================================================
class Stream:
    """A reply as a reader sees it: ``read(n)`` gives n bytes or None (they never all came)."""

    def __init__(self, data: bytes):
        self.data = data
        self.at = 0

    def read(self, count: int) -> bytes | None:
        if self.at + count > len(self.data):
            self.at = len(self.data)
            return None
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def waiting(self) -> int:
        return len(self.data) - self.at


def header(length: int, digits: int | None = None) -> bytes:
    text = str(length)
    width = max(digits or len(text), len(text))
    return b"#" + str(width).encode() + text.zfill(width).encode()


def read_block(data: bytes):
    stream = Stream(data)
    return outcome(
        read_definite_block, stream.read, stream.waiting, role=ROLE, command=QUERY, where=WHERE, timeout_s=2.0
    )


PAYLOADS = st.binary(max_size=300)
DIGITS = st.one_of(st.none(), st.integers(1, 9))


def test_fuzz_truthful_blocks_come_back_whole():
    tried = Tried("truthful blocks")

    @FUZZ
    @given(PAYLOADS, DIGITS)
    def check(payload, digits):
        if not tried.next():
            return
        data, error = read_block(header(len(payload), digits) + payload + b"\n")
        assert error is None, error
        assert data == payload

    check()
    tried.report()


def test_fuzz_headers_that_lie():
    tried = Tried("block headers that lie")

    @FUZZ
    @given(PAYLOADS, st.integers(0, 400), DIGITS)
    def check(payload, claimed, digits):
        if claimed == len(payload) or not tried.next():
            return
        data, error = read_block(header(claimed, digits) + payload + b"\n")
        assert error is not None, f"a header claiming {claimed} bytes for {len(payload)} was believed"
        assert_named(error, BlockLengthMismatch)
        assert str(claimed) in str(error) or "more byte" in str(error) or "past" in str(error), str(error)

    check()
    tried.report()


def test_fuzz_truncated_blocks():
    tried = Tried("truncated blocks")

    @FUZZ
    @given(PAYLOADS, DIGITS, st.data())
    def check(payload, digits, data):
        whole = header(len(payload), digits) + payload + b"\n"
        cut = data.draw(st.integers(1, len(whole) - 1))
        if not tried.next():
            return
        _, error = read_block(whole[:cut])
        assert error is not None, f"a block cut at {cut} of {len(whole)} bytes was taken"
        assert_named(error, BlockLengthMismatch)

    check()
    tried.report()


def test_fuzz_blocks_followed_by_more_bytes():
    tried = Tried("blocks with trailing bytes")

    @FUZZ
    @given(PAYLOADS, DIGITS, st.binary(min_size=1, max_size=50))
    def check(payload, digits, trailer):
        if not tried.next():
            return
        _, error = read_block(header(len(payload), digits) + payload + b"\n" + trailer)
        assert error is not None
        assert_named(error, BlockLengthMismatch)

    check()
    tried.report()


BLOCKISH = st.one_of(
    st.binary(max_size=80),
    st.builds(lambda d, rest: b"#" + d + rest, st.binary(min_size=1, max_size=1), st.binary(max_size=40)),
    st.builds(
        lambda n, digits, rest: b"#" + str(n).encode() + digits.encode() + rest,
        st.integers(0, 9),
        st.text(alphabet="0123456789a +-", max_size=12),
        st.binary(max_size=40),
    ),
)


def test_fuzz_anything_as_a_block():
    tried = Tried("arbitrary bytes as a block")

    @FUZZ
    @given(BLOCKISH)
    def check(raw):
        if not tried.next():
            return
        data, error = read_block(raw)
        if error is None:  # then it was exactly one truthful block
            assert raw == header(len(data), int(raw[1:2])) + data + b"\n"
            return
        assert_named(error)
        if not raw:
            assert isinstance(error, InstrumentTimeout)
        else:
            assert isinstance(error, GarbledReply)

    check()
    tried.report()


# == over a real socket (pyvisa-py) ===========================================================
class ReplyServer:
    """Answers each line it receives with the next scripted reply (bytes as they are), and
    keeps the connection open until the client closes it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.reply = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def resource(self) -> str:
        return f"TCPIP0::127.0.0.1::{self.sock.getsockname()[1]}::SOCKET"

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn):
        buffer = b""
        with conn:
            while True:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    _, buffer = buffer.split(b"\n", 1)
                    try:
                        conn.sendall(self.reply)
                    except OSError:
                        return

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def server():
    server = ReplyServer()
    yield server
    server.close()


def ask(server, reply: bytes, fn):
    server.reply = reply
    link = VisaLink(ROLE, server.resource, "@py", timeout_s=0.05)
    link.open()
    try:
        return outcome(fn, link)
    finally:
        link.close()


def test_fuzz_blocks_over_the_wire(server):
    tried = Tried("blocks over pyvisa-py", WIRE_BUDGET_S)

    @WIRE_FUZZ
    @given(
        st.one_of(
            st.builds(lambda p, d: header(len(p), d) + p + b"\n", PAYLOADS, DIGITS),
            st.builds(lambda p, c: header(c) + p + b"\n", PAYLOADS, st.integers(0, 400)),
            BLOCKISH.filter(lambda raw: raw.endswith(b"\n")),
        )
    )
    def check(raw):
        if not tried.next():
            return
        data, error = ask(server, raw, lambda link: link.query_raw_block(QUERY))
        if error is None:
            assert raw == header(len(data), int(raw[1:2])) + data + b"\n"
        else:
            assert_named(error)

    check()
    tried.report()


def test_fuzz_numbers_over_the_wire(server):
    tried = Tried("numbers over pyvisa-py", WIRE_BUDGET_S)

    @WIRE_FUZZ
    @given(
        st.one_of(st.binary(max_size=30), NR_TEXT.map(str.encode), ANY_TEXT.map(lambda t: t.encode("utf-8"))).map(
            lambda raw: raw.replace(b"\n", b"") + b"\n"
        )
    )
    def check(raw):
        if not tried.next():
            return
        value, error = ask(server, raw, lambda link: parse_number(ROLE, QUERY, link.query(QUERY)))
        if error is not None:
            assert_named(error, GarbledReply)
        else:
            assert isinstance(value, float)

    check()
    tried.report()
