"""Drivers registered by name: the profile says ``driver = "keysight-infiniivision"``.

Registration happens when a driver module is imported; ``load_all()`` imports every driver
module under instruments/ (never instruments/sim) so that the registry is complete.
"""

from __future__ import annotations

import importlib
import pkgutil

from bench.core.errors import BenchError

_DRIVERS: dict[str, type] = {}


def register(name: str):
    """Class decorator: make a driver known under ``name``."""

    def decorate(cls):
        if name in _DRIVERS and _DRIVERS[name] is not cls:
            raise BenchError(f"driver name {name!r} registered twice ({_DRIVERS[name].__name__}, {cls.__name__})")
        cls.driver_name = name
        _DRIVERS[name] = cls
        return cls

    return decorate


def load_all() -> None:
    import instruments

    for info in pkgutil.walk_packages(instruments.__path__, prefix="instruments."):
        if info.name.startswith("instruments.sim") or info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        importlib.import_module(info.name)


def driver_class(name: str) -> type:
    load_all()
    try:
        return _DRIVERS[name]
    except KeyError:
        raise BenchError(f"unknown driver {name!r}; known: {', '.join(sorted(_DRIVERS))}") from None


def transports() -> dict[str, str]:
    """Each driver name → its transport ("visa", "modbus"), for profile validation."""
    load_all()
    return {name: cls.transport for name, cls in sorted(_DRIVERS.items())}


def drivers_for_role(role: str) -> list[str]:
    load_all()
    return sorted(name for name, cls in _DRIVERS.items() if role in cls.roles)
