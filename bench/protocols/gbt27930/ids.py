"""29-bit J1939 identifiers as GB/T 27930 uses them (docs/limits.md §3).

ID = priority(3) | EDP(1) | DP(1) | PF(8) | PS(8) | SA(8). For PF < 240 (PDU1, every
GB/T 27930 message and the transport protocol) PS is the destination address and the PGN
is PF << 8; for PF >= 240 (PDU2) PS is part of the PGN and the frame goes to everyone.
"""

from __future__ import annotations

CHARGER_ADDRESS = 0x56
BMS_ADDRESS = 0xF4
GLOBAL_ADDRESS = 0xFF
PDU2_THRESHOLD = 0xF0  # PF values from here on are broadcast (PDU2)


def frame_id(priority: int, pgn: int, dest: int, src: int) -> int:
    """The 29-bit CAN ID for sending ``pgn`` from ``src`` to ``dest``."""
    pf = (pgn >> 8) & 0xFF
    if pf < PDU2_THRESHOLD:
        pgn = (pgn & 0x3FF00) | (dest & 0xFF)
    return ((priority & 0x7) << 26) | ((pgn & 0x3FFFF) << 8) | (src & 0xFF)


def parse_id(can_id: int) -> tuple[int, int, int, int]:
    """(priority, pgn, dest, src) of a 29-bit CAN ID."""
    priority = (can_id >> 26) & 0x7
    pgn = (can_id >> 8) & 0x3FFFF
    src = can_id & 0xFF
    if ((pgn >> 8) & 0xFF) < PDU2_THRESHOLD:
        dest = pgn & 0xFF
        pgn &= 0x3FF00
    else:
        dest = GLOBAL_ADDRESS
    return priority, pgn, dest, src
