"""Resource strings: where an instrument is, as a profile names it (a VISA resource, a Modbus
TCP URL). Drivers may import this module (it knows nothing of profiles)."""

from __future__ import annotations

from urllib.parse import urlsplit


def resource_problem(transport: str, resource: str) -> str | None:
    """What is wrong with a resource string for a transport, or None when it parses."""
    if transport == "visa":
        from pyvisa import rname

        try:
            rname.parse_resource_name(resource)
        except Exception as exc:  # pyvisa raises InvalidResourceName (and ValueError on some forms)
            return f"a VISA resource string such as 'TCPIP0::192.168.1.20::5025::SOCKET'; {exc}"
        return None
    if transport == "modbus":
        return (
            None
            if parse_modbus_resource(resource)
            else (f"a Modbus TCP resource 'modbus+tcp://HOST:PORT/UNIT' (unit 0–247), got {resource!r}")
        )
    return f"a transport the bench knows (visa, modbus), driver declares {transport!r}"


def parse_modbus_resource(resource: str) -> tuple[str, int, int] | None:
    """``modbus+tcp://HOST:PORT/UNIT`` → (host, port, unit), or None if it does not parse."""
    try:
        parts = urlsplit(resource)
        if parts.scheme != "modbus+tcp" or not parts.hostname or parts.port is None:
            return None
        unit = int(parts.path.strip("/") or "1")
    except ValueError:
        return None
    if not 0 <= unit <= 247:
        return None
    return parts.hostname, parts.port, unit
