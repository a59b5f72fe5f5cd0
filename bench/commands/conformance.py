"""`bench conformance`: run the conformance suite for one or more profiles and write the report.

Each profile is one pytest run of testcases/ (the same command a lab runs by hand) into
reports/<run-id>/<profile>/: allure-results, summary.json (every check), instruments.json,
CAN traces and raw data per test. The run's index.json lists the profiles. When Node.js is
installed the Allure 3 CLI (npm package ``allure``) turns the results into one HTML file,
reports/<run-id>/report.html, that opens without a server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

NAME = "conformance"
HELP = "run the conformance suite on one or more profiles and write the report"
DEFAULT_PROFILES = ("profiles/sim-ac-7kw.toml", "profiles/sim-dc-60kw.toml")
ALLURE_PACKAGE = "allure@3.18.0"  # Allure 3 report generator (npm); singleFile output
ALLURE_TIMEOUT_S = 600


def add_arguments(parser) -> None:
    parser.add_argument("--profile", action="append", dest="profiles", metavar="FILE",
                        help=f"profile to run (repeatable); default: {', '.join(DEFAULT_PROFILES)}")
    parser.add_argument("--grid", choices=("quick", "full"), default="full", help="operating-point grid")
    parser.add_argument("--report-dir", default="reports", help="where runs go (default reports)")
    parser.add_argument("--run-id", default=None, help="run folder name (default: date and time)")
    parser.add_argument("--sim-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one [sim] parameter (simulated profiles)")
    parser.add_argument("--no-html", action="store_true", help="skip the Allure HTML report")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")


def run(args) -> int:
    run_id = args.run_id or time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(args.report_dir) / run_id
    worst = 0
    for profile in args.profiles or DEFAULT_PROFILES:
        command = [sys.executable, "-m", "pytest", "testcases", "--profile", profile, "--grid", args.grid,
                   "--report-dir", args.report_dir, "--run-id", run_id, "-p", "no:hypothesispytest", *args.pytest_args]
        for item in args.sim_set:
            command += ["--sim-set", item]
        print(f"bench conformance: {' '.join(command[1:])}", flush=True)
        code = subprocess.call(command)
        if code not in (0, 1):  # 1 = some case failed: the report says which; others are errors
            print(f"bench conformance: pytest ended with code {code} for {profile}", file=sys.stderr)
        worst = max(worst, code)
    _print_totals(run_dir)
    if not args.no_html:
        _html_report(run_dir)
    return worst


def _print_totals(run_dir: Path) -> None:
    index_path = run_dir / "index.json"
    if not index_path.exists():
        return
    index = json.loads(index_path.read_text(encoding="utf-8"))
    for name, entry in index["profiles"].items():
        totals = entry["totals"]
        lost = f", lost: {', '.join(entry['lost_instruments'])}" if entry["lost_instruments"] else ""
        print(f"bench conformance: {name}: {totals.get('pass', 0)} checks passed, {totals.get('fail', 0)} failed, "
              f"{totals.get('invalid', 0)} invalid{lost} → {run_dir / name / 'summary.json'}")


def _html_report(run_dir: Path) -> None:
    results = sorted(run_dir.glob("*/allure-results"))
    npx = shutil.which("npx")
    if not results:
        return
    if npx is None:
        print(f"bench conformance: Allure results in {', '.join(map(str, results))} "
              "(install Node.js for the HTML report)")
        return
    config = run_dir / "allurerc.mjs"
    # Grouped as the standards are: document → clause group → clause.
    config.write_text('export default { name: "Charger conformance", output: "./allure-report", '
                      'plugins: { awesome: { options: { singleFile: true, reportLanguage: "en", '
                      'groupBy: ["epic", "feature", "story"] } } } };\n', encoding="utf-8")
    command = [npx, "--yes", ALLURE_PACKAGE, "generate", *[str(r.relative_to(run_dir)) for r in results],
               "--config", config.name]
    try:
        done = subprocess.run(command, cwd=run_dir, capture_output=True, text=True, timeout=ALLURE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print("bench conformance: the Allure CLI did not finish; the raw results are kept", file=sys.stderr)
        return
    page = run_dir / "allure-report" / "index.html"
    if done.returncode != 0 or not page.exists():
        print(f"bench conformance: no HTML report (allure: {done.stderr.strip()[-300:]})", file=sys.stderr)
        return
    shutil.copyfile(page, run_dir / "report.html")
    print(f"bench conformance: report → {run_dir / 'report.html'}")
