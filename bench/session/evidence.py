"""Evidence for the report: Allure labels and attachments, CAN traces, platform log, summary.

Per test: the CAN trace (.asc, .blf, candump) and the conformance monitor run from
``begin_test`` to ``end_test``; the platform messages of the test are attached from the
run's platform log; plots and raw data are attached as the test produces them. Per run:
``instruments.json`` (identity, calibration, accuracy). summary.json is the run record's
(bench/session/run_record.py).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

DOCUMENTS = {
    "changji": "Residential charging technical rules (Attachment 3)",
    "gbt18487.1": "GB/T 18487.1-2015 Conductive charging system",
    "gbt27930": "GB/T 27930-2015 Charger–BMS communication",
    "nbt33001": "NB/T 33001 DC charger (via GB/T 34657.1)",
    "gbt34657.1": "GB/T 34657.1 Interoperability test",
}


def _allure():
    try:
        import allure
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return None
    return allure


def name_parameters(named: dict[str, str]) -> None:
    """Allure parameters by name ("current limit = 16 A"). pytest's own ``operating_point``
    parameter says the same without names or units: it is hidden where the installed
    allure-pytest lets a parameter's mode change (its ``add_parameter`` keeps an existing
    parameter's mode), and carries the named text where it does not."""
    allure = _allure()
    if allure is None:
        return
    allure.dynamic.parameter("operating_point", ", ".join(f"{name} = {value}" for name, value in named.items()))
    for name, value in named.items():
        allure.dynamic.parameter(name, value)
    _hide_parameter("operating_point")


def _hide_parameter(name: str) -> None:
    try:
        from allure_commons import plugin_manager
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return
    for plugin in plugin_manager.get_plugins():
        logger = getattr(plugin, "allure_logger", None)
        result = logger.get_test(None) if logger is not None else None
        for parameter in getattr(result, "parameters", None) or []:
            if parameter.name == name:
                parameter.mode = "hidden"


def clause_labels(clause: str) -> tuple[str, str, str]:
    """``changji:4.2.10.5`` → (epic = document, feature = clause group, story = clause)."""
    document, _, number = clause.partition(":")
    parts = number.split(".")
    group = ".".join(parts[:3]) if len(parts) > 3 else ".".join(parts[:2]) or number
    return DOCUMENTS.get(document, document), f"{document} {group}", f"{document} {number}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120]


class Evidence:
    def __init__(self, session):
        self.session = session
        self.trace = None
        self.monitor = None
        self._log_mark = None  # where the test's platform messages begin in the run's log
        self.test_dir: Path | None = None
        self.test_folders: dict[str, str] = {}  # folder name under tests/ → the test's node id
        self._on_end: list = []

    def on_end(self, fn) -> None:
        """Run ``fn`` when the current test ends (before its evidence is attached)."""
        self._on_end.append(fn)

    # -- per run -----------------------------------------------------------------------------
    def write_instrument_list(self) -> None:
        path = self.session.run_dir / "instruments.json"
        path.write_text(json.dumps(self.session.identities, ensure_ascii=False, indent=1), encoding="utf-8")

    # -- per test ----------------------------------------------------------------------------
    def begin_test(self, node) -> None:
        s = self.session
        self.test_dir = s.run_dir / "tests" / _slug(node.name)
        self.test_dir.mkdir(parents=True, exist_ok=True)
        self.test_folders[self.test_dir.name] = node.nodeid
        self._label(node)
        self._log_mark = s.platform_log.mark() if s.platform_log is not None else None
        if s.can is not None:
            from bench.protocols.gbt27930.monitor import ConformanceMonitor
            from bench.protocols.gbt27930.trace import TraceRecorder

            tolerance = s.limits["gbt27930:messages:period"].relative_pct / 100.0
            self.trace = TraceRecorder(s.can, self.test_dir, "can")
            self.monitor = ConformanceMonitor(
                s.can, period_tolerance=tolerance, extension_dbc_path=_extension_dbc(s.profile)
            )

    def end_test(self, node) -> None:
        s = self.session
        while self._on_end:
            self._on_end.pop()()
        if self.trace is not None:
            self.trace.close()
            for suffix in ("asc", "log"):
                self.attach_file(f"CAN trace (.{suffix})", self.trace.paths[suffix])
            self.attach_file("CAN trace (.blf)", self.trace.paths["blf"], "application/octet-stream")
            self.trace = None
        if self.monitor is not None:
            self.monitor.close()
            findings = [f"{f.time:10.3f} s  {f.kind}: {f.message}" for f in self.monitor.findings]
            if findings:
                self.attach_text("GB/T 27930 monitor findings", "\n".join(findings))
            self.monitor = None
        if s.platform_log is not None and self._log_mark is not None:
            # Read back from the run's platform.log (memory holds only the latest messages).
            text = s.platform_log.text_since(self._log_mark)
            self._log_mark = None
            if text:
                self.attach_text("platform messages", text.rstrip("\n"))
        self.attach_json("instruments", s.identities)

    def _label(self, node) -> None:
        allure = _allure()
        if allure is None:
            return
        # Epic/feature/story come from the clause marker at collection (bench/plugin.py).
        allure.dynamic.parameter("profile", self.session.profile.name)
        allure.dynamic.parameter("DUT", f"{self.session.profile.dut.manufacturer} {self.session.profile.dut.model}")
        problems = self.session.record.problems
        if problems:  # a development run on instruments a type test would refuse
            allure.dynamic.tag(f"INSTRUMENT PROBLEMS: {len(problems)}")
            allure.dynamic.description(
                "Instrument problems (a type test would refuse this bench):\n\n"
                + "\n".join(f"- {p['role']}: {p['message']}" for p in problems)
            )

    # -- attachments -------------------------------------------------------------------------
    def _in_test(self):
        """Allure, while a test is running (attachments outside a test have no home)."""
        return _allure() if self.session.current_test else None

    def attach_text(self, name: str, text: str) -> None:
        allure = self._in_test()
        if allure is not None:
            allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)

    def attach_json(self, name: str, data) -> None:
        allure = self._in_test()
        if allure is not None:
            allure.attach(
                json.dumps(data, ensure_ascii=False, indent=1, default=str),
                name=name,
                attachment_type=allure.attachment_type.JSON,
            )

    def attach_file(self, name: str, path: Path, mime: str = "text/plain") -> None:
        allure = self._in_test()
        if allure is not None and Path(path).exists():
            allure.attach.file(str(path), name=name, extension=Path(path).suffix.lstrip("."))

    def save_csv(self, name: str, header: list[str], rows) -> Path:
        """Raw data: written to the test's folder as it is produced, and attached."""
        path = (self.test_dir or self.session.run_dir) / f"{_slug(name)}.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(rows)
        self.attach_file(name, path)
        return path

    def save_plot(self, name: str, figure) -> Path:
        path = (self.test_dir or self.session.run_dir) / f"{_slug(name)}.png"
        figure.savefig(path, dpi=100)
        allure = self._in_test()
        if allure is not None:
            allure.attach.file(str(path), name=name, attachment_type=allure.attachment_type.PNG)
        return path


def _extension_dbc(profile):
    vehicle = profile.vehicle
    return str(vehicle.extension.dbc) if vehicle is not None and vehicle.extension.dbc else None
