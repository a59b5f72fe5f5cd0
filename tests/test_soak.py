"""Long runs with bounded memory (issue 8): one hour of bench time of continuous DC charging on
the simulated bench, through the real session API, with a platform command (a power limit
change) every minute.

The soak runs in a fresh Python process, so that its RSS is its own: in a pytest worker that
ran other tests first, new objects would reuse freed memory and hide growth. RSS (VmRSS) is
sampled every minute of bench time; the growth per hour is the slope of a straight-line fit
over the samples after the warm-up (the bounded stores fill during it), never one
difference. Peak RSS is that process's own (``peak_rss_mb``).

The figures are printed (``python -m tests.test_soak``) and, in the test run, among the
figures the tests measure (tests/figures.py), at the end of the run. The simulated
instruments' own command logs (instruments/sim/scpi.py and modbus.py keep every command a
front end received) are part of the process but not of a bench session — on a real bench
they do not exist — so their share is estimated from their objects' sizes and shown beside
the growth, and the 5 MB/h goal is asserted on the rest (when the fit is steady enough).

``benchmarks/bench_long_run.py`` runs the same for 8 hours of bench time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from bench.protocols.gbt27930.catalogue import BY_NAME, BY_PGN, TP_CM_PGN, TP_DT_PGN
from bench.protocols.gbt27930.ids import parse_id
from bench.protocols.gbt27930.transport import RTS
from tests.support.nodes import FakeNode

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "profiles" / "sim-dc-60kw.toml"
GOAL_MB_PER_H = 5.0
SOAK_HOURS = 1.0
COMMAND_EVERY_S = 60.0  # a platform command, and an RSS sample, every minute of bench time
WARM_UP_S = 600.0  # the bounded stores (platform log, frame log, caches) fill during it
# The growth figure is trusted only when the fit's standard error is this small.
ROBUST_STDERR_MB_PER_H = 1.0


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no {field} in /proc/self/status")


def vm_rss_mb() -> float:
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """This process's peak RSS: ``ru_maxrss``, unless it carries a parent's peak. Linux keeps
    the larger of the old and the new image's peak across exec, so a process started from a
    pytest worker would report the worker's; VmHWM is the peak of this image alone."""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux
    return min(maxrss, _status_mb("VmHWM"))


# -- counting frames, measuring periods -----------------------------------------------------
class FrameCounter:
    """Frames one bus endpoint sent and received, per message, and the schedule of the periodic
    ones as received: for each, the first receive time, the count, the mean period and the
    largest distance of a receive time from ``first + k · period`` (streamed: constant memory).
    A TP transfer (BCS …) is timed by its RTS; its packets are counted as TP.CM / TP.DT."""

    def __init__(self, bus, extension=None):
        # The profile's 4.2.7 extension messages: PGN → (name, period).
        self._extension = {m.pgn: (m.name, m.period_s) for m in (extension.messages if extension else ())}
        self._kinds: dict[int, tuple[str, float | None]] = {}  # CAN ID → (name, nominal period)
        self.sent: dict[str, int] = {}
        self.received: dict[str, int] = {}
        self.schedule: dict[str, list] = {}  # name → [first, count, last, max |deviation|, period]
        self._handles = [bus.on_send(self._on_send), bus.on_receive(self._on_receive)]

    def _kind(self, can_id: int) -> tuple[str, float | None]:
        kind = self._kinds.get(can_id)
        if kind is None:
            kind = self._kinds[can_id] = self._of_pgn(parse_id(can_id)[1])
        return kind

    def _of_pgn(self, pgn: int) -> tuple[str, float | None]:
        if pgn in (TP_CM_PGN, TP_DT_PGN):
            return ("TP.CM" if pgn == TP_CM_PGN else "TP.DT"), None
        spec = BY_PGN.get(pgn)
        if spec is not None:
            return spec.name, spec.period_s
        return self._extension.get(pgn, (f"PGN {pgn:#06x}", None))

    def _on_send(self, msg) -> None:
        name = self._kind(msg.arbitration_id)[0]
        self.sent[name] = self.sent.get(name, 0) + 1

    def _on_receive(self, msg) -> None:
        name, period = self._kind(msg.arbitration_id)
        self.received[name] = self.received.get(name, 0) + 1
        if name == "TP.CM" and msg.data[0] == RTS:  # a transfer starts: time it by its RTS
            name, period = self._of_pgn(msg.data[5] | (msg.data[6] << 8) | (msg.data[7] << 16))
            name += " (RTS)"
        if not period:
            return
        t = msg.timestamp
        entry = self.schedule.get(name)
        if entry is None:
            self.schedule[name] = [t, 1, t, 0.0, period]
            return
        entry[3] = max(entry[3], abs(t - (entry[0] + entry[1] * period)))
        entry[1] += 1
        entry[2] = t

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        return dict(self.sent), dict(self.received)

    def periods(self) -> dict[str, dict]:
        """Per periodic message as received: count, nominal and mean period, drift over the run
        (last − first − (n − 1) · nominal) and the largest deviation from the schedule."""
        out = {}
        for name, (first, count, last, worst, period) in self.schedule.items():
            if count < 2:
                continue
            out[name] = {
                "count": count,
                "nominal_s": period,
                "mean_s": (last - first) / (count - 1),
                "drift_s": last - first - (count - 1) * period,
                "max_deviation_s": worst,
                "first_s": first,
                "span_s": last - first,
            }
        return out

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()


