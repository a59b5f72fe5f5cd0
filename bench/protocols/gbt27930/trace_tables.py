"""CAN traces exported as column tables: ZLG CANTest / CANPro text, SavvyCAN / GVRET CSV and a
generic ``time,id,data`` CSV.

The first line that names the columns decides the layout (lines before it, such as a title,
are passed over); every later line is one frame, or a ``BadRow`` naming its line and what is
wrong with it, so the decode skips it and goes on. The columns each layout accepts, and how
sure the bench is of them, are in ``docs/decode.md`` "Accepted trace formats".

Text is decoded per line: UTF-8 when the line is valid UTF-8, else GBK (ZLG's tools write
GBK on a Chinese Windows), undecodable bytes as U+FFFD.
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import can

from bench.core.errors import ProtocolError

HEADER_SEARCH_LINES = 20  # a header further down than this is not looked for
STANDARD_ID_MAX = 0x7FF
CLASSIC_MAX = 8


class StreamCut(Exception):
    """The bytes under a text reader stopped being readable (a cut or corrupt gzip stream)."""


def gzip_reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the gzip stream is cut short"
    return "the gzip stream is corrupt"


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


class NumberedLines:
    """A trace file as text lines, each numbered as it is read (for python-can's text readers
    and for the tables).

    Undecodable bytes become U+FFFD (``errors="replace"``); the line ends are kept so that a
    last line without one is seen. A cut or corrupt gzip stream raises StreamCut."""

    def __init__(self, raw: BinaryIO, encoding: str = "utf-8"):
        self.raw = raw
        self.text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        self.number = 0
        self.line = ""  # the line last handed out
        self.last_nonblank = ""

    def __iter__(self) -> NumberedLines:
        return self

    def _read(self) -> str:
        return self.text.readline()

    def __next__(self) -> str:
        try:
            line = self._read()
        except (OSError, EOFError, zlib.error) as exc:
            raise StreamCut(gzip_reason(exc)) from None
        if not line:
            raise StopIteration
        self.number += 1
        self.line = line
        if not line.isspace():
            self.last_nonblank = line
        return line

    @property
    def ended_mid_line(self) -> bool:
        """The last line read has no line end (the file may be cut in the middle of it)."""
        return bool(self.line) and not self.line.endswith(("\n", "\r")) and not self.line.isspace()

    def close(self) -> None:
        self.text.close()


class TableLines(NumberedLines):
    """The lines of a column table, each decoded on its own: UTF-8, else GBK."""

    def _read(self) -> str:
        data = self.raw.readline()
        try:
            line = data.decode("utf-8")
        except UnicodeDecodeError:
            line = data.decode("gbk", errors="replace")
        return line.lstrip("\ufeff") if self.number == 0 else line


# -- cell parsers: each raises ValueError with a reason in the format's terms -------------------
def hex_int(text: str, what: str) -> int:
    cell = text.strip()
    digits = cell[2:] if cell.lower().startswith("0x") else cell
    if not digits or not re.fullmatch(r"[0-9A-Fa-f]+", digits):
        raise ValueError(f"the {what} {cell[:20]!r} is not hexadecimal")
    return int(digits, 16)


def number(text: str, what: str) -> int:
    """A length written as decimal (``8``) or as ZLG writes it, hexadecimal (``0x08``)."""
    cell = text.strip()
    if cell.lower().startswith("0x"):
        return hex_int(cell, what)
    if not cell.isdigit():
        raise ValueError(f"the {what} {cell[:20]!r} is not a number")
    return int(cell)


def hex_bytes(text: str, what: str = "data") -> bytes:
    """``01 02 0A``, ``0x01 0x02``, ``01020A`` or ZLG's ``x| 01 02 0A``."""
    cell = text.strip()
    if cell.lower().startswith("x|"):
        cell = cell[2:]
    tokens = cell.replace(",", " ").split()
    if len(tokens) == 1 and len(tokens[0]) > 2 and not tokens[0].lower().startswith("0x"):
        token = tokens[0]
        tokens = [token[i : i + 2] for i in range(0, len(token), 2)] if len(token) % 2 == 0 else tokens
    out = bytearray()
    for token in tokens:
        digits = token[2:] if token.lower().startswith("0x") else token
        if not re.fullmatch(r"[0-9A-Fa-f]{1,2}", digits):
            raise ValueError(f"the {what} byte {token[:12]!r} is not one hexadecimal byte")
        out.append(int(digits, 16))
    return bytes(out)


def seconds(text: str, what: str = "time") -> float:
    cell = text.strip()
    try:
        return float(cell)
    except ValueError:
        raise ValueError(f"the {what} {cell[:24]!r} is not a number of seconds") from None


