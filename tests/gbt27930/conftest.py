import pytest

from .fakes import Bench


@pytest.fixture
def make_bench():
    """Build Bench objects (BMS emulator + charger + monitor on virtual time); closed afterwards."""
    benches = []

    def make(**kw):
        bench = Bench(**kw)
        benches.append(bench)
        return bench

    yield make
    for bench in benches:
        bench.close()


@pytest.fixture
def bench(make_bench):
    return make_bench()
