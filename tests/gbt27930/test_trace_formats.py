"""`bench decode` reads the traces other tools write: one emulated session, written in every
accepted format (python-can's writers where it has them, by hand otherwise), decodes to the
same clean session; a damaged line is skipped with a finding naming it; a file that ends
early says so; the exit code tells a complete decode from a damaged file."""

from __future__ import annotations

import can
import pytest

from bench.cli import main
from bench.protocols.gbt27930 import findings as fk
from bench.protocols.gbt27930.decode import decode_trace

from . import trace_writers as w
from .test_trace import record_session

CLEAN = ["handshake", "configuration", "charging", "end"]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    directory = tmp_path_factory.mktemp("session")
    paths, frames, _ = record_session(directory)
    with can.LogReader(str(paths["log"])) as reader:
        msgs = list(reader)
    assert len(msgs) == frames
    return directory, paths, msgs


WRITERS = {
    "trc 1.0 (TRCWriter)": lambda d, m: w.python_can_writer(d / "v10.trc", m, "trc-1.0"),
    "trc 2.1 (TRCWriter)": lambda d, m: w.python_can_writer(d / "v21.trc", m, "trc-2.1"),
    "trc 1.1": lambda d, m: w.write_trc(d / "v11.trc", m, "1.1"),
    "trc 1.3": lambda d, m: w.write_trc(d / "v13.trc", m, "1.3"),
    "trc 2.0": lambda d, m: w.write_trc(d / "v20.trc", m, "2.0"),
    "zlg tab .txt": lambda d, m: w.write_zlg(d / "zlg.txt", m, "\t"),
    "zlg comma .csv": lambda d, m: w.write_zlg(d / "zlg.csv", m, ","),
    "zlg space .txt": lambda d, m: w.write_zlg(d / "zlg-space.txt", m, " "),
    "savvycan .csv": lambda d, m: w.write_savvycan(d / "savvy.csv", m),
    "time,id,data .csv": lambda d, m: w.write_generic(d / "generic.csv", m),
    "candump .log": lambda d, m: w.python_can_writer(d / "again.log", m, "log"),
    "asc": lambda d, m: w.python_can_writer(d / "again.asc", m, "asc"),
    "blf": lambda d, m: w.python_can_writer(d / "again.blf", m, "blf"),
}


def assert_clean_session(report, frames):
    assert report.frames == frames
    assert [p for _, p in report.phases] == CLEAN
    assert report.findings == [] and report.complete
    brm = next(e for e in report.messages if e.name == "BRM")
    assert brm.via_tp and brm.values["vin"]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("kind", list(WRITERS))
def test_every_format_decodes_to_the_same_clean_session(session, tmp_path, kind, gz):
    _, _, msgs = session
    path = WRITERS[kind](tmp_path, msgs)
    if gz:
        path = w.gzipped(path)
    report = decode_trace(path)
    assert_clean_session(report, len(msgs))
    bcl = [e for e in report.messages if e.name == "BCL"]
    assert bcl and bcl[0].values["current_demand"] < 0


def test_zlg_export_is_gbk_and_its_system_time_is_used_without_a_time_stamp(session, tmp_path):
    _, _, msgs = session
    path = w.write_zlg(tmp_path / "zlg.txt", msgs)
    raw = path.read_bytes()
    assert "帧类型".encode("gbk") in raw and "帧类型".encode() not in raw
    # the same export without its 时间标识 column: 系统时间 (ms) gives the times
    lines = raw.decode("gbk").splitlines()
    without = ["\t".join(c for i, c in enumerate(line.split("\t")) if i != 2) for line in lines]
    path.write_bytes(("\r\n".join(without) + "\r\n").encode("gbk"))
    report = decode_trace(path)
    assert_clean_session(report, len(msgs))
    assert report.duration_s == pytest.approx(msgs[-1].timestamp - msgs[0].timestamp, abs=2e-3)


def test_a_gbk_comment_in_an_asc_file_does_not_refuse_it(session, tmp_path):
    _, paths, msgs = session
    lines = paths["asc"].read_bytes().split(b"\n")
    lines.insert(4, "// 充电桩 1 号枪，实验室记录".encode("gbk"))
    path = tmp_path / "commented.asc"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    assert_clean_session(decode_trace(path), len(msgs))