def sim_log_bytes(session) -> int:
    """Bytes held by the simulated instruments' command logs (each front end keeps the latest
    commands it received, instruments/sim/command_log.py): object sizes rounded to the
    allocator's 16 bytes, plus the list's pointer. A close estimate of their share of RSS."""

    def size(obj) -> int:
        if isinstance(obj, int) and -5 <= obj <= 256:
            return 0  # small ints are shared
        return (sys.getsizeof(obj) + 15) // 16 * 16

    total = 0
    for listener in list(getattr(getattr(session.sim, "hub", None), "_listeners", {}).values()):
        log = getattr(listener.front_end, "log", None)
        if log is None:
            continue
        for entry in list(log):
            total += 8 + size(entry) + (sum(size(part) for part in entry) if isinstance(entry, tuple) else 0)
    return total


# -- the run --------------------------------------------------------------------------------
def run_soak(
    hours: float,
    run_dir: Path,
    *,
    command_every_s: float = COMMAND_EVERY_S,
    warm_up_s: float = WARM_UP_S,
    progress=None,
) -> dict:
    """Charge continuously for ``hours`` of bench time with a platform power-limit change every
    ``command_every_s``, the session's record in ``run_dir``; the figures (memory, frames,
    periods, what was written)."""
    from bench.api import facade_for
    from bench.core.profile import load_profile
    from bench.session.session import BenchSession
    from instruments import registry

    wall_start = time.perf_counter()
    run_dir = Path(run_dir)
    profile = load_profile(PROFILE, registry.transports())
    session = BenchSession(profile, run_dir)
    session.open()
    node = FakeNode("tests/test_soak.py", "soak")
    bench_side = charger_side = None
    samples: list[tuple[float, float]] = []  # (bench hours after the start, VmRSS MB)
    sim_logs = []  # (bench hours, bytes) at the end of the warm-up and at the end
    missed, not_charging = [], []
    written_early: dict[str, int] = {}
    try:
        session.begin_test(node)
        bench = facade_for(session, "quick")  # its frame log starts here, and so do the counts
        bench_side = FrameCounter(session.can, bench.frames.extension)
        charger_side = FrameCounter(session.sim.charger_bus, bench.frames.extension)
        bench.deliver()
        start = bench.now()
        levels = bench.output_level_points()
        target = None
        minutes = int(round(hours * 3600.0 / command_every_s))
        warm_up_s = min(warm_up_s, minutes * command_every_s / 2)  # a short run still has samples
        for k in range(minutes):
            bench.wait(command_every_s)
            elapsed = bench.now() - start
            if target is not None:
                level = bench.output_level()
                if level is None or abs(level - target) > bench.output_level_band(target):
                    missed.append((round(elapsed, 3), target, level))
            if session.bms.phase != "charging":
                not_charging.append((round(elapsed, 3), session.bms.phase))
            assert bench.frames.last("BCL", bench.now() - 1.0) is not None, "no BCL in the last second"
            target = levels[k % 2]
            bench.command_output_level(target)
            if elapsed >= warm_up_s:
                if not sim_logs:
                    sim_logs.append((elapsed / 3600.0, sim_log_bytes(session)))
                    # Written as they grow, not at the end.
                    written_early = {
                        name: (run_dir / name).stat().st_size for name in ("sim_history.jsonl", "platform.log")
                    }
                samples.append((elapsed / 3600.0, vm_rss_mb()))
            if progress is not None:
                progress(elapsed, vm_rss_mb())
        sim_logs.append(((bench.now() - start) / 3600.0, sim_log_bytes(session)))
        # At the end of a wait every frame sent has been delivered: the counts must agree.
        (bench_sent, bench_received), (charger_sent, charger_received) = bench_side.counts(), charger_side.counts()
        peak_in_run = peak_rss_mb()
        bench_hours = (bench.now() - start) / 3600.0
        charging_wall = time.perf_counter() - wall_start
        # Read back what memory no longer holds: every BSM frame of the test from the spool.
        bsm_in_log = len(bench.frames.frames("BSM", 0.0))
        frames_in_log = len(bench.frames)
    finally:
        session.end_test(node)
        for counter in (bench_side, charger_side):
            if counter is not None:
                counter.close()
        session.close()
    history_lines = sum(1 for _ in (run_dir / "sim_history.jsonl").open(encoding="utf-8"))
    platform_lines = sum(1 for _ in (run_dir / "platform.log").open(encoding="utf-8"))
    return {
        "bench_hours": bench_hours,
        "wall_s": time.perf_counter() - wall_start,
        "charging_wall_s": charging_wall,
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_in_run_mb": peak_in_run,
        "samples": samples,
        "sim_log_bytes": sim_logs,
        "commands": minutes,
        "missed_commands": missed,
        "not_charging": not_charging,
        "bench_sent": bench_sent,
        "bench_received": bench_received,
        "charger_sent": charger_sent,
        "charger_received": charger_received,
        "periods_at_charger": charger_side.periods(),
        "periods_at_bench": bench_side.periods(),
        "frames_in_log": frames_in_log,
        "bsm_in_log": bsm_in_log,
        "platform_log_lines": platform_lines,
        "platform_log_records": len(session.platform_log),
        "sim_history_lines": history_lines,
        "written_after_warm_up": written_early,
        "run_dir": str(run_dir),
        "disk_bytes": {
            str(path.relative_to(run_dir)): path.stat().st_size for path in sorted(run_dir.rglob("*")) if path.is_file()
        },
    }


