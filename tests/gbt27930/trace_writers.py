"""Write a list of frames in the formats other tools write, for the decode tests.

python-can's own writers where it has them (TRCWriter 1.0 and 2.1, ASC, BLF, candump); by
hand, from each format's description in docs/decode.md, where it has none: PEAK TRC 1.1, 1.3
and 2.0, ZLG CANTest/CANPro text (GBK), SavvyCAN CSV and the generic time,id,data CSV.
"""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import can
from can.io.asc import ASCWriter
from can.io.blf import BLFWriter
from can.io.canutils import CanutilsLogWriter
from can.io.trc import TRCFileVersion, TRCWriter


def python_can_writer(path: Path, msgs: list[can.Message], kind: str) -> Path:
    if kind == "trc-1.0" or kind == "trc-2.1":
        writer = TRCWriter(path)
        writer.file_version = TRCFileVersion.V1_0 if kind == "trc-1.0" else TRCFileVersion.V2_1
    else:
        writer = {"asc": ASCWriter, "blf": BLFWriter, "log": CanutilsLogWriter}[kind](path)
    for msg in msgs:
        writer.on_message_received(msg)
    writer.stop()
    return path


def _days_since_1899(t: float) -> float:
    return (datetime.fromtimestamp(t, UTC) - datetime(1899, 12, 30, tzinfo=UTC)) / timedelta(days=1)


def _trc_id(msg: can.Message) -> str:
    return f"{msg.arbitration_id:08X}" if msg.is_extended_id else f"{msg.arbitration_id:04X}"


def write_trc(path: Path, msgs: list[can.Message], version: str, extra: tuple[str, ...] = ()) -> Path:
    """PEAK TRC 1.1, 1.3 or 2.0 (CRLF line ends, as PEAK's tools write); ``extra`` lines go at the end."""
    first = msgs[0].timestamp
    lines = [f";$FILEVERSION={version}", f";$STARTTIME={_days_since_1899(first)}"]
    if version == "2.0":
        lines.append(";$COLUMNS=N,O,T,I,d,l,D")
    lines += [";   made by the bench's tests", ";---+--   ----+----  --+--  ----+---  +  -+ -- --"]
    for n, msg in enumerate(msgs, 1):
        ms = (msg.timestamp - first) * 1000
        data = " ".join(f"{b:02X}" for b in msg.data)
        if version == "1.1":
            lines.append(f"{n:>6}) {ms:11.1f}  Rx  {_trc_id(msg):>8}  {msg.dlc}  {data}")
        elif version == "1.3":
            lines.append(f"{n:>6}) {ms:11.1f} 1  Rx  {_trc_id(msg):>8} -  {msg.dlc}  {data}")
        else:
            lines.append(f"{n:>7} {ms:13.3f} DT {_trc_id(msg):>8} Rx {len(msg.data):>2}  {data}")
    lines += list(extra)
    path.write_bytes("".join(line + "\r\n" for line in lines).encode("ascii"))
    return path


ZLG_HEADER = ("序号", "系统时间", "时间标识", "CAN通道", "传输方向", "ID号", "帧类型", "帧格式", "长度", "数据")


def zlg_row(n: int, msg: can.Message, first: float, sep: str) -> str:
    clock = datetime.fromtimestamp(msg.timestamp, UTC).strftime("%H:%M:%S.%f")[:-3]
    ticks = round((msg.timestamp - first) * 10_000)  # 0.1 ms
    kind = "远程帧" if msg.is_remote_frame else "数据帧"
    fmt = "扩展帧" if msg.is_extended_id else "标准帧"
    data = "x| " + " ".join(f"{b:02X}" for b in msg.data)
    cells = (f"{n:05d}", clock, f"0x{ticks:08x}", "ch1", "接收", f"0x{msg.arbitration_id:08x}", kind, fmt)
    return sep.join(cells + (f"0x{msg.dlc:02x}", data))


def write_zlg(path: Path, msgs: list[can.Message], sep: str = "\t", extra: tuple[str, ...] = ()) -> Path:
    """A ZLG CANTest export: GBK text, one header line naming the columns, CRLF line ends."""
    first = msgs[0].timestamp
    lines = [sep.join(ZLG_HEADER)] + [zlg_row(n, msg, first, sep) for n, msg in enumerate(msgs)] + list(extra)
    path.write_bytes("".join(line + "\r\n" for line in lines).encode("gbk"))
    return path


SAVVYCAN_HEADER = "Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8"


def write_savvycan(path: Path, msgs: list[can.Message], extra: tuple[str, ...] = ()) -> Path:
    lines = [SAVVYCAN_HEADER]
    for msg in msgs:
        data = [f"{b:02X}" for b in msg.data] + [""] * (8 - len(msg.data))
        ext = "true" if msg.is_extended_id else "false"
        lines.append(f"{round(msg.timestamp * 1e6)},{msg.arbitration_id:08X},{ext},Rx,0,{msg.dlc}," + ",".join(data))
    path.write_text("\n".join(lines + list(extra)) + "\n", encoding="utf-8")
    return path


def write_generic(path: Path, msgs: list[can.Message], extra: tuple[str, ...] = ()) -> Path:
    lines = ["time,id,data"]
    lines += [f"{msg.timestamp:.6f},0x{msg.arbitration_id:08X},{msg.data.hex(' ')}" for msg in msgs]
    path.write_text("\n".join(lines + list(extra)) + "\n", encoding="utf-8")
    return path


def gzipped(path: Path) -> Path:
    out = path.with_name(path.name + ".gz")
    with open(path, "rb") as src, gzip.open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return out