GOOD = "(1703560121.000000) can0 1826F456#010100"


def candump(tmp_path, *lines):
    path = tmp_path / "trace.log"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def skipped(report):
    return [f for f in report.findings if f.kind == fk.LINE_SKIPPED]


def test_a_candump_line_that_cannot_be_parsed_is_skipped_and_the_decode_goes_on(tmp_path):
    path = candump(
        tmp_path,
        GOOD,
        "(1703560121.250000) can0 1826F456#01ZZ00",
        "(1703560121.500000) can0 1826F456#010100",
        "(oops)",
        "(1703560121.750000) can0 1826F456#010100",
    )
    report = decode_trace(path)
    assert report.frames == 3 and not report.complete
    lines = skipped(report)
    assert [f.details["line"] for f in lines] == [2, 4]
    assert "line 2 skipped: the data '01ZZ00' is not hexadecimal bytes" == lines[0].message
    assert lines[1].message.startswith("line 4 skipped: '(oops)' is not a candump frame")


@pytest.mark.parametrize(
    "kind, bad",
    [
        ("trc 1.1", "     9)      2000.0  Rx     1826F456  3  01 01"),  # a byte short: python-can drops it silently
        ("trc 2.0", "      9      2000.000 DT 1826F4ZZ Rx  3  01 01 00"),
        ("zlg tab .txt", "00009\t00:00:02.000\t0x00004e20\tch1\t接收\t0x1826f456\t数据帧\t扩展帧\t0x08\tx| 01 01 00"),
        ("savvycan .csv", "1703560123000000,1826F456,maybe,Rx,0,3,01,01,00,,,,,"),
        ("time,id,data .csv", "1703560123.0,0x1826F456,01 0G"),
    ],
)
def test_a_line_that_cannot_be_parsed_is_skipped_in_every_text_format(session, tmp_path, kind, bad):
    _, _, msgs = session
    head, tail = msgs[:200], msgs[200:]
    path = WRITERS[kind](tmp_path, head)
    text = path.read_bytes()
    encoding = "gbk" if "zlg" in kind else "ascii"
    ending = b"\r\n" if text.endswith(b"\r\n") else b"\n"
    path.write_bytes(text + bad.encode(encoding) + ending)
    total = len(path.read_bytes().splitlines())
    report = decode_trace(path)
    assert report.frames == len(head)
    (line,) = skipped(report)
    assert line.details["line"] == total and f"line {total} skipped" in line.message
    assert tail  # (the rest of the session is not needed to see the line skipped)


def test_an_asc_frame_line_that_cannot_be_parsed_is_skipped(session, tmp_path):
    _, paths, msgs = session
    lines = paths["asc"].read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if " Rx " in line) + 3
    lines.insert(at, "   1.000000 1  1826F4ZZx       Rx   d 3 01 01 00")
    path = tmp_path / "bad.asc"
    path.write_text("\n".join(lines) + "\n")
    report = decode_trace(path)
    assert report.frames == len(msgs)
    (line,) = skipped(report)
    assert line.details["line"] == at + 1 and "is not an ASC frame line" in line.message


def test_many_bad_lines_name_the_first_hundred_and_count_the_rest(tmp_path):
    path = candump(tmp_path, GOOD, *(["garbage"] * 150), GOOD.replace("121.0", "121.5"))
    report = decode_trace(path)
    lines = skipped(report)
    assert len(lines) == 101 and report.frames == 2
    assert lines[-1].details == {"line": 102, "last_line": 151, "count": 50}


# -- damaged files --------------------------------------------------------------------------------
def truncated(report):
    return [f for f in report.findings if f.kind == fk.FILE_TRUNCATED]


def test_a_truncated_blf_says_where_it_ends(session, tmp_path):
    _, paths, msgs = session
    whole = paths["blf"].read_bytes()
    path = tmp_path / "cut.blf"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    report = decode_trace(path)
    (cut,) = truncated(report)
    assert 0 < report.frames < len(msgs)
    assert cut.message.startswith(f"file ends after {report.frames} frames")