def growth(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """(slope MB/h of a least-squares line through the samples, its standard error)."""
    hours = np.array([h for h, _ in samples])
    mb = np.array([m for _, m in samples])
    slope, intercept = np.polyfit(hours, mb, 1)
    fitted = slope * hours + intercept
    dof = max(len(hours) - 2, 1)
    sigma = np.sqrt(np.sum((mb - fitted) ** 2) / dof)
    stderr = sigma / np.sqrt(np.sum((hours - hours.mean()) ** 2))
    return float(slope), float(stderr)


def sim_log_growth(figures: dict) -> float:
    """MB/h held by the simulated instruments' command logs over the fitted part of the run."""
    (h0, b0), (h1, b1) = figures["sim_log_bytes"]
    return (b1 - b0) / 1e6 / (h1 - h0) if h1 > h0 else 0.0


def summary_line(figures: dict) -> str:
    slope, stderr = growth(figures["samples"])
    rss = [m for _, m in figures["samples"]]
    return (
        f"soak: {figures['bench_hours']:.2f} h of bench time of DC charging in {figures['wall_s']:.1f} s wall, "
        f"{figures['commands']} platform commands; peak RSS {figures['peak_rss_in_run_mb']:.1f} MB while charging, "
        f"{figures['peak_rss_mb']:.1f} MB with the read-back at the end "
        f"(VmRSS {rss[0]:.1f} → {rss[-1]:.1f} MB after the warm-up); "
        f"RSS growth {slope:.2f} ± {stderr:.2f} MB/h: the simulated instruments' command logs "
        f"≈ {sim_log_growth(figures):.2f} MB/h, the bench session {slope - sim_log_growth(figures):.2f} MB/h "
        f"(goal < {GOAL_MB_PER_H:g} MB/h)"
    )


def accounting_problems(figures: dict) -> list[str]:
    """Every frame one side sent, the other received, per message."""
    problems = []
    for sender, receiver, a, b in (
        ("bench", "charger", "bench_sent", "charger_received"),
        ("charger", "bench", "charger_sent", "bench_received"),
    ):
        for name in sorted(set(figures[a]) | set(figures[b])):
            sent, received = figures[a].get(name, 0), figures[b].get(name, 0)
            if sent != received:
                problems.append(f"{name}: {sender} sent {sent}, {receiver} received {received}")
    return problems


# -- the bounded stores read back what memory no longer holds -------------------------------
class _Handle:
    def __init__(self, listeners, fn):
        self._listeners, self._fn = listeners, fn

    def remove(self):
        self._listeners.remove(self._fn)


class _Bus:
    """What FrameLog needs of a ClockedBus: send and receive listeners."""

    def __init__(self):
        self.tx, self.rx = [], []

    def on_send(self, fn):
        self.tx.append(fn)
        return _Handle(self.tx, fn)

    def on_receive(self, fn):
        self.rx.append(fn)
        return _Handle(self.rx, fn)


class _EveryFrame:
    """The frame log as it was before it was bounded: every frame in a list (the oracle)."""

    def __init__(self, bus, extension):
        from bench.api.frames import FrameLog
        from bench.protocols.gbt27930.transport import TransportObserver

        self._decoder = FrameLog._decoder.__get__(self)  # the same names and decoders
        self.extension = extension
        self.raw = []
        self.transfers = []
        self._observer = TransportObserver(
            lambda pgn, data, s, d, start, end: self.transfers.append((end, pgn, bytes(data))), lambda finding: None
        )
        bus.on_send(self._keep)
        bus.on_receive(self._keep)

    def _keep(self, msg):
        self.raw.append((msg.timestamp, msg.arbitration_id, bytes(msg.data)))
        _, pgn, dest, src = parse_id(msg.arbitration_id)
        if pgn in (TP_CM_PGN, TP_DT_PGN):
            self._observer.feed(pgn, bytes(msg.data), src, dest, msg.timestamp)

    def frames(self, name, since=0.0):
        pgn, decode, transported = self._decoder(name)
        found = [(t, d) for t, i, d in self.raw if t >= since and parse_id(i)[1] == pgn]
        if transported:
            found += [(t, d) for t, p, d in self.transfers if t >= since and p == pgn]
            found.sort(key=lambda item: item[0])
        return [(t, decode(d)) for t, d in found]

    def last_time_from(self, address):
        return next((t for t, i, _ in reversed(self.raw) if i & 0xFF == address), None)


def _same(log, oracle, names, sinces, addresses):
    for name in names:
        for since in sinces:
            expected = oracle.frames(name, since)
            got = [(f.time, f.values) for f in log.frames(name, since)]
            assert got == expected, (name, since)
            first, last = log.first(name, since), log.last(name, since)
            assert (first.time, first.values) == expected[0] if expected else first is None, (name, since)
            assert (last.time, last.values) == expected[-1] if expected else last is None, (name, since)
    for address in addresses:
        assert log.last_time_from(address) == oracle.last_time_from(address)


def test_the_frame_log_keeps_a_minute_in_memory_and_reads_older_frames_back(monkeypatch, tmp_path):
    """A charging session's frames (single frames and TP transfers) through a frame log that
    spools all but its latest 64 frames and 8 transfers: every query answers as the log that
    kept everything."""
    import bench.api.frames as frames_module
    from bench.protocols.gbt27930 import extension as extension_dbc
    from bench.protocols.gbt27930.bms_config import BmsConfig
    from bench.protocols.gbt27930.ids import BMS_ADDRESS, CHARGER_ADDRESS
    from tests.gbt27930.fakes import EmulatedSession

    monkeypatch.setattr(frames_module, "RECENT_FRAMES", 64)
    monkeypatch.setattr(frames_module, "RECENT_TRANSFERS", 8)
    emu = EmulatedSession(config=BmsConfig(send_bmv=True, send_bmt=True))
    extension = extension_dbc.load(None)
    log = frames_module.FrameLog(emu.bench_bus, extension, tmp_path)
    oracle = _EveryFrame(emu.bench_bus, extension)
    emu.charge()
    emu.clock.sleep(30.0)
    emu.bms.stop()
    emu.clock.sleep(5.0)
    assert log._frames.spilled > 10 * 64 and log._transfers.spilled > 8, "the test should spool"
    assert len(log._frames.recent) < 2 * 64 and len(log._transfers.recent) < 2 * 8
    end = emu.clock.now()
    _same(
        log,
        oracle,
        ("BCL", "BCS", "CCS", "BRM", "BCP", "CHM", "BST", "CST", "BMV"),
        (0.0, 1.0, end / 2, end - 1.0, end - 0.01, end + 1.0),
        (BMS_ADDRESS, CHARGER_ADDRESS, 0x01),
    )
    assert len(log) == len(oracle.raw)
    log.close()
    emu.close()


def test_the_frame_log_answers_the_same_when_times_go_back(monkeypatch):
    """Frames whose times are not in order (a host that stamps late): no binary search, every
    query still as the log that kept everything."""
    import can

    import bench.api.frames as frames_module
    from bench.protocols.gbt27930 import extension as extension_dbc
    from bench.protocols.gbt27930.ids import BMS_ADDRESS, CHARGER_ADDRESS, frame_id

    monkeypatch.setattr(frames_module, "RECENT_FRAMES", 16)
    bus, extension = _Bus(), extension_dbc.load(None)
    log = frames_module.FrameLog(bus, extension)
    oracle = _EveryFrame(bus, extension)
    rng = np.random.default_rng(8)
    ids = [
        frame_id(6, BY_NAME["BCL"].pgn, CHARGER_ADDRESS, BMS_ADDRESS),
        frame_id(6, BY_NAME["CCS"].pgn, BMS_ADDRESS, CHARGER_ADDRESS),
        frame_id(3, BY_NAME["BCL"].pgn, CHARGER_ADDRESS, BMS_ADDRESS),
    ]
    for k in range(500):
        msg = can.Message(
            arbitration_id=ids[rng.integers(3)],
            data=bytes(rng.integers(0, 256, 5).tolist()),
            timestamp=k * 0.05 + float(rng.normal(0, 0.2)),
            is_extended_id=True,
        )
        for listener in bus.tx if k % 2 else bus.rx:
            listener(msg)
    assert not log._frames.ordered and log._frames.spilled > 400
    _same(log, oracle, ("BCL", "CCS", "BCS"), (-1.0, 0.0, 3.3, 12.5, 24.0, 30.0), (BMS_ADDRESS, CHARGER_ADDRESS))
    log.close()


def test_the_platform_log_keeps_the_latest_records_and_reads_the_rest_from_its_file(monkeypatch, tmp_path):
    import bench.platform.log as log_module
    from bench.platform.log import FROM_PILE, NOTE, TO_PILE, LogRecord, MessageLog

    monkeypatch.setattr(log_module, "RECENT_RECORDS", 10)
    log = MessageLog(tmp_path / "platform.log")
    expected = []
    marks = {}
    for k in range(60):
        if k in (5, 45, 55):
            marks[k] = log.mark()
        text = f"message {k}" if k != 20 else "a frame\nover two lines\twith a tab"
        direction = (TO_PILE, FROM_PILE, NOTE)[k % 3]
        log.add(k * 0.1 + 1e-7, direction, "modbus", text)
        expected.append(LogRecord(round(k * 0.1 + 1e-7, 6), direction, "modbus", text))
    assert len(log) == 60 and len(log._recent) == 10
    written = (tmp_path / "platform.log").read_text(encoding="utf-8")
    assert written == "".join(r.line() + "\n" for r in expected), "written as produced, one line each"
    for k, mark in marks.items():
        got = log.since(mark)
        assert [(r.direction, r.text) for r in got] == [(r.direction, r.text) for r in expected[k:]], k
        assert [r.bench_time for r in got] == pytest.approx([r.bench_time for r in expected[k:]], abs=1e-6)
        assert log.text_since(mark) == "".join(r.line() + "\n" for r in expected[k:])
    assert [r.text for r in log.records] == [r.text for r in expected]
    assert log.text() == written
    log.close()
    unbounded = MessageLog()  # no file: the latest records only
    for k in range(25):
        unbounded.add(k, NOTE, "ocpp16", str(k))
    assert [r.text for r in unbounded.records] == [str(k) for k in range(15, 25)] and len(unbounded) == 25


def test_the_sim_history_streams_every_entry_and_reads_back_what_memory_dropped(monkeypatch, tmp_path):
    import instruments.sim.plant.history as history_module
    from bench.core.clock import VirtualClock

    monkeypatch.setattr(history_module, "MAX_ENTRIES", 20)
    clock = VirtualClock()
    history = history_module.StateHistory(clock)
    history.record("grid", "output", True)
    path = tmp_path / "sim_history.jsonl"
    history.stream_to(path)
    for k in range(100):
        clock.sleep(0.5)
        history.record("ev", "k5k6", bool(k % 2))
        if k == 7:
            history.record("battery", "limits", (1.0, 2.5))
    assert len(history) <= 20
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 102 and lines[0] == [0.0, "grid", "output", True] and lines[9][3] == [1.0, 2.5]
    assert [list(e) for e in history.entries()] == lines
    assert history.first("battery", "limits") == 4.0  # dropped from memory: read from the file
    assert history.first("ev", "k5k6", False, after=49.0) == 49.5
    assert history.last_value("grid", "output") is True and history.last_value("battery", "limits") == (1.0, 2.5)
    assert len(history.of("ev", "k5k6")) == 100
    history.close_stream()


# -- the test -------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_an_hour_of_dc_charging_keeps_memory_bounded(tmp_path, figures):
    command = [
        sys.executable,
        "-m",
        "tests.test_soak",
        "--hours",
        str(SOAK_HOURS),
        "--json",
        "--run-dir",
        str(tmp_path / "run"),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=840)
    assert done.returncode == 0, done.stderr[-4000:]
    soak = json.loads(done.stdout.strip().splitlines()[-1])
    slope, stderr = growth(soak["samples"])
    robust = stderr <= ROBUST_STDERR_MB_PER_H
    topic = "soak (DC charging, a platform command every minute)"
    figures.add(topic, "bench time", f"{soak['bench_hours']:.2f} h in {soak['wall_s']:.1f} s of wall time")
    figures.add(
        topic,
        "peak RSS",
        f"{soak['peak_rss_in_run_mb']:.1f} MB while charging, "
        f"{soak['peak_rss_mb']:.1f} MB with the read-back at the end",
    )
    figures.add(
        topic,
        "RSS growth",
        f"{slope:.2f} ± {stderr:.2f} MB/h (fit of {len(soak['samples'])} samples after "
        f"{WARM_UP_S / 60:g} min): the simulated instruments' command logs "
        f"≈ {sim_log_growth(soak):.2f} MB/h, the bench session "
        f"{slope - sim_log_growth(soak):.2f} MB/h; goal < {GOAL_MB_PER_H:g} MB/h"
        + ("" if robust else " (fit too noisy: not judged)"),
    )

    assert soak["bench_hours"] == pytest.approx(SOAK_HOURS, abs=0.01)
    assert not soak["not_charging"], f"charging stopped: {soak['not_charging'][:5]}"
    assert not soak["missed_commands"], f"power limit not followed: {soak['missed_commands'][:5]}"
    assert not accounting_problems(soak), accounting_problems(soak)
    assert soak["frames_in_log"] == sum(soak["bench_sent"].values()) + sum(soak["bench_received"].values())
    assert soak["bsm_in_log"] == soak["bench_sent"]["BSM"], "the frame log lost BSM frames"
    assert soak["platform_log_lines"] == soak["platform_log_records"] > 2 * soak["commands"]
    assert soak["sim_history_lines"] > 0
    assert all(size > 0 for size in soak["written_after_warm_up"].values()), soak["written_after_warm_up"]

    if robust:  # else the figure says so
        assert slope - sim_log_growth(soak) < GOAL_MB_PER_H, summary_line(soak)


def main() -> None:
    parser = argparse.ArgumentParser(description="The soak: DC charging with a platform command every minute.")
    parser.add_argument("--hours", type=float, default=SOAK_HOURS)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    parser.add_argument("--run-dir", type=Path, help="where the session writes (default: a temporary folder, removed)")
    args = parser.parse_args()
    if args.run_dir is not None:
        figures = run_soak(args.hours, args.run_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
            figures = run_soak(args.hours, Path(tmp) / "run")
    print(summary_line(figures) if not args.json else json.dumps(figures))


if __name__ == "__main__":
    main()
