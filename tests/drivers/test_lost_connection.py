"""A closed connection is an InstrumentLost naming the role, for every driver.

Each transcript ends after open; the next command finds the server gone.
"""

from __future__ import annotations

import pytest

from bench.core.errors import InstrumentLost

NO_ERROR = '0,"No error"'
CASES = {
    "keysight-infiniivision": (
        "scope",
        [(":SYSTem:ERRor?", NO_ERROR), ("*IDN?", "KEYSIGHT TECHNOLOGIES,DSOX4024A,MY1,1")],
        lambda d: d.capture([1], timeout_s=1.0),
    ),
    "rigol-ds": (
        "scope",
        [(":SYSTem:ERRor?", NO_ERROR), ("*IDN?", "RIGOL TECHNOLOGIES,DS1054Z,DS1Z1,00.04.04")],
        lambda d: d.measure("frequency", 1),
    ),
    "yokogawa-wt": (
        "analyzer",
        [
            (":COMMunicate:HEADer OFF", None),
            (":STATus:ERRor?", NO_ERROR),
            ("*IDN?", "YOKOGAWA,WT5000,1,1"),
            (":NUMeric:FORMat ASCii", None),
            (":STATus:ERRor?", NO_ERROR),
        ],
        lambda d: d.read_element(1),
    ),
    "chroma-63200a": ("load", [("SYST:ERR?", NO_ERROR), ("*IDN?", "Chroma,63206A-150-600,1,1")], lambda d: d.measure()),
    "itech-it6000c": (
        "battery",
        [
            ("SYST:ERR?", NO_ERROR),
            ("*IDN?", "ITECH Electronics,IT6018C-500-120,1,1,2,3"),
            ("SYST:REM", None),
            ("SYST:ERR?", NO_ERROR),
        ],
        lambda d: d.measure(),
    ),
    "chroma-61800": ("grid", [("SYST:ERR?", NO_ERROR), ("*IDN?", "Chroma,61830,1,1")], lambda d: d.measure()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_server_closes_and_the_driver_names_its_role(connect, name):
    role, opening, action = CASES[name]
    driver, transcript = connect(name, role, opening, timeout_s=0.3)
    transcript.close()  # no more answers: the transcript server hangs up after its last step
    with pytest.raises(InstrumentLost) as caught:
        action(driver)
    assert caught.value.role == role
    assert str(caught.value).startswith(f"{role}: ")
    assert driver.link.resource in str(caught.value)


@pytest.mark.parametrize("name", ["chroma-63200a", "itech-it6000c", "chroma-61800"])
def test_safe_off_on_a_lost_instrument_raises_instrument_lost_only(connect, name):
    """The safe-state sequence catches InstrumentLost, marks the role lost and goes on."""
    role, opening, action = CASES[name]
    driver, transcript = connect(name, role, opening, timeout_s=0.3)
    transcript.close()
    with pytest.raises(InstrumentLost):
        action(driver)
    with pytest.raises(InstrumentLost, match=f"^{role}: "):
        driver.safe_off()
    driver.close()  # closing a lost instrument does not raise
