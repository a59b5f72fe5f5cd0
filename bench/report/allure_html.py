"""The Allure report of a run as one HTML file (``report.html``) that opens without a server.

Built by the Allure 3 CLI (npm package ``allure``, pinned in the project's package.json and
installed into ``node_modules/`` by ``npm ci``) from every ``<run>/<profile>/allure-results``.
Nothing is fetched at report time: no npx, no registry. Without Node.js or without the
installed CLI the raw results stay and one line says how to build the report later::

    python3.11 -m bench.report.allure_html reports/<run-id>

The config the CLI reads is kept in the run folder (``allurerc.mjs``: the title, single-file
output, the tree grouped as the standards are: document → clause group → clause), so plain
``allure generate <profile>/allure-results --config allurerc.mjs`` in the run folder builds
the same report.

Environment: each profile's ``allure-results/environment.properties`` (written by
bench.report.allure_environment) is what the report shows under "Metadata". Allure keeps one
environment per report (the last one read wins), so with several profiles the environments
are merged into ``<run>/allure-environment/environment.properties``, keys prefixed with the
profile, and that folder is read last.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_NAME = "allurerc.mjs"
REPORT_NAME = "report.html"
ENVIRONMENT_DIR = "allure-environment"
ENVIRONMENT_FILE = "environment.properties"
TIMEOUT_S = 600
GROUP_BY = ("epic", "feature", "story")  # document → clause group → clause
PREFIX = "Allure report"
# The awesome plugin always adds Google Analytics to its page; a lab's report phones nowhere.
_ANALYTICS = re.compile(
    r'<script async src="https://www\.googletagmanager\.com/[^"]*"></script>\s*'
    r"<script>\s*window\.dataLayer.*?</script>\s*",
    re.S,
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def find_node() -> str | None:
    """The Node.js executable, or None."""
    return shutil.which("node") or shutil.which("nodejs")


def find_cli(project_root: Path | None = None) -> Path | None:
    """The JavaScript entry of the locally installed Allure CLI (``node_modules/.bin/allure``), or None."""
    root = Path(project_root) if project_root is not None else PROJECT_ROOT
    link = root / "node_modules" / ".bin" / "allure"
    package = root / "node_modules" / "allure"
    if not link.exists() and not (package / "package.json").exists():
        return None
    try:  # the package's own bin entry: .bin/allure is a symlink to it (a shell shim on Windows)
        bin_field = json.loads((package / "package.json").read_text(encoding="utf-8")).get("bin")
        entry = bin_field if isinstance(bin_field, str) else (bin_field or {}).get("allure")
        if entry and (package / entry).is_file():
            return (package / entry).resolve()
    except (OSError, ValueError):
        pass
    return link.resolve() if link.is_file() else None


def later_command(run_dir: Path) -> str:
    """The command that builds the report later from the raw results."""
    python = Path(sys.executable).name or "python3"
    return f"{python} -m bench.report.allure_html {shlex.quote(str(run_dir))}"


def write_config(run_dir: Path, title: str) -> Path:
    """``allurerc.mjs`` in the run folder: title, single-file output, clause grouping."""
    config = {
        "name": title,
        "output": "./allure-report",
        "plugins": {
            "awesome": {
                "options": {"reportName": title, "singleFile": True, "reportLanguage": "en", "groupBy": list(GROUP_BY)}
            }
        },
    }
    path = Path(run_dir) / CONFIG_NAME
    # JSON is a JavaScript expression; ensure_ascii keeps the file plain ASCII.
    path.write_text(f"export default {json.dumps(config, ensure_ascii=True, indent=1)};\n", encoding="utf-8")
    return path


def title_from_config(run_dir: Path) -> str | None:
    """The title in an ``allurerc.mjs`` this module wrote, or None."""
    path = Path(run_dir) / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8").strip()
        body = text.removeprefix("export default").strip().removesuffix(";")
        return json.loads(body).get("name")
    except (OSError, ValueError, AttributeError):
        return None


def build_allure_report(run_dir: Path, title: str, *, project_root: Path | None = None) -> Path | None:
    """Build ``run_dir/report.html`` from every ``run_dir/*/allure-results``; its path, or None.

    None (after one printed line) when there are no results, when Node.js or the local Allure
    CLI is missing, or when the CLI fails; the raw results are always kept.
    """
    run_dir = Path(run_dir)
    results = sorted(p for p in run_dir.glob("*/allure-results") if p.is_dir())
    if not results:
        print(f"{PREFIX}: no Allure results under {run_dir}", file=sys.stderr)
        return None
    root = Path(project_root) if project_root is not None else PROJECT_ROOT
    config = write_config(run_dir, title)
    node, cli = find_node(), find_cli(root)
    if node is None or cli is None:
        cli_path = root / "node_modules" / ".bin" / "allure"
        missing = (
            "Node.js (node) is not installed"
            if node is None
            else f"the Allure CLI is not installed ({cli_path} missing: run npm ci in {root})"
        )
        print(
            f"{PREFIX}: not built: {missing}; the raw results stay in "
            f"{', '.join(str(r) for r in results)}; build it later with: {later_command(run_dir)}",
            file=sys.stderr,
        )
        return None
    inputs = [r.relative_to(run_dir).as_posix() for r in results]
    merged = _merge_environments(run_dir, results)
    if merged is not None:
        inputs.append(merged.relative_to(run_dir).as_posix())
    output = Path(tempfile.mkdtemp(prefix=".allure-report-", dir=run_dir))
    command = [node, str(cli), "generate", *inputs, "--config", config.name, "--output", output.name]
    env = {**os.environ, "ALLURE_NO_ANALYTICS": "true", "NO_COLOR": "1", "FORCE_COLOR": "0"}
    try:
        try:
            done = subprocess.run(
                command,
                cwd=run_dir,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                env=env,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            print(
                f"{PREFIX}: not built: the Allure CLI did not finish in {TIMEOUT_S} s; "
                f"the raw results are kept; retry with: {later_command(run_dir)}",
                file=sys.stderr,
            )
            return None
        except OSError as exc:
            print(f"{PREFIX}: not built: cannot run the Allure CLI ({exc}); the raw results are kept", file=sys.stderr)
            return None
        page = output / "index.html"
        if done.returncode != 0 or not page.is_file():
            print(
                f"{PREFIX}: not built (allure exit {done.returncode}: {_first_line(done)}); "
                f"the raw results are kept; retry with: {later_command(run_dir)}",
                file=sys.stderr,
            )
            return None
        html = _ANALYTICS.sub("", page.read_text(encoding="utf-8"), count=1)
        target = run_dir / REPORT_NAME
        partial = target.with_name(f".{REPORT_NAME}.tmp")
        partial.write_text(html, encoding="utf-8")
        partial.replace(target)
        return target
    finally:
        shutil.rmtree(output, ignore_errors=True)


def _first_line(done: subprocess.CompletedProcess) -> str:
    """The CLI's error in one line: the first line it wrote (its message, before any stack)."""
    text = _ANSI.sub("", f"{done.stderr or ''}\n{done.stdout or ''}")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else "no output")[:300]


