"""Benchmark (not part of the test command): wall time for 10 minutes of bench time.

The foundation's figure: one VirtualClock, two ClockedBus endpoints on python-can's virtual
interface, each side sending the periodic frames of its charging phase at the GB/T 27930
periods (charger: CCS, CML, CRO; BMS: BCL, BSM, and BCS as three frames of a J1939 TP
transfer) and draining what the other side sends. Target: under 2 s.

    python benchmarks/bench_bench_time.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import time

import can

from bench.core.canbus import virtual_bus
from bench.core.clock import VirtualClock
from bench.protocols.gbt27930.catalogue import BMS, BY_NAME, CHARGER
from bench.protocols.gbt27930.ids import BMS_ADDRESS, CHARGER_ADDRESS, frame_id

CHARGING = {CHARGER: ("CCS", "CML", "CRO"), BMS: ("BCL", "BSM", "BCS")}
TP_DT_PGN = 0xEB00


def frames_for(name: str, src: int, dest: int) -> list[can.Message]:
    """The frames one transmission of ``name`` puts on the bus (TP.DT packets for long ones)."""
    spec = BY_NAME[name]
    length = spec.max_length if not spec.uses_transport else max(spec.lengths)
    if not spec.uses_transport:
        return [
            can.Message(
                arbitration_id=frame_id(spec.priority, spec.pgn, dest, src), data=bytes(length), is_extended_id=True
            )
        ]
    packets = (length + 6) // 7
    return [
        can.Message(
            arbitration_id=frame_id(7, TP_DT_PGN, dest, src), data=bytes([i + 1]) + bytes(7), is_extended_id=True
        )
        for i in range(packets)
    ]


def run(minutes: float) -> tuple[float, int, int]:
    clock = VirtualClock()
    charger = virtual_bus("bench-time-benchmark", clock, "charger")
    bms = virtual_bus("bench-time-benchmark", clock, "bms")
    received = [0]
    for bus in (charger, bms):
        bus.on_receive(lambda msg: received.__setitem__(0, received[0] + 1))
    sent = [0]
    for side, bus, src, dest in (
        (CHARGER, charger, CHARGER_ADDRESS, BMS_ADDRESS),
        (BMS, bms, BMS_ADDRESS, CHARGER_ADDRESS),
    ):
        for name in CHARGING[side]:
            frames = frames_for(name, src, dest)

            def send(frames=frames, bus=bus):
                for frame in frames:
                    bus.send(frame)
                sent[0] += len(frames)

            clock.every(BY_NAME[name].period_s, send)
    start = time.perf_counter()
    clock.sleep(minutes * 60.0)
    wall = time.perf_counter() - start
    charger.close()
    bms.close()
    return wall, sent[0], received[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    wall, sent, received = run(args.minutes)
    print(
        f"{args.minutes:g} min of bench time: {wall:.3f} s wall "
        f"({sent} frames sent, {received} received, {sent / wall:,.0f} frames/s; target < 2 s)"
    )


if __name__ == "__main__":
    main()