CLOCK_TIME = re.compile(
    r"^(?:(?P<y>\d{4})[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2})[ T])?"
    r"(?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})(?:[.:](?P<frac>\d{1,6}))?(?:\.\d+)?$"
)


def clock_seconds(text: str) -> float:
    """ZLG's 系统时间 ``14:46:17.596`` (or with a date before it) as seconds of the day."""
    cell = text.strip()
    match = CLOCK_TIME.match(cell)
    if match is None:
        raise ValueError(f"the system time {cell[:24]!r} is not hh:mm:ss.mmm")
    frac = match["frac"] or "0"
    day = 0
    if match["y"]:
        from datetime import date

        day = date(int(match["y"]), int(match["mo"]), int(match["d"])).toordinal() * 86400
    fraction = int(frac) / float(10 ** len(frac))
    return float(day + int(match["h"]) * 3600 + int(match["mi"]) * 60 + int(match["s"])) + fraction


# -- layouts ------------------------------------------------------------------------------------
Row = Callable[[list[str]], can.Message]


class Table:
    """A column table and how to turn one of its rows into a frame."""

    def __init__(self, lines: TableLines, name: str, split: Callable[[str], list[str]], parse: Row, width: int):
        self.lines, self.name, self.split, self.parse, self.width = lines, name, split, parse, width

    def rows(self) -> Iterator[can.Message | BadRow]:
        for text in self.lines:
            if not text.strip():
                continue
            cells = self.split(text)
            if len(cells) < self.width:
                yield BadRow(self.lines.number, f"{len(cells)} columns, the {self.name} header names {self.width}")
                continue
            try:
                yield self.parse(cells)
            except ValueError as exc:
                yield BadRow(self.lines.number, str(exc))


def splitter(header: str) -> Callable[[str], list[str]]:
    """Tab-, comma- or space-separated, as the header line is; space-separated rows keep
    everything after the header's last column but one in the last cell (ZLG's data bytes)."""
    if "\t" in header:
        return lambda line: [c.strip() for c in line.rstrip("\r\n").split("\t")]
    if "," in header:
        return lambda line: [c.strip() for c in next(csv.reader([line.rstrip("\r\n")]), [])]
    last = len(header.split()) - 1
    return lambda line: line.split(None, last)


ZLG_ROLES = {
    "序号": "index",
    "传输方向": "direction",
    "方向": "direction",
    "时间标识": "stamp",
    "时间戳": "stamp",
    "系统时间": "clock",
    "CAN通道": "channel",
    "通道": "channel",
    "帧ID": "id",
    "ID号": "id",
    "帧类型": "kind",
    "帧格式": "format",
    "数据长度": "length",
    "长度": "length",
    "数据": "data",
}
ZLG_FORMATS = {"标准帧": False, "扩展帧": True}
ZLG_TYPES = {"数据帧": "data", "远程帧": "remote", "错误帧": "error"}
ZLG_STAMP_S = 1e-4  # 时间标识 in hex counts the device's 0.1 ms ticks (U, docs/decode.md)


def zlg_layout(cells: list[str]) -> dict[str, int] | None:
    roles: dict[str, int] = {}
    for i, cell in enumerate(cells):
        role = ZLG_ROLES.get(cell.replace(" ", "").strip())
        if role and role not in roles:
            roles[role] = i
    return roles if {"id", "data"} <= roles.keys() and ("stamp" in roles or "clock" in roles) else None


def zlg_row(roles: dict[str, int], use_stamp: bool) -> Row:
    def parse(cells: list[str]) -> can.Message:
        def cell(role: str) -> str | None:
            i = roles.get(role)
            return cells[i] if i is not None and i < len(cells) else None

        if use_stamp:
            stamp = cell("stamp") or ""
            if stamp.strip().lower().startswith("0x"):
                t = hex_int(stamp, "time stamp (时间标识)") * ZLG_STAMP_S
            else:
                t = seconds(stamp, "time stamp (时间标识)")
        else:
            t = clock_seconds(cell("clock") or "")
        can_id = hex_int(cell("id") or "", "frame id (帧ID)")
        extended: bool | None = None
        kind = "data"
        for word in (cell("kind"), cell("format")):  # ZLG's versions swap the two names
            word = (word or "").strip()
            if word in ZLG_FORMATS:
                extended = ZLG_FORMATS[word]
            elif word in ZLG_TYPES:
                kind = ZLG_TYPES[word]
            elif word:
                raise ValueError(f"the frame type {word[:12]!r} is none of 标准帧 扩展帧 数据帧 远程帧 错误帧")
        if extended is None:
            extended = can_id > STANDARD_ID_MAX
        if kind == "error":
            return can.Message(timestamp=t, is_error_frame=True)
        length_text = cell("length")
        length = number(length_text, "length (数据长度)") if length_text else None
        direction = (cell("direction") or "").strip()
        if kind == "remote":
            return can.Message(
                timestamp=t,
                arbitration_id=can_id,
                is_extended_id=extended,
                is_remote_frame=True,
                dlc=length or 0,
                is_rx=direction != "发送",
            )
        data = hex_bytes(cell("data") or "", "data (数据)")
        if length is not None and length != len(data):
            raise ValueError(f"the length (数据长度) says {length} bytes, the data holds {len(data)}")
        return _frame(t, can_id, extended, data, direction != "发送")

    return parse


