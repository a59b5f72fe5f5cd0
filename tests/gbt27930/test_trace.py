"""Traces: every frame in .asc, .blf and candump .log with bench-clock timestamps, readable back."""

import can
import pytest

from bench.protocols.gbt27930.decode import decode_trace
from bench.protocols.gbt27930.trace import TraceRecorder

from .fakes import EmulatedSession


def record_session(directory, stem="session"):
    emu = EmulatedSession()
    recorder = TraceRecorder(emu.observer_bus, directory, stem)
    emu.charge()
    emu.bms.request(400.0, 60.0)
    emu.clock.sleep(3.0)
    emu.bms.stop()
    emu.run_until(lambda: emu.charger.phase == "ended", 10)
    recorder.close()
    frames = recorder.frames
    epoch = emu.clock.epoch
    emu.close()
    return recorder.paths, frames, epoch


def test_three_formats_hold_every_frame_with_bench_timestamps(tmp_path):
    paths, frames, epoch = record_session(tmp_path)
    assert frames > 300
    for suffix, path in paths.items():
        options = {"relative_timestamp": False} if suffix == "asc" else {}
        with can.LogReader(str(path), **options) as reader:
            msgs = list(reader)
        assert len(msgs) == frames, suffix
        assert msgs[0].timestamp == pytest.approx(epoch, abs=1e-3), suffix
        assert msgs[0].arbitration_id == 0x1826F456 and msgs[0].is_extended_id
        assert msgs[-1].timestamp - msgs[0].timestamp == pytest.approx(21.0, abs=1.0)


@pytest.mark.parametrize("suffix", ["log", "asc", "blf"])
def test_recorded_traces_decode_to_the_same_clean_session(tmp_path, suffix):
    paths, _, _ = record_session(tmp_path)
    report = decode_trace(paths[suffix])
    assert [p for _, p in report.phases] == ["handshake", "configuration", "charging", "end"]
    assert report.findings == []
    assert any(e.name == "BRM" and e.via_tp for e in report.messages)


def test_the_same_virtual_run_writes_the_same_files(tmp_path):
    a, _, _ = record_session(tmp_path / "a")
    b, _, _ = record_session(tmp_path / "b")
    assert a["log"].read_bytes() == b["log"].read_bytes()
    assert a["blf"].read_bytes()[144:] == b["blf"].read_bytes()[144:]  # past the header's file times


def test_raw_data_is_written_while_the_session_runs(tmp_path):
    emu = EmulatedSession()
    recorder = TraceRecorder(emu.observer_bus, tmp_path, "live", flush_period_s=1.0)
    emu.clock.sleep(5.0)
    sizes = {s: p.stat().st_size for s, p in recorder.paths.items()}
    assert sizes["log"] > 0 and sizes["asc"] > 0 and sizes["blf"] > 0
    with can.LogReader(str(recorder.paths["log"])) as reader:
        assert len(list(reader)) >= 2 * 17  # CHM and BHM (4/s each) for 5 s, flushed within 1 s
    recorder.close()
    recorder.close()
    emu.close()
