"""The session API for conformance test cases (DESIGN.md layer 5 imports only this and
bench.analysis): ``AcBench`` and ``DcBench``, handed to a case by the ``bench`` fixture."""

from __future__ import annotations

from bench.api.ac import AcBench, CpCapture
from bench.api.base import BenchView, load_grid
from bench.api.scope import Record, Trigger


def facade_for(session, grid: str = "full") -> BenchView:
    if session.profile.dut.kind == "ac":
        return AcBench(session, grid)
    from bench.api.dc import DcBench

    return DcBench(session, grid)


__all__ = ["AcBench", "BenchView", "CpCapture", "Record", "Trigger", "facade_for", "load_grid"]