SAVVY_COLUMNS = ("time stamp", "id", "extended")


def savvycan_row(roles: dict[str, int]) -> Row:
    data_columns = sorted((int(name[1:]), i) for name, i in roles.items() if re.fullmatch(r"d\d+", name))

    def parse(cells: list[str]) -> can.Message:
        t = number(cells[roles["time stamp"]], "Time Stamp (µs)") * 1e-6
        can_id = hex_int(cells[roles["id"]], "ID")
        extended_text = cells[roles["extended"]].strip().lower()
        if extended_text not in ("true", "false", "1", "0"):
            raise ValueError(f"Extended {extended_text[:12]!r} is neither true nor false")
        length = number(cells[roles["len"]], "LEN") if "len" in roles else None
        data = bytes(hex_int(cells[i], f"byte D{n}") for n, i in data_columns if i < len(cells) and cells[i].strip())
        if length is not None:
            if length > len(data):
                raise ValueError(f"LEN says {length} bytes, the D columns hold {len(data)}")
            data = data[:length]
        rx = cells[roles["dir"]].strip().lower() != "tx" if "dir" in roles else True
        return _frame(t, can_id, extended_text in ("true", "1"), data, rx)

    return parse


def generic_row(roles: dict[str, int]) -> Row:
    def parse(cells: list[str]) -> can.Message:
        t = seconds(cells[roles["time"]])
        id_text = cells[roles["id"]].strip()
        can_id = hex_int(id_text, "id")
        digits = id_text[2:] if id_text.lower().startswith("0x") else id_text
        data = hex_bytes(cells[roles["data"]])
        return _frame(t, can_id, can_id > STANDARD_ID_MAX or len(digits) == 8, data, True)

    return parse


def _frame(t: float, can_id: int, extended: bool, data: bytes, rx: bool) -> can.Message:
    if can_id >= 1 << 29 or (not extended and can_id > STANDARD_ID_MAX):
        raise ValueError(f"the id {can_id:#x} is wider than {'29' if extended else '11'} bits")
    return can.Message(
        timestamp=t,
        arbitration_id=can_id,
        is_extended_id=extended,
        data=data,
        dlc=len(data),
        is_fd=len(data) > CLASSIC_MAX,
        is_rx=rx,
    )


def open_table(path: Path, raw: BinaryIO) -> Table:
    """Find the header line and the layout it names; ProtocolError when there is none."""
    lines = TableLines(raw)
    for text in lines:
        if lines.number > HEADER_SEARCH_LINES:
            break
        if not text.strip():
            continue
        split = splitter(text)
        cells = split(text)
        zlg = zlg_layout(cells)
        if zlg is not None:
            use_stamp = "stamp" in zlg
            return Table(lines, "ZLG", split, zlg_row(zlg, use_stamp), max(zlg.values()) + 1)
        names = {c.strip().lower(): i for i, c in enumerate(cells)}
        if all(c in names for c in SAVVY_COLUMNS):
            return Table(lines, "SavvyCAN", split, savvycan_row(names), max(names[c] for c in SAVVY_COLUMNS) + 1)
        generic: dict[str, int] = {role: names[role] for role in ("time", "id", "data") if role in names}
        if len(generic) < 3 and "timestamp" in names and "id" in names and "data" in names:
            generic = {"time": names["timestamp"], "id": names["id"], "data": names["data"]}
        if len(generic) == 3:
            return Table(lines, "time,id,data", split, generic_row(generic), max(generic.values()) + 1)
    lines.close()
    raise ProtocolError(
        f"{path}: no header line naming the columns of a ZLG export (帧ID, 数据 and 时间标识 or 系统时间), "
        "a SavvyCAN CSV (Time Stamp, ID, Extended, …) or a time,id,data CSV "
        f"in its first {HEADER_SEARCH_LINES} lines"
    )
