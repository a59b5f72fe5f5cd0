"""One pytest run's bench settings: which profile, which [sim] overrides, where output goes,
and the run record that outlives the run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.errors import BenchError, ProfileError
from bench.core.profile import Profile, load_profile
from bench.report.coverage import CaseInfo
from bench.session.run_record import RunRecord


class RunFolderExists(BenchError):
    """A run folder is never reused: two runs in one folder would mix their records."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(f"{path}: the run folder exists; a run folder is never reused (choose another --run-id)")


@dataclass
class RunContext:
    profile_path: Path
    sim_overrides: dict[str, str]
    grid: str
    report_dir: Path
    run_id: str
    wants_bench: bool
    session: object = None
    record: RunRecord | None = None
    _profile: Profile | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config) -> RunContext:
        explicit = config.getoption("--profile")
        path = Path(explicit or config.getini("bench_profile"))
        if not path.is_absolute():
            path = Path(config.rootpath) / path if not path.exists() else path
        # Allure results, a run folder, the stop handling: only for runs of the conformance suite.
        suite = (Path(config.rootpath) / "testcases").resolve()
        here = Path(config.invocation_params.dir)
        wants = bool(explicit) or any(_within((here / str(a).split("::")[0]).resolve(), suite) for a in config.args)
        report_dir = Path(config.getoption("--report-dir"))
        return cls(
            profile_path=path,
            sim_overrides=parse_sim_sets(config.getoption("--sim-set")),
            grid=config.getoption("--grid"),
            report_dir=report_dir,
            run_id=config.getoption("--run-id") or new_run_id(report_dir, path.stem),
            wants_bench=wants,
        )

    @property
    def run_dir(self) -> Path:
        return self.report_dir / self.run_id / self.profile_path.stem

    def profile(self) -> Profile:
        if self._profile is None:
            from instruments import registry

            profile = load_profile(self.profile_path, registry.transports())
            self._profile = profile.with_sim(self.sim_overrides) if self.sim_overrides else profile
        return self._profile

    def start_record(self) -> RunRecord:
        """Check the profile, claim the run folder (never an existing one) and write the first
        summary.json (``complete: false``). Raises ProfileError or RunFolderExists."""
        profile = self.profile()
        self.run_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.run_dir.mkdir()
        except FileExistsError:
            raise RunFolderExists(self.run_dir) from None
        self.record = RunRecord(profile, self.run_dir, self.run_id)
        self.record.write()
        return self.record

    def note_cases(self, cases: list[CaseInfo]) -> None:
        if self.record is not None:
            self.record.cases = cases

    def open_session(self):
        if self.session is None:
            from bench.session.session import BenchSession

            session = BenchSession(self.profile(), self.run_dir, self.record)
            session.open()
            self.session = session
        return self.session

    def close_session(self) -> None:
        """Close the bench (the safe state first)."""
        if self.session is not None:
            try:
                self.session.close()
            finally:
                self.session = None

    def close_record(self, end_reason: str, complete: bool) -> dict | None:
        """Close the run record; return the final summary."""
        return self.record.close(end_reason, complete) if self.record is not None else None


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def new_run_id(report_dir: Path, profile_name: str = "") -> str:
    """Date and time, with a suffix when that folder is taken (a folder is never reused)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate, n = stamp, 1
    while (report_dir / candidate / profile_name).exists() if profile_name else (report_dir / candidate).exists():
        n += 1
        candidate = f"{stamp}-{n}"
    return candidate


def parse_sim_sets(items: list[str]) -> dict[str, str]:
    """``["key=value", ...]`` → dict; a malformed item is a one-line error."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ProfileError("--sim-set", item, "KEY=VALUE")
        overrides[key.strip()] = value.strip()
    return overrides
