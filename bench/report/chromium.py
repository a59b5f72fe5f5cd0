"""Headless Chromium (Debian's ``chromium`` package): print a page to PDF, read a page's DOM.

The flags keep Chromium off the network (this bench talks to loopback only) and out of any
user profile: a fresh --user-data-dir each time. Nothing here downloads a browser.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 120
# A single-file Allure report builds its page in JavaScript; give it time before the DOM is read.
DEFAULT_BUDGET_MS = 15000
QUIET_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--no-default-browser-check",
)


def find_chromium() -> str | None:
    """The path of a Chromium executable, or None when none is installed."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: list[str]) -> subprocess.CompletedProcess:
    executable = find_chromium()
    if executable is None:
        raise FileNotFoundError("no Chromium on this machine (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="bench-chromium-") as profile:
        return subprocess.run(
            [executable, *QUIET_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )


def dump_dom(page: Path, *, budget_ms: int = DEFAULT_BUDGET_MS, fragment: str | None = None) -> str:
    """The page's DOM after its scripts ran (``--dump-dom``), as HTML text.

    ``fragment``: a URL fragment to open the page at (without ``#``), e.g. one test of a
    single-file Allure report (``<test result id>`` or ``<id>/attachments``)."""
    uri = Path(page).resolve().as_uri() + (f"#{fragment.lstrip('#')}" if fragment else "")
    done = _run([f"--virtual-time-budget={budget_ms}", "--dump-dom", uri])
    if done.returncode != 0:
        raise RuntimeError(f"chromium --dump-dom {page}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    return done.stdout


def print_pdf(page: Path, pdf: Path) -> bool:
    """Print ``page`` to ``pdf``; False when Chromium is absent or the print failed."""
    if find_chromium() is None:
        return False
    pdf = Path(pdf).resolve()
    pdf.unlink(missing_ok=True)  # a stale PDF from an earlier print must not pass for this one
    try:
        done = _run(["--no-pdf-header-footer", f"--print-to-pdf={pdf}", Path(page).resolve().as_uri()])
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0 and pdf.exists() and pdf.stat().st_size > 0
