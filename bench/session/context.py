"""One pytest run's bench settings: which profile, which [sim] overrides, where output goes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.errors import ProfileError
from bench.core.profile import Profile, load_profile


@dataclass
class RunContext:
    profile_path: Path
    sim_overrides: dict[str, str]
    grid: str
    report_dir: Path
    run_id: str
    wants_bench: bool
    session: object = None
    _profile: Profile | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config) -> "RunContext":
        explicit = config.getoption("--profile")
        path = Path(explicit or config.getini("bench_profile"))
        if not path.is_absolute():
            path = Path(config.rootpath) / path if not path.exists() else path
        args = [str(a) for a in config.args]
        # Allure results and a run folder only for runs of the conformance suite.
        wants = bool(explicit) or any("testcases" in Path(a.split("::")[0]).parts for a in args)
        return cls(
            profile_path=path,
            sim_overrides=parse_sim_sets(config.getoption("--sim-set")),
            grid=config.getoption("--grid"),
            report_dir=Path(config.getoption("--report-dir")),
            run_id=config.getoption("--run-id") or time.strftime("%Y%m%d-%H%M%S"),
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

    def open_session(self):
        if self.session is None:
            from bench.session.session import BenchSession

            session = BenchSession(self.profile(), self.run_dir)
            session.open()
            self.session = session
        return self.session

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def parse_sim_sets(items: list[str]) -> dict[str, str]:
    """``["key=value", ...]`` → dict; a malformed item is a one-line error."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ProfileError("--sim-set", item, "KEY=VALUE")
        overrides[key.strip()] = value.strip()
    return overrides
