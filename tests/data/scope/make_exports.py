"""Writes the scope exports of this folder: one CP record with a known truth (1 kHz, 30 % duty,
+9 V / −12 V, 2 µs edges, 50 mV rms noise, 1 MS/s, 3.5 ms from 0.3 of a cycle before a rising
edge) in each vendor's CSV layout as docs/scope-exports.md transcribes it, and a bench .npz.

    python tests/data/scope/make_exports.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[2]))

from tests.analysis.synthetic import cp_record  # noqa: E402

TRUTH = {"frequency_hz": 1000.0, "duty_pct": 30.0, "high_v": 9.0, "low_v": -12.0, "rise_s": 1.6e-6}
RATE = 1e6
T0 = -0.5e-3  # the trigger 0.5 ms into the record


def record():
    times, volts = cp_record(30.0, noise_v=0.05, periods=3.5, rate=RATE, phase=0.7, seed=11)
    return times + T0, volts


def rows(times, volts, fmt="{:.6E},{:.4E}"):
    return "\n".join(fmt.format(t, v) for t, v in zip(times, volts))


def main() -> None:
    times, volts = record()
    second = volts * 0.0 + 0.1  # a second channel on the formats that carry several
    (HERE / "keysight-infiniivision.csv").write_text(
        "x-axis,1,2\nsecond,Volt,Volt\n"
        + "\n".join(f"{t:.6E},{v:.4E},{w:.4E}" for t, v, w in zip(times, volts, second))
        + "\n"
    )
    header = [
        ("Record Length", f"{len(times)}", "Points"),
        ("Sample Interval", f"{1 / RATE:.6E}", "s"),
        ("Trigger Point", f"{-T0 * RATE:.12E}", "Samples"),
        ("", "", ""),
        ("", "", ""),
        ("Source", "CH1", ""),
        ("Vertical Units", "V", ""),
        ("Vertical Scale", "5.000000E+00", ""),
        ("Vertical Offset", "0.000000E+00", ""),
        ("Horizontal Units", "s", ""),
        ("Horizontal Scale", "5.000000E-04", ""),
        ("Pt Fmt", "Y", ""),
        ("Yzero", "0.000000E+00", ""),
        ("Probe Atten", "1.000000E+01", ""),
        ("Model Number", "TDS2024C", ""),
        ("Serial Number", "C000001", ""),
        ("Firmware Version", "FV:v24.26", ""),
    ]
    lines = []
    for i, (t, v) in enumerate(zip(times, volts)):
        label = header[i] if i < len(header) else ("", "", "")
        lines.append(f"{label[0]},{label[1]},{label[2]},{t:.12f},{v:.5f},")
    (HERE / "tektronix-tds2000.csv").write_text("\n".join(lines) + "\n")
    block = [
        "Model,MDO3024",
        "Firmware Version,1.26",
        "",
        "Waveform Type,ANALOG,ANALOG",
        "Point Format,Y,Y",
        "Horizontal Units,s,s",
        "Horizontal Scale,0.0005,0.0005",
        "Horizontal Delay,0.0,0.0",
        f"Sample Interval,{1 / RATE:.4e},{1 / RATE:.4e}",
        f"Record Length,{len(times)},{len(times)}",
        "Gating,0.0% to 100.0%,0.0% to 100.0%",
        "Probe Attenuation,10,10",
        "Vertical Units,V,V",
        "Vertical Offset,0.0,0.0",
        "Vertical Scale,5.0,1.0",
        "Vertical Position,0.0,0.0",
        ",,",
        ",,",
        ",,",
        "Label,,",
        "TIME,CH1,CH2",
    ]
    (HERE / "tektronix-mdo3000.csv").write_text(
        "\n".join(block) + "\n" + "\n".join(f"{t:.9e},{v:.5f},{w:.5f}" for t, v, w in zip(times, volts, second)) + "\n"
    )
    (HERE / "rigol-ds1000z.csv").write_text(
        f"X,CH1,CH2,Start,Increment,\nSequence,Volt,Volt,{times[0]:.6e},{1 / RATE:.6e}\n"
        + "\n".join(f"{i},{v:.4e},{w:.4e}," for i, (v, w) in enumerate(zip(volts, second)))
        + "\n"
    )
    siglent_head = [
        f"Record Length,Analog:{len(times)}",
        f"Sample Interval,{1 / RATE:.6E}",
        "Vertical Units,V",
        "Vertical Scale,5.00E+00",
        "Vertical Offset,0.00E+00",
        "Horizontal Units,S",
        "Horizontal Scale,5.00E-04",
        "Model Number,SDS1104X-E",
        "Serial Number,SDSMMEBD000001",
        "Software Version,8.2.6.1.37R8",
        "Source,CH1",
        "Second,Value",
    ]
    (HERE / "siglent-sds1000x-e.csv").write_text("\n".join(siglent_head) + "\n" + rows(times, volts) + "\n")
    (HERE / "generic.csv").write_text("time,volts\n" + rows(times, volts, "{:.9f},{:.5f}") + "\n")
    np.savez_compressed(
        HERE / "bench-record.npz",
        cp_volts=volts.astype(np.float32),
        cp_t0_dt=np.array([times[0], 1 / RATE]),
    )


if __name__ == "__main__":
    main()
