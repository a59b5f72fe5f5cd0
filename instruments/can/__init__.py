"""CAN adapter: a python-can Bus from the profile's [can] table, on the bench Clock."""

from instruments.can.adapter import AdapterBus, describe, open_can

__all__ = ["AdapterBus", "describe", "open_can"]
