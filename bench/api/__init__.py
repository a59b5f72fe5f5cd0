"""The session API for conformance test cases (docs/design.md#layers-and-the-import-contract:
layer 5 imports only this and bench.analysis): ``AcBench`` and ``DcBench``, handed to a case by
the ``bench`` fixture."""

from __future__ import annotations

from bench.api.ac import AcBench, CpCapture
from bench.api.base import BenchView, load_grid
from bench.api.dc import DcBench
from bench.api.scope import Record, Trigger

# The case's view of the bench, by the kind of DUT the profile names.
BENCHES: dict[str, type[BenchView]] = {"ac": AcBench, "dc": DcBench}


def facade_for(session, grid: str = "full") -> BenchView:
    return BENCHES[session.profile.dut.kind](session, grid)


__all__ = ["AcBench", "BenchView", "CpCapture", "DcBench", "Record", "Trigger", "facade_for", "load_grid"]
