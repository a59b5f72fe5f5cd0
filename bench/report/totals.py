"""The one line a profile's run ends with at the terminal, from its summary."""

from __future__ import annotations

from pathlib import Path


def bench_time_text(seconds: float) -> str:
    """``5012.3`` → ``5012.3 s (1 h 23 min 32 s)``."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = ([f"{hours} h"] if hours else []) + ([f"{minutes} min"] if hours or minutes else []) + [f"{secs} s"]
    return f"{seconds:.1f} s ({' '.join(parts)})"


def totals_line(summary: dict, where: Path | str) -> str:
    t = summary["totals"]
    name = Path(summary["profile"]).stem
    state = "" if summary["complete"] else f" — INCOMPLETE ({summary['end_reason'] or 'running'})"
    problems = summary.get("problems") or []
    flag = f"; {len(problems)} INSTRUMENT PROBLEM(S)" if problems else ""
    line = (
        f"bench: {name}: {t['pass']} checks passed, {t['fail']} failed, {t['invalid']} invalid; "
        f"{t['tests']} tests ({t['passed']} passed, {t['failed']} failed, {t['skipped']} skipped, "
        f"{t['errors']} errors); wall {summary['wall_s']:.1f} s; bench time "
        f"{bench_time_text(summary['bench_time_s'])}{flag}{state} → {where}"
    )
    if problems:
        line += f"\nbench: {name}: {len(problems)} instrument problem(s) ({summary['mode']} mode): " + "; ".join(
            f"{p['role']}: {p['message']}" for p in problems
        )
    return line
