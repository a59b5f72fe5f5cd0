"""Scope records written by other tools, read into evenly spaced (times, volts): the input of
``bench pwm``.

Formats (docs/scope-exports.md gives each layout and how sure we are of it):

* ``keysight``: InfiniiVision CSV. Line 1 ``x-axis,1[,2…]``, line 2 the units (``second,Volt``),
  then ``time,ch1[,ch2…]``.
* ``tektronix``: the CSV with a header block. Either (TDS1000/2000) six columns per line, the
  first three a header label, its value and unit ("Record Length", "Sample Interval", …), the
  fourth the time and the fifth the volts; or (MSO/DPO/MDO) a block of ``key,value`` lines
  ("Model", "Firmware Version", "Record Length", …) ended by a ``TIME,CH1[,CH2…]`` line.
* ``rigol``: DS1000Z CSV. Line 1 ``X,CH1[,CH2…],Start,Increment``, line 2
  ``Sequence,Volt[,Volt…],<start s>,<increment s>``, then ``index,ch1[,ch2…]``.
* ``siglent``: SDS CSV. A block of ``key,value`` lines ("Record Length", "Sample Interval", …)
  ended by ``Second,Value`` (or ``Second,Volt``), then ``time,volts``.
* ``generic``: ``time,volts[,volts…]`` with at most one header line.
* ``npz``: the bench's own records (bench/api/scope.py ``save_record``): ``<signal>_volts`` and
  ``<signal>_t0_dt`` per signal.

A file none of these fit, or whose times are not evenly spaced, raises ScopeFileError with one
line naming the file and why.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.core.errors import BenchError

HEAD_LINES = 64  # the header block of any format fits in these
EVEN_SPACING = 0.5  # each time within this share of a sample interval of the even grid
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class ScopeFileError(BenchError):
    """A scope export the bench cannot read."""

    def __init__(self, path: Path, why: str):
        super().__init__(f"{path}: {why}")


@dataclass(frozen=True)
class ScopeExport:
    times: np.ndarray
    volts: np.ndarray
    format: str
    channel: str  # the column or signal read
    sample_interval_s: float


def read_scope_export(path: str | Path, channel: int | None = None) -> ScopeExport:
    """The record of ``channel`` (1-based, in the file's order; default the first)."""
    path = Path(path)
    if not path.is_file():
        raise ScopeFileError(path, "no such file")
    if path.suffix.lower() == ".npz":
        return _npz(path, channel)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="strict")
    except UnicodeDecodeError as exc:
        raise ScopeFileError(path, f"not a text export (byte {exc.start} is no UTF-8)") from None
    rows = list(csv.reader(io.StringIO(text[: 64 * 1024]), skipinitialspace=True))[:HEAD_LINES]
    rows = [[cell.strip() for cell in row] for row in rows]
    if not any(rows):
        raise ScopeFileError(path, "empty file")
    layout = _layout(rows)
    if layout is None:
        raise ScopeFileError(path, "no known scope export layout (Keysight, Tektronix, Rigol, Siglent, time,volts)")
    name, skip, time_column, columns, start_step = layout
    index = (channel or 1) - 1
    if not 0 <= index < len(columns):
        raise ScopeFileError(path, f"channel {channel}: the file has {len(columns)} ({', '.join(columns)})")
    data = _numbers(path, text, skip, (time_column, time_column + 1 + index))
    if start_step is not None:  # Rigol: an index column and the start and increment from the header
        data[:, 0] = start_step[0] + data[:, 0] * start_step[1]
    return _even(path, data[:, 0], data[:, 1], name, columns[index])


def _layout(rows: list[list[str]]) -> tuple[str, int, int, list[str], tuple[float, float] | None] | None:
    """(format, header lines to skip, time column, channel names, Rigol's start and increment)."""
    first = [cell.lower() for cell in rows[0]]
    if first and first[0] == "x-axis":
        return "keysight", 2, 0, [f"channel {c}" for c in rows[0][1:] if c], None
    if first and first[0] == "x" and "increment" in first:
        names = [c for c in rows[0][1:] if c and c.lower() not in ("start", "increment")]
        values = rows[1]
        at = first.index("start")
        if len(values) <= at + 1 or not (_number(values[at]) and _number(values[at + 1])):
            return None
        return "rigol", 2, 0, names, (float(values[at]), float(values[at + 1]))
    for number, row in enumerate(rows):
        lowered = [cell.lower() for cell in row]
        if lowered[:1] == ["time"] and len(row) > 1 and number > 0:  # after its header block
            return "tektronix", number + 1, 0, [c for c in row[1:] if c], None
        if lowered[:2] in (["second", "value"], ["second", "volt"]):
            return "siglent", number + 1, 0, ["value"], None
    if len(rows[0]) >= 5 and not _number(rows[0][0]) and _number(rows[0][3]) and _number(rows[0][4]):
        return "tektronix-tds", 0, 3, ["the file's channel"], None  # one channel per file
    numeric = [i for i, row in enumerate(rows) if len(row) >= 2 and _number(row[0]) and _number(row[1])]
    if numeric and numeric[0] <= 1 and all(i == numeric[0] + k for k, i in enumerate(numeric)):
        width = len([c for c in rows[numeric[0]] if c])
        names = rows[0][1:width] if numeric[0] == 1 else [f"column {i + 1}" for i in range(1, width)]
        return "generic", numeric[0], 0, names, None
    return None


def _number(cell: str) -> bool:
    return bool(NUMBER.match(cell.strip()))


def _numbers(path: Path, text: str, skip: int, columns: tuple[int, int]) -> np.ndarray:
    try:
        data = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=skip, usecols=columns, ndmin=2, encoding=None)
    except ValueError as exc:
        raise ScopeFileError(path, f"a data line is not numbers ({str(exc).splitlines()[0]})") from None
    if len(data) < 2:
        raise ScopeFileError(path, "fewer than two samples")
    return np.asarray(data, dtype=float)


def _even(path: Path, times: np.ndarray, volts: np.ndarray, name: str, channel: str) -> ScopeExport:
    n = len(times)
    step = (times[-1] - times[0]) / (n - 1)
    if not step > 0:
        raise ScopeFileError(path, "the times do not increase")
    grid = times[0] + step * np.arange(n)
    worst = float(np.max(np.abs(times - grid)))
    if worst > EVEN_SPACING * step:
        raise ScopeFileError(path, f"the times are not evenly spaced (a sample {worst / step:.2f} intervals off)")
    return ScopeExport(grid, volts, name, channel, float(step))


def _npz(path: Path, channel: int | None) -> ScopeExport:
    try:
        with np.load(path) as archive:
            signals = [key.removesuffix("_volts") for key in archive.files if key.endswith("_volts")]
            index = (channel or 1) - 1
            if not signals:
                raise ScopeFileError(path, "no <signal>_volts array: not a bench record")
            if not 0 <= index < len(signals):
                raise ScopeFileError(path, f"channel {channel}: the record has {len(signals)} ({', '.join(signals)})")
            signal = signals[index]
            volts = np.asarray(archive[f"{signal}_volts"], dtype=float)
            t0, dt = (float(v) for v in archive[f"{signal}_t0_dt"])
    except (OSError, ValueError, KeyError) as exc:
        raise ScopeFileError(path, f"not a bench record ({type(exc).__name__}: {exc})") from None
    if not dt > 0 or len(volts) < 2:
        raise ScopeFileError(path, "no samples or no sample interval")
    return ScopeExport(t0 + dt * np.arange(len(volts)), volts, "npz", signal, dt)
