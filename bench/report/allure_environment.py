"""The Allure report's environment ("Metadata" in Allure 3's awesome report) from a run's summary.

Allure 3 reads the environment the way Allure 2 did: a Java properties file named
``environment.properties`` in a results folder (``@allurereport/reader``, allure2 reader →
the report's ``allure_environment``). One report shows one environment: the last file read.
(The allurerc ``environments`` key is something else: it splits the results into
environments by label.) The file is written in ASCII with ``\\uXXXX`` escapes, as Java and
Allure 2 expect.

What a lab needs to see beside the verdicts: the pile (model, manufacturer, serial, firmware),
the profile and its SHA-256, bench version and git commit, mode, every instrument's identity,
calibration due date (OVERDUE when past) and accuracy, and every problem the run recorded
(development mode runs with model/calibration problems and lists them there).
"""

from __future__ import annotations

from pathlib import Path

FILE_NAME = "environment.properties"


def environment_items(summary: dict) -> dict[str, str]:
    """The environment as ordered ``name → value`` pairs, from a summary.json dict."""
    items: dict[str, str] = {}

    def put(name: str, value) -> None:
        if value is None or value == "":
            return
        items[name] = value if isinstance(value, str) else _text(value)

    # The report shows the first eight at once (the rest behind "Show more"): the pile, the
    # mode and what is wrong with the run come first.
    dut = summary.get("dut") or {}
    put("DUT model", dut.get("model"))
    put("DUT serial", dut.get("serial"))
    put("DUT manufacturer", dut.get("manufacturer"))
    put("DUT firmware", dut.get("firmware"))
    put("Mode", summary.get("mode"))
    for number, problem in enumerate(summary.get("problems") or [], 1):
        role, kind = problem.get("role", "?"), problem.get("kind", "?")
        put(f"Problem {number} ({role}, {kind})", problem.get("message") or kind)
    for role, why in (summary.get("lost_instruments") or {}).items():
        put(f"Lost instrument {role}", why or "lost")
    put("Profile", summary.get("profile"))
    put("Profile SHA-256", summary.get("profile_sha256"))
    put("Bench version", summary.get("bench_version"))
    put("Git commit", summary.get("git_commit") or ("not a git checkout" if "git_commit" in summary else None))
    if "simulated" in summary:
        put("Bench", "simulated bench" if summary["simulated"] else "hardware")
    if dut.get("kind"):
        put("DUT kind", str(dut["kind"]).upper())
    put("Run", summary.get("run_id"))
    put("Started", summary.get("started"))
    if summary.get("end_reason") or "complete" in summary:
        end = summary.get("end_reason") or "not finished"
        put("Run end", end if summary.get("complete") else f"{end} (INCOMPLETE)")
    for instrument in summary.get("instruments") or []:
        role = instrument.get("role") or "instrument"
        put(f"{role} identity", instrument.get("identity"))
        if instrument.get("model_matches") is False:
            put(f"{role} expected model", f"{instrument.get('expected_model')} (found {instrument.get('model')})")
        put(f"{role} calibration due", _calibration(instrument))
        put(f"{role} accuracy", _accuracy(instrument.get("accuracy")))
    return items


def write_environment(results_dir: Path, summary: dict) -> Path:
    """Write ``results_dir/environment.properties`` from ``summary``; its path."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / FILE_NAME
    path.write_text(properties_text(environment_items(summary)), encoding="ascii")
    return path


def _calibration(instrument: dict) -> str:
    due = instrument.get("calibration_due")
    if not due:
        return "none given (MISSING)"
    if instrument.get("calibration_ok") is False:
        return f"{due} OVERDUE"
    return str(due)


def _accuracy(accuracy) -> str | None:
    if not accuracy:
        return None
    parts = []
    for quantity, spec in accuracy.items():
        if isinstance(spec, dict):
            pct, offset = _number(spec.get("pct_reading")), _number(spec.get("offset"))
            parts.append(f"{quantity} ±({pct} % of reading + {offset})")
        else:
            parts.append(f"{quantity} {spec}")
    return "; ".join(parts)


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


# -- Java properties ---------------------------------------------------------------------------
def _escape(text: str, *, key: bool) -> str:
    out = []
    for index, char in enumerate(text):
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char == "\f":
            out.append("\\f")
        elif char in "=:#!" and (key or index == 0):
            out.append("\\" + char)
        elif char == " " and (key or index == 0):
            out.append("\\ ")
        elif code < 0x20 or code > 0x7E:
            encoded = char.encode("utf-16-be")
            out.extend(f"\\u{int.from_bytes(encoded[i : i + 2], 'big'):04x}" for i in range(0, len(encoded), 2))
        else:
            out.append(char)
    return "".join(out)


def properties_text(items: dict[str, str]) -> str:
    """``items`` as a Java properties file (ASCII, ``\\uXXXX`` escapes), in order."""
    return "".join(f"{_escape(str(k), key=True)}={_escape(str(v), key=False)}\n" for k, v in items.items())


def parse_properties(text: str) -> dict[str, str]:
    """A Java properties file's ``key → value`` pairs, in order (comments, continuations,
    ``\\`` escapes and ``\\uXXXX``, as java.util.Properties)."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.lstrip(" \t\f")
        if not pending and (not line or line[0] in "#!"):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            pending += line[:-1]
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    items: dict[str, str] = {}
    for line in logical:
        key, index = _read(line, 0, key=True)
        while index < len(line) and line[index] in " \t\f":
            index += 1
        if index < len(line) and line[index] in "=:":
            index += 1
        while index < len(line) and line[index] in " \t\f":
            index += 1
        value, _ = _read(line, index, key=False)
        items[key] = value
    return items


def _read(line: str, index: int, *, key: bool) -> tuple[str, int]:
    out = []
    while index < len(line):
        char = line[index]
        if key and char in "=: \t\f":
            break
        if char == "\\" and index + 1 < len(line):
            nxt = line[index + 1]
            if nxt == "u" and index + 6 <= len(line):
                try:
                    out.append(chr(int(line[index + 2 : index + 6], 16)))
                    index += 6
                    continue
                except ValueError:
                    pass
            out.append({"n": "\n", "r": "\r", "t": "\t", "f": "\f"}.get(nxt, nxt))
            index += 2
            continue
        out.append(char)
        index += 1
    text = "".join(out)
    # \uXXXX pairs for characters beyond the BMP come out as surrogates: join them.
    return text.encode("utf-16", "surrogatepass").decode("utf-16"), index
