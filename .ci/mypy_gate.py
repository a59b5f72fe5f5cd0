"""The type gate of .ci/run: mypy over the project (configured in pyproject.toml).

The primitives (bench/core, bench/protocols, bench/analysis) are strict and must have no error.
Elsewhere the errors left are recorded in .ci/mypy-baseline.txt, one per line as
``<file>: <message> [code]`` (no line numbers, so edits above an error do not move it); the
gate fails on any error that the baseline does not hold, so the list may only shrink.
``--update`` rewrites the baseline from the current errors (after fixing some).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / ".ci" / "mypy-baseline.txt"
STRICT = ("bench/core/", "bench/protocols/", "bench/analysis/")
ERROR = re.compile(r"^(?P<file>[^:]+):\d+(?::\d+)?: error: (?P<message>.*)$")


def current_errors() -> list[str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-error-summary",
            "--hide-error-context",
            "--no-pretty",
            "--show-error-codes",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode not in (0, 1):
        sys.exit(f"mypy failed to run: {done.stderr.strip()[-2000:]}")
    errors = []
    for line in done.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            errors.append(f"{match['file']}: {match['message']}")
    return errors


def main(argv: list[str]) -> int:
    errors = current_errors()
    strict = [e for e in errors if e.startswith(STRICT)]
    others = [e for e in errors if not e.startswith(STRICT)]
    if "--update" in argv:
        BASELINE.write_text("".join(f"{e}\n" for e in sorted(others)), encoding="utf-8")
        print(f"mypy gate: baseline rewritten with {len(others)} errors outside the strict primitives")
        return 0
    allowed = Counter(BASELINE.read_text(encoding="utf-8").splitlines()) if BASELINE.exists() else Counter()
    new = list((Counter(others) - allowed).elements())
    for error in strict:
        print(f"mypy gate: strict: {error}")
    for error in new:
        print(f"mypy gate: new error: {error}")
    fixed = sum((allowed - Counter(others)).values())
    print(
        f"mypy gate: {len(strict)} errors in the strict primitives, {len(others)} elsewhere "
        f"({len(new)} not in the baseline of {sum(allowed.values())}; {fixed} fixed since it was recorded"
        + ("; run `python3.11 .ci/mypy_gate.py --update` to shrink it" if fixed else "")
        + ")"
    )
    return 1 if strict or new else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
