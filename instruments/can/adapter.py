"""The bench's CAN adapter: a python-can Bus built from the profile's [can] table, on the Clock.

``open_can`` turns python-can's many ways of failing (missing vendor library, no such
channel, adapter unplugged) into one bench error naming the interface and the channel.

While the bus runs, the controller's own failures are bench errors of their own kinds,
naming the adapter ("can"), the frame and the kind:

- sending refused (python-can raises ``CanOperationError``: the controller is bus-off, or
  the adapter refuses the frame) → BusOff, an InstrumentLost: the bench is off the bus. The
  first refusal is raised (and handed to ``on_broken``: the session marks the adapter lost);
  later frames, mostly the BMS emulator's periodic ones, are counted in ``refused`` and
  dropped, so that they do not raise into every later wait of the test and its safe state;
- error frames on the bus that drive the controller error passive (receive error counter
  > 127) → CanBusError, once, raised by the clock poller that receives them.

``reset()`` re-initialises the controller (a new python-can bus with the same settings;
every subscriber stays), as a bus-off recovery; the session does it at the start of the next
test.
"""

from __future__ import annotations

import can

from bench.core.canbus import ClockedBus
from bench.core.clock import Clock
from bench.core.errors import BusOff, CanBusError, InstrumentError, InstrumentLost
from bench.core.profile import CanSettings

ROLE = "can"


class AdapterBus(ClockedBus):
    """A ClockedBus that remembers the settings it was opened with (for ``describe`` and
    ``reset``) and reports its controller's failures as bench errors."""

    def __init__(self, bus: can.BusABC, clock: Clock, settings: CanSettings, name: str = ROLE):
        super().__init__(bus, clock, name)
        self.settings = settings
        self.broken: InstrumentError | None = None  # bus-off or error passive, until reset()
        self.on_broken = None  # called with the BusOff when the controller first refuses to send
        self.refused = 0  # frames dropped since the refusal was raised
        self.resets = 0

    @property
    def where(self) -> str:
        return f"CAN interface {self.settings.interface!r} channel {self.settings.channel!r}"

    def send(self, msg: can.Message) -> None:
        try:
            super().send(msg)
        except can.CanError as exc:
            if isinstance(self.broken, BusOff):  # already raised once: an instrument already lost
                self.refused += 1
                return
            frame = f"frame 0x{msg.arbitration_id:08X}" if msg.is_extended_id else f"frame 0x{msg.arbitration_id:03X}"
            self.broken = BusOff(
                ROLE,
                f"{frame} not sent on {self.where}: {_text(exc)}; sending refused until the controller is reset",
                command=frame,
            )
            if self.on_broken is not None:
                self.on_broken(self.broken)
            raise self.broken from None

    def drain(self) -> None:
        super().drain()
        if self.error_passive and self.broken is None and not self.bus_off:
            self.broken = CanBusError(
                ROLE,
                f"{self.error_frames} error frame(s) on {self.where} while receiving: receive error counter "
                f"{self.rx_errors} > 127, the controller is error passive; the traffic is disturbed",
                command="receive",
            )
            raise self.broken

    @property
    def needs_reset(self) -> bool:
        """Bus-off, or error passive: the controller must be re-initialised."""
        return self.bus_off or self.broken is not None

    def reset(self) -> None:
        """Re-initialise the controller: a new python-can bus with the same settings."""
        old = self.bus
        try:
            old.shutdown()
        except Exception:  # a controller in trouble may fail to shut down; the new bus is what counts
            pass
        try:
            self.bus = can.Bus(**bus_arguments(self.settings))
        except Exception as exc:  # as in open_can
            raise InstrumentLost(
                ROLE, f"cannot reopen {self.where} at {self.settings.bitrate} bit/s ({_text(exc)})"
            ) from None
        self._clear_errors()
        self.broken = None
        self.refused = 0
        self.resets += 1


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
