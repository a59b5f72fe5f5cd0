"""The bench's CAN adapter: a python-can Bus built from the profile's [can] table, on the Clock.

``open_can`` turns python-can's many ways of failing (missing vendor library, no such
channel, adapter unplugged) into one bench error naming the interface and the channel.
"""

from __future__ import annotations

import can

from bench.core.canbus import ClockedBus
from bench.core.clock import Clock
from bench.core.errors import InstrumentError, InstrumentLost
from bench.core.profile import CanSettings

ROLE = "can"


class AdapterBus(ClockedBus):
    """A ClockedBus that remembers the settings it was opened with (for ``describe``)."""

    def __init__(self, bus: can.BusABC, clock: Clock, settings: CanSettings, name: str = ROLE):
        super().__init__(bus, clock, name)
        self.settings = settings


def bus_arguments(settings: CanSettings) -> dict:
    kwargs = settings.bus_kwargs()
    # The profile keeps the channel as text; Kvaser, IXXAT, Vector, gs_usb … take an index.
    if kwargs["channel"].isdigit():
        kwargs["channel"] = int(kwargs["channel"])
    if settings.interface == "virtual":
        # Keep the sender's bench-time stamps, as bench.core.canbus.virtual_bus does, so that
        # a simulated run's trace repeats byte for byte.
        kwargs.setdefault("preserve_timestamps", True)
        kwargs.setdefault("receive_own_messages", False)
    return kwargs


def open_can(settings: CanSettings, clock: Clock, name: str = ROLE) -> AdapterBus:
    where = f"CAN interface {settings.interface!r} channel {settings.channel!r}"
    try:
        bus = can.Bus(**bus_arguments(settings))
    except (can.CanInterfaceNotImplementedError, ImportError, NameError) as exc:
        # python-can could not load the adapter's driver (vendor library or package missing,
        # or an interface name it does not know).
        raise InstrumentError(ROLE, f"{where}: python-can cannot use this adapter here ({_text(exc)})") from None
    except Exception as exc:  # python-can raises CanInitializationError, OSError, ValueError … here
        raise InstrumentLost(ROLE, f"cannot open {where} at {settings.bitrate} bit/s ({_text(exc)})") from None
    return AdapterBus(bus, clock, settings, name)


def describe(bus: ClockedBus) -> str:
    """One line for ``bench instruments``: interface, channel, bit rate and python-can's channel info."""
    settings = getattr(bus, "settings", None)
    info = getattr(bus.bus, "channel_info", "") or ""
    if settings is None:
        return f"{type(bus.bus).__name__} ({info})"
    return f"{settings.interface} channel {settings.channel} at {settings.bitrate} bit/s ({info})"


def _text(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text.splitlines()[0]}"
