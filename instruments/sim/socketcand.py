"""A socketcand-protocol server that offers the simulated CAN bus to outside tools.

``bench sim`` serves the simulated bench in its own process; CAN frames live on a python-can
``virtual`` channel, which other processes cannot reach. This server bridges that channel
to TCP on loopback with the protocol of linux-can/socketcand (doc/protocol.md, and what its
state_nobus.c / state_raw.c send), so that python-can's client connects to it::

    can.Bus(interface="socketcand", host="127.0.0.1", port=PORT, channel="can0")

Supported: greeting ``< hi >``; ``< open BUS >`` → ``< ok >`` (another bus name →
``< error could not open bus >`` and the connection closes); ``< rawmode >`` /
``< bcmmode >`` → ``< ok >``; ``< echo >``; ``< send ID LEN B0 … >`` in both modes (an ID of
8 hex digits is an extended ID). In raw mode every frame on the bus is sent as
``< frame ID SECONDS.USECONDS DATA >`` (ID 3 or 8 hex digits, data as contiguous hex bytes,
time = bench time + ``epoch``). The broadcast-manager commands (add, update, delete, filter,
subscribe …), CAN FD and remote frames are not offered; an unknown command is answered
with ``< error unknown command >`` as socketcand does.

The server owns one accept/IO thread. It paces nothing and is meant for wall-time runs
(``bench sim`` on a RealClock); under virtual time the bench never starts it.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field

import can

from bench.core.profile import CanSettings

LOOPBACK = "127.0.0.1"
POLL_S = 0.002  # how often the IO thread drains the virtual bus while no socket is ready
# python-can's client reads the "< ok >" after "< rawmode >" with one recv() and compares it
# whole: a frame sent right behind it could arrive in the same read and fail the handshake.
# Frames for a client that just entered raw mode are held back (not lost) this long.
HANDSHAKE_QUIET_S = 0.05
MAX_COMMAND = 256  # longer text without a closing '>' is garbage

log = logging.getLogger(__name__)


@dataclass
class _Client:
    sock: socket.socket
    peer: str
    mode: str = "nobus"  # nobus → bcm → raw
    buffer: str = ""
    quiet_until: float = 0.0
    held: list[str] = field(default_factory=list)


class SocketcandServer:
    """Bridges one python-can ``virtual`` channel to socketcand clients on loopback."""

    def __init__(
        self,
        virtual_channel: str,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        bus_name: str = "can0",
        epoch: float = 0.0,
        bitrate: int = 250_000,
    ):
        self.virtual_channel = virtual_channel
        self.host = host
        self.bus_name = bus_name
        self.epoch = epoch
        self.bitrate = bitrate
        self.errors: list[str] = []  # bad input from clients, one line each
        self._bus = can.Bus(
            interface="virtual", channel=virtual_channel, preserve_timestamps=True, receive_own_messages=False
        )
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self._listener.listen(8)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._clients: dict[socket.socket, _Client] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-socketcand", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> int:
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for client in list(self._clients.values()):
            self._drop(client)
        self._selector.close()
        self._listener.close()
        self._bus.shutdown()

    def client_settings(self) -> CanSettings:
        """What a bench or tool in another process puts in its [can] table to reach this bus."""
        return CanSettings(
            interface="socketcand",
            channel=self.bus_name,
            bitrate=self.bitrate,
            options={"host": self.host, "port": self.port},
        )

    def describe(self) -> str:
        return f"CAN: socketcand on {self.host}:{self.port}, channel {self.bus_name}"

    # -- IO thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            for key, _ in self._selector.select(timeout=POLL_S):
                if key.data is None:
                    self._accept()
                else:
                    self._receive(key.data)
            while (msg := self._bus.recv(0)) is not None:
                self._to_clients(msg, source=None)
            self._release_held()

    def _accept(self) -> None:
        try:
            sock, address = self._listener.accept()
        except OSError:
            return
        sock.setblocking(True)
        sock.settimeout(1.0)  # a client that stops reading is dropped, not waited for
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = _Client(sock, f"{address[0]}:{address[1]}")
        self._clients[sock] = client
        self._selector.register(sock, selectors.EVENT_READ, client)
        self._reply(client, "< hi >")

    def _receive(self, client: _Client) -> None:
        try:
            data = client.sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return
        client.buffer += data.decode("ascii", errors="replace")
        while client.sock in self._clients:
            start = client.buffer.find("<")
            end = client.buffer.find(">", start + 1)
            if start < 0:
                client.buffer = ""
                return
            if end < 0:
                if len(client.buffer) - start > MAX_COMMAND:
                    self._bad(client, f"no closing '>' in {client.buffer[start : start + 40]!r}…")
                    client.buffer = ""
                else:
                    client.buffer = client.buffer[start:]
                return
            command = client.buffer[start + 1 : end].split()
            client.buffer = client.buffer[end + 1 :]
            self._command(client, command)

    def _command(self, client: _Client, words: list[str]) -> None:
        verb = words[0] if words else ""
        if client.mode == "nobus":
            if verb == "open" and len(words) == 2:
                if words[1] != self.bus_name:
                    self._reply(client, "< error could not open bus >")
                    self._drop(client)
                    return
                client.mode = "bcm"
                self._reply(client, "< ok >")
            else:
                self._reply(client, "< error unknown command >")
        elif verb == "echo" and len(words) == 1:
            self._reply(client, "< echo >")
        elif verb == "send":
            self._send(client, words)
        elif verb in ("rawmode", "bcmmode") and len(words) == 1:
            self._reply(client, "< ok >")
            if verb == "rawmode" and client.mode != "raw":
                client.quiet_until = time.monotonic() + HANDSHAKE_QUIET_S
            client.mode = "raw" if verb == "rawmode" else "bcm"
        else:
            self._reply(client, "< error unknown command >")

    def _send(self, client: _Client, words: list[str]) -> None:
        """``send ID LEN B0 … B(LEN-1)``: hex ID and bytes, decimal length 0–8 (as socketcand's sscanf)."""
        try:
            ident, length = words[1], int(words[2])
            data = bytes(int(b, 16) for b in words[3:])
            arbitration_id = int(ident, 16)
            extended = len(ident) == 8
            if not 0 <= length <= 8 or len(data) != length or arbitration_id > (0x1FFFFFFF if extended else 0x7FF):
                raise ValueError
        except (IndexError, ValueError):
            # socketcand ignores a malformed send (an answer would be read as an error frame)
            self._bad(client, f"malformed send command '< {' '.join(words)} >'")
            return
        msg = can.Message(
            arbitration_id=arbitration_id, is_extended_id=extended, data=data, timestamp=time.time() - self.epoch
        )
        try:
            self._bus.send(msg)
        except can.CanError as exc:
            self._bad(client, f"virtual bus refused the frame: {exc}")
            return
        self._to_clients(msg, source=client)

    # -- frames out --------------------------------------------------------------------------
    def _to_clients(self, msg: can.Message, source: _Client | None) -> None:
        text = frame_text(msg, self.epoch)
        if text is None:
            return
        now = time.monotonic()
        for client in list(self._clients.values()):
            if client is source or client.mode != "raw":
                continue  # like a raw CAN socket: no own frames back, nothing before raw mode
            if now < client.quiet_until:
                client.held.append(text)
            else:
                self._reply(client, text)

    def _release_held(self) -> None:
        now = time.monotonic()
        for client in list(self._clients.values()):
            if client.held and now >= client.quiet_until:
                held, client.held = client.held, []
                self._reply(client, "".join(held))

    def _reply(self, client: _Client, text: str) -> None:
        try:
            client.sock.sendall(text.encode("ascii"))
        except OSError:
            self._drop(client)

    def _drop(self, client: _Client) -> None:
        if self._clients.pop(client.sock, None) is None:
            return
        try:
            self._selector.unregister(client.sock)
        except (KeyError, ValueError):
            pass
        client.sock.close()

    def _bad(self, client: _Client, what: str) -> None:
        line = f"socketcand client {client.peer}: {what}"
        self.errors.append(line)
        log.warning(line)


def frame_text(msg: can.Message, epoch: float = 0.0) -> str | None:
    """A received frame in socketcand's raw-mode format, or None for what it does not carry."""
    if msg.is_remote_frame or msg.is_fd:
        return None
    stamp = max(0.0, msg.timestamp + epoch)
    seconds = int(stamp)
    micros = int(round((stamp - seconds) * 1e6))
    if micros == 1_000_000:
        seconds, micros = seconds + 1, 0
    if msg.is_error_frame:
        return f"< error {msg.arbitration_id & 0x1FFFFFFF:03X} {seconds}.{micros:06d} >"
    ident = f"{msg.arbitration_id:08X}" if msg.is_extended_id else f"{msg.arbitration_id:03X}"
    return f"< frame {ident} {seconds}.{micros:06d} {bytes(msg.data[: msg.dlc]).hex().upper()} >"