def _merge_environments(run_dir: Path, results: list[Path]) -> Path | None:
    """With several profiles: their environments in one file (keys prefixed by the profile)
    that the CLI reads last; None with one profile or no environment."""
    found = [(r.parent.name, r / ENVIRONMENT_FILE) for r in results if (r / ENVIRONMENT_FILE).is_file()]
    folder = run_dir / ENVIRONMENT_DIR
    if len(results) < 2 or not found:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    from bench.report.allure_environment import parse_properties, properties_text

    merged: dict[str, str] = {}
    for profile, path in found:
        for key, value in parse_properties(path.read_text(encoding="utf-8")).items():
            merged[f"[{profile}] {key}"] = value
    folder.mkdir(exist_ok=True)
    (folder / ENVIRONMENT_FILE).write_text(properties_text(merged), encoding="ascii")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.report.allure_html",
        description="build <run>/report.html from <run>/*/allure-results "
        "with the locally installed Allure CLI (npm ci)",
    )
    parser.add_argument("run_dir", type=Path, help="the run folder (reports/<run-id>)")
    parser.add_argument("--title", help="report title (default: the one in the run's allurerc.mjs)")
    args = parser.parse_args(argv)
    title = args.title or title_from_config(args.run_dir) or f"Conformance — {args.run_dir.name}"
    page = build_allure_report(args.run_dir, title)
    if page is None:
        return 1
    print(f"{PREFIX}: {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
