import pytest

from .fakes import EmulatedSession


@pytest.fixture
def make_emu():
    """Build EmulatedSession objects (BMS emulator + charger + monitor on virtual time); closed afterwards."""
    sessions = []

    def make(**kw):
        emu = EmulatedSession(**kw)
        sessions.append(emu)
        return emu

    yield make
    for emu in sessions:
        emu.close()


@pytest.fixture
def emu(make_emu):
    return make_emu()