def test_a_blf_whose_recording_never_closed_says_so(tmp_path):
    from bench.protocols.gbt27930.trace import TraceRecorder

    from .fakes import EmulatedSession

    emu = EmulatedSession()
    recorder = TraceRecorder(emu.observer_bus, tmp_path, "live", flush_period_s=1.0)
    emu.clock.sleep(5.0)  # flushed, never closed: the header still says nothing was written
    report = decode_trace(recorder.paths["blf"])
    (cut,) = truncated(report)
    assert report.frames > 0 and "header was never completed" in cut.message
    recorder.close()
    emu.close()


def test_a_truncated_asc_says_where_it_ends(session, tmp_path):
    _, paths, msgs = session
    lines = paths["asc"].read_text().splitlines()
    path = tmp_path / "cut.asc"
    path.write_text("\n".join(lines[:150]) + "\n")
    report = decode_trace(path)
    (cut,) = truncated(report)
    assert cut.message.startswith(f"file ends after {report.frames} frames") and "End TriggerBlock" in cut.message


def test_a_text_file_cut_in_the_middle_of_a_line_says_so(tmp_path):
    path = tmp_path / "trace.log"
    path.write_text(f"{GOOD}\n(1703560121.250000) can0 1826F456#0101")
    report = decode_trace(path)
    (cut,) = truncated(report)
    assert "line 2 has no line end" in cut.message and report.frames == 2


def test_a_cut_gzip_stream_says_where_it_ends(session, tmp_path):
    _, paths, _ = session
    whole = w.gzipped(paths["log"]).read_bytes()
    path = tmp_path / "cut.log.gz"
    path.write_bytes(whole[: len(whole) // 2])
    report = decode_trace(path)
    (cut,) = truncated(report)
    assert "gzip stream is cut short" in cut.message and report.frames > 0


def test_timestamps_that_never_advance_give_a_finding_and_no_period(tmp_path):
    frame = "(1703560121.000000) can0 1826F456#010100"
    path = candump(tmp_path, *([frame] * 40))
    report = decode_trace(path)
    assert [f.kind for f in report.findings] == [fk.BAD_TIMESTAMPS]
    assert report.statistics["CHM"]["mean_period_s"] is None
    from bench.protocols.gbt27930.decode import format_text

    text = format_text(report)
    assert "mean 0.0 ms" not in text and "no period (timestamps unusable)" in text


def test_timestamps_that_go_backwards_give_a_finding_and_no_period(tmp_path):
    times = [0.25 * i for i in range(20)]
    times[10], times[11] = times[11], times[10]
    path = candump(tmp_path, *(f"({1703560121 + t:.6f}) can0 1826F456#010100" for t in times))
    report = decode_trace(path)
    (bad,) = [f for f in report.findings if f.kind == fk.BAD_TIMESTAMPS]
    assert "backwards 1 times" in bad.message
    assert not [f for f in report.findings if f.kind == fk.PERIOD_DEVIATION]
    assert report.statistics["CHM"]["intervals"] == 0


# -- exit codes -----------------------------------------------------------------------------------
def test_exit_codes(session, tmp_path, capsys):
    _, paths, _ = session
    assert main(["decode", str(paths["log"])]) == 0
    damaged = candump(tmp_path, GOOD, "garbage", GOOD.replace("121.0", "121.5"))
    assert main(["decode", str(damaged)]) == 1
    assert "line 2 skipped" in capsys.readouterr().out
    assert main(["decode", str(tmp_path / "missing.trc")]) == 2
    unknown = tmp_path / "trace.dat"
    unknown.write_text("x")
    assert main(["decode", str(unknown)]) == 2
    assert "cannot read .dat" in capsys.readouterr().err


def test_a_table_without_a_header_is_refused_naming_the_layouts(tmp_path, capsys):
    path = tmp_path / "trace.csv"
    path.write_text("1,2,3\n4,5,6\n")
    assert main(["decode", str(path)]) == 2
    err = capsys.readouterr().err
    assert "帧ID" in err and "Time Stamp" in err and "time,id,data" in err and len(err.strip().splitlines()) == 1
