"""A stand-in for a pytest item: what a BenchSession needs to bracket a test it runs outside
pytest (``begin_test`` / ``end_test``)."""

from __future__ import annotations


class FakeNode:
    def __init__(self, module: str, name: str):
        self.name = name
        self.nodeid = f"{module}::{name}"

    def iter_markers(self, name):
        return iter(())
