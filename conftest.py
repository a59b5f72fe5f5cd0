"""Registers the bench's pytest plugin (bench/plugin.py): options, fixtures, markers."""

pytest_plugins = ["bench.plugin"]
