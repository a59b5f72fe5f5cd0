"""Driver tests: each driver talks through real pyvisa-py to a hand-written transcript."""

from __future__ import annotations

import pytest

from instruments.registry import driver_class
from tests.support.transcript import Transcript, instrument_config, new_clock


@pytest.fixture
def clock():
    return new_clock()


@pytest.fixture
def connect(clock):
    """connect(driver_name, role, steps, dut_guard=None, **config) → (opened driver, transcript)."""
    made = []

    def connect(driver: str, role: str, steps, *, dut_guard=None, open_now=True, **config):
        transcript = Transcript(list(steps))
        cls = driver_class(driver)
        instrument = cls(instrument_config(role, driver, transcript.resource, **config), clock, dut_guard)
        made.append((instrument, transcript))
        if open_now:
            instrument.open()
        return instrument, transcript

    yield connect
    for instrument, transcript in made:
        instrument.link.close()
        transcript.close()
