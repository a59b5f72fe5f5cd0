"""`bench decode` on hostile files: random bytes in each format, candump lines with random
damage. Each file decodes or is refused with one ProtocolError that names its reason in the
format's terms; a bare Python message ("not enough values to unpack") is no reason, and any
other exception fails. Fuzzed with hypothesis under a time bound; prints the cases tried."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.core.errors import ProtocolError
from bench.protocols.gbt27930.decode import decode_trace

PYTHON_WORDS = (
    "Error:",
    "unpack",
    "attribute",
    "invalid literal",
    "out of range",
    "Traceback",
    "NoneType",
    "expected",
    "argument",
)
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
GOOD_LINE = "(1703560121.247259) can0 1826F456#010100"


def decoded_or_named(path) -> None:
    try:
        decode_trace(path)
    except ProtocolError as error:
        text = str(error)
        assert "\n" not in text and str(path) in text, text
        assert not any(word in text for word in PYTHON_WORDS), f"no reason given: {text}"


@pytest.mark.parametrize("suffix", [".log", ".asc", ".blf"])
def test_random_bytes(tmp_path, suffix, figures):
    tried = 0

    @FUZZ
    @given(data=st.binary(max_size=1500))
    def one(data):
        nonlocal tried
        tried += 1
        path = tmp_path / f"trace{suffix}"
        path.write_bytes(data)
        decoded_or_named(path)

    one()
    figures.add("fuzz cases tried", f"bench decode, random {suffix}", str(tried))


@pytest.mark.parametrize("prefix", [b"LOGG", b"LOGG" + bytes(140)])
def test_blf_with_a_real_signature(tmp_path, prefix, figures):
    tried = 0

    @FUZZ
    @given(data=st.binary(max_size=600))
    def one(data):
        nonlocal tried
        tried += 1
        path = tmp_path / "trace.blf"
        path.write_bytes(prefix + data)
        decoded_or_named(path)

    one()
    figures.add("fuzz cases tried", f"bench decode, BLF after a {len(prefix)}-byte header", str(tried))


def test_damaged_candump_lines(tmp_path, figures):
    tried = 0

    @FUZZ
    @given(
        at=st.integers(min_value=0, max_value=len(GOOD_LINE)),
        insert=st.text(max_size=12),
        cut=st.integers(min_value=0, max_value=6),
    )
    def one(at, insert, cut):
        nonlocal tried
        tried += 1
        damaged = GOOD_LINE[:at] + insert + GOOD_LINE[at + cut :]
        path = tmp_path / "trace.log"
        path.write_text(f"{GOOD_LINE}\n{damaged}\n{GOOD_LINE}\n", encoding="utf-8")
        decoded_or_named(path)

    one()
    figures.add("fuzz cases tried", "bench decode, damaged candump lines", str(tried))
