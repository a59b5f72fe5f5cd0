"""One I/O thread that serves every simulated instrument's TCP socket on loopback.

Each front end (SCPI instrument, Modbus device) gets its own listening port, chosen by the
OS. The hub is an in-flight source for the clock: a virtual clock does not advance while a
message has arrived (or is being answered) that the front end has not finished with.

Front ends answer inside ``clock.lock`` so that, on a real clock (``bench sim``), a reply
never sees the plant half way through an event.

Two ways a connection ends besides the client closing it: ``drop(name)`` closes a front
end's sockets and its listener (an instrument switched off: nobody answers any more), and a
front end that raises ResetConnection from ``feed`` has that one connection reset (TCP RST,
as an instrument whose network stack restarted); the listener stays, so the instrument can
be reached again (injected faults, instruments/sim/test_controls.py).
"""

from __future__ import annotations

import select
import selectors
import socket
import struct
import threading
from typing import Protocol

from bench.core.clock import Clock

LOOPBACK = "127.0.0.1"


class FrontEnd(Protocol):
    name: str

    def new_session(self) -> object:
        """State kept per client connection (input buffer, SCPI path, ...)."""

    def feed(self, session: object, data: bytes) -> bytes:
        """Consume received bytes; return what to send back (b"" for nothing)."""


class ResetConnection(Exception):
    """Raised by a front end's ``feed``: reset this connection (RST) instead of answering."""


class _Listener:
    def __init__(self, front_end: FrontEnd, sock: socket.socket):
        self.front_end = front_end
        self.sock = sock
        self.clients: list[socket.socket] = []


class SocketHub:
    def __init__(self, clock: Clock, host: str = LOOPBACK):
        self.clock = clock
        self.host = host
        self._selector = selectors.DefaultSelector()
        self._listeners: dict[str, _Listener] = {}
        self._clients: dict[socket.socket, tuple[_Listener, object]] = {}
        self._guard = threading.Lock()  # protects the socket tables between the I/O and bench threads
        self._busy = 0
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._pending: list = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sim-socket-hub", daemon=True)
        self._in_flight_handle = clock.add_in_flight_source(self)
        self.errors: list[str] = []  # front-end exceptions (a bug in the simulation), kept for the test

    # -- set-up ------------------------------------------------------------------------------
    def serve(self, front_end: FrontEnd, port: int = 0) -> int:
        """Listen for ``front_end`` on the hub's host; return the port the OS gave."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, port))
        sock.listen(4)
        sock.setblocking(False)
        listener = _Listener(front_end, sock)
        with self._guard:
            self._listeners[front_end.name] = listener
        self._call_in_loop(lambda: self._selector.register(sock, selectors.EVENT_READ, listener))
        return sock.getsockname()[1]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for name in list(self._listeners):
            self._close_listener(name)
        self._in_flight_handle.remove()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def drop(self, name: str) -> None:
        """Close a front end's sockets, as an instrument that was switched off or unplugged."""
        done = threading.Event()

        def close():
            self._close_listener(name)
            done.set()

        self._call_in_loop(close)
        done.wait(timeout=5)

    # -- clock interface ---------------------------------------------------------------------
    def in_flight(self) -> int:
        if self._busy:
            return 1
        with self._guard:
            clients = list(self._clients)
        if not clients:
            return 0
        try:
            readable, _, _ = select.select(clients, [], [], 0)
        except (OSError, ValueError):  # a socket closed under us: the hub will notice
            return 0
        return len(readable)

    # -- I/O thread --------------------------------------------------------------------------
    def _call_in_loop(self, fn) -> None:
        if not self._thread.is_alive():
            fn()
            return
        with self._guard:
            self._pending.append(fn)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _run(self) -> None:
        while not self._stopping:
            for key, _ in self._selector.select(timeout=0.5):
                if key.data is None:
                    self._run_pending()
                elif isinstance(key.data, _Listener):
                    self._accept(key.data)
                else:
                    self._receive(key.fileobj)

    def _run_pending(self) -> None:
        try:
            self._wake_r.recv(4096)
        except OSError:
            return
        with self._guard:
            pending, self._pending = self._pending, []
        for fn in pending:
            fn()

    def _accept(self, listener: _Listener) -> None:
        try:
            conn, _ = listener.sock.accept()
        except OSError:
            return
        conn.setblocking(True)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._guard:
            self._clients[conn] = (listener, listener.front_end.new_session())
            listener.clients.append(conn)
        self._selector.register(conn, selectors.EVENT_READ, conn)

    def _receive(self, conn: socket.socket) -> None:
        self._busy += 1  # before recv: the bytes leave the socket buffer only once we are busy
        try:
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            entry = self._clients.get(conn)
            if not data or entry is None:
                self._forget(conn)
                return
            listener, session = entry
            try:
                with self.clock.lock:
                    reply = listener.front_end.feed(session, data)
            except ResetConnection:
                self._reset(conn)
                return
            except Exception as exc:  # a simulation bug: keep serving, but make it visible
                self.errors.append(f"{listener.front_end.name}: {type(exc).__name__}: {exc}")
                reply = b""
            if reply:
                try:
                    conn.sendall(reply)
                except OSError:
                    self._forget(conn)
        finally:
            self._busy -= 1

    def _reset(self, conn: socket.socket) -> None:
        """Close with RST (SO_LINGER 0): the client's next read or write fails with a reset."""
        try:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self._forget(conn)

    def _forget(self, conn: socket.socket) -> None:
        with self._guard:
            entry = self._clients.pop(conn, None)
            if entry:
                entry[0].clients.remove(conn)
        try:
            self._selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()

    def _close_listener(self, name: str) -> None:
        with self._guard:
            listener = self._listeners.pop(name, None)
        if listener is None:
            return
        for conn in list(listener.clients):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._forget(conn)
        try:
            self._selector.unregister(listener.sock)
        except (KeyError, ValueError):
            pass
        listener.sock.close()
