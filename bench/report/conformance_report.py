"""The clause-by-clause conformance report a lab files beside the Allure report.

Built from the run's ``summary.json`` files alone (one per profile, i.e. one per DUT) and the
shipped clause list (``clauses.toml``): one HTML page, ``conformance-report.html``, in the run
folder, and where Chromium is installed the same page printed to ``conformance-report.pdf``.
Each DUT gets its own section (a new page in print): identity, run record, instruments, then
clause by clause the short requirement, every check with its value, uncertainty, limits,
operating point, limit source and confidence, and the clause's verdict; skipped tests, what
the run did not cover, safe state, lost instruments, evidence, and a sign-off block.

The page is self-contained (inline CSS, no scripts, fonts or network) and depends only on the
summaries: the same summaries give the same bytes.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from bench.core.errors import BenchError
from bench.report import chromium
from bench.report.schema import read_summary

HTML_NAME = "conformance-report.html"
PDF_NAME = "conformance-report.pdf"
SUMMARY_NAME = "summary.json"
TEMPLATES = Path(__file__).with_name("templates")
CLAUSES_PATH = Path(__file__).with_name("clauses.toml")

VERDICT_LABEL = {"pass": "PASS", "fail": "FAIL", "invalid": "INVALID"}
CONFIDENCE_LABEL = {
    "T": "transcribed from the standard's text and confirmed by a second source",
    "I": "taken from public firmware or test-bench code that claims to follow the standard",
    "U": "unconfirmed: a documented default the lab confirms from its own copy of the standard",
}
# A `sim` value longer than this (or a nested table) is not shown: the report is no data dump.
SIM_VALUE_MAX_CHARS = 60


class ReportError(BenchError):
    """A run folder the report cannot be built from: `<folder>: <what>`."""


# -- inputs ------------------------------------------------------------------------------------


def find_summaries(run_dir: Path) -> list[Path]:
    """The summary.json files of a run folder (one per profile sub-folder, sorted by folder
    name), or the one summary.json of a single profile folder."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir}: no such folder")
    if (run_dir / SUMMARY_NAME).is_file():
        return [run_dir / SUMMARY_NAME]
    index = run_dir / "index.json"
    if index.is_file():  # the run's own list of profiles (other folders, e.g. allure-report, are not DUTs)
        try:
            listed = json.loads(index.read_text(encoding="utf-8")).get("profiles", {})
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
            raise ReportError(f"{index}: not a run index ({exc})") from None
        found = []
        for name, entry in sorted(listed.items()):
            relative = entry.get("summary", f"{name}/{SUMMARY_NAME}") if isinstance(entry, dict) else ""
            if not (run_dir / relative).is_file():  # a profile the run lists must not vanish silently
                raise ReportError(f"{index}: lists profile {name!r} but {run_dir / relative} is missing")
            found.append(run_dir / relative)
    else:
        found = sorted(
            (p / SUMMARY_NAME for p in run_dir.iterdir() if (p / SUMMARY_NAME).is_file()), key=lambda p: p.parent.name
        )
    if not found:
        raise ReportError(f"{run_dir}: no {SUMMARY_NAME} (neither {SUMMARY_NAME} nor <profile>/{SUMMARY_NAME})")
    return found


@lru_cache(maxsize=1)
def load_clauses() -> dict[str, dict]:
    """The shipped clause list, id → entry, in the file's order."""
    with CLAUSES_PATH.open("rb") as f:
        data = tomllib.load(f)
    return {entry["id"]: entry for entry in data.get("clause", [])}


# -- formatting --------------------------------------------------------------------------------


def fmt_number(x) -> str:
    """A number as people read it (``{:.6g}``); booleans as yes/no; None as an em dash."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        return f"{x:.6g}" if x != 0 else "0"  # no "-0"
    return str(x)


def fmt_uncertainty(u) -> str:
    return f"{u:.3g}" if isinstance(u, (int, float)) and not isinstance(u, bool) else ""


def fmt_value(check: dict) -> str:
    """The judged value as ``value ± uncertainty unit``."""
    return " ".join(part for part in value_parts(check) if part)


def value_parts(check: dict) -> tuple[str, str]:
    """(the value, ``± uncertainty unit``): two pieces a table cell may wrap between."""
    value, unit = check["value"], check["unit"]
    if value is None:
        return "no reading", ""
    if isinstance(value, bool):
        return fmt_number(value), ""
    if isinstance(value, (int, float)) and check["uncertainty"] is not None:
        return fmt_number(value), f"± {fmt_uncertainty(check['uncertainty'])} {unit}".rstrip()
    return f"{fmt_number(value)} {unit}".rstrip(), ""


def fmt_limits(check: dict) -> tuple[str, str]:
    """(the limits, the reference they are relative to, if any)."""
    low, high, ref, unit = check["low"], check["high"], check["reference"], check["unit"]
    suffix = f" {unit}" if unit else ""
    if low is not None and high is not None:
        limits = f"[{fmt_number(low)}, {fmt_number(high)}]{suffix}"
    elif high is not None:
        limits = f"≤ {fmt_number(high)}{suffix}"
    elif low is not None:
        limits = f"≥ {fmt_number(low)}{suffix}"
    elif ref is not None:
        return f"= {fmt_number(ref)}", ""
    else:
        return "—", ""
    return limits, ("" if ref is None else f"ref. {fmt_number(ref)}")


def fmt_mapping(mapping: dict) -> str:
    return ", ".join(
        f"{k} = {fmt_number(v) if not isinstance(v, (dict, list)) else json.dumps(v, ensure_ascii=False)}"
        for k, v in mapping.items()
    )


def fmt_accuracy(accuracy: dict) -> list[str]:
    """``quantity: ±(p % rdg + offset)`` per quantity, zero terms left out."""
    lines = []
    for quantity, a in accuracy.items():
        terms = ([f"{fmt_number(a['pct_reading'])} % rdg"] if a["pct_reading"] else []) + (
            [fmt_number(a["offset"])] if a["offset"] else []
        )
        text = " + ".join(terms) or "0"
        lines.append(f"{quantity}: ±{f'({text})' if len(terms) > 1 else text}")
    return lines


def fmt_duration(seconds: float) -> str:
    text = f"{fmt_number(seconds)} s"
    if seconds >= 60:
        s = int(round(seconds))
        text += f" ({s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d})"
    return text


def css_string(text) -> Markup:
    """``text`` as a quoted CSS string: everything but letters, digits, space, '.', '_', '-' escaped."""
    # An escape is hex digits and one space, which CSS consumes: a following space is kept.
    safe = "".join(c if (c.isascii() and (c.isalnum() or c in " ._-")) else f"\\{ord(c):x} " for c in str(text))
    return Markup(f'"{safe}"')


def _verdict(verdicts: Sequence[str]) -> str:
    if "fail" in verdicts:
        return "fail"
    if "invalid" in verdicts:
        return "invalid"
    return "pass"


def _clause_of(name: str) -> str:
    """The clause part of a clause id or limit key (``doc:clause[:quantity]``)."""
    return ":".join(name.split(":")[:2])


# -- the page's model --------------------------------------------------------------------------


def _clause_sections(summary: dict, clauses: dict[str, dict]) -> list[dict]:
    groups: dict[str, list[dict]] = {}
    for check in summary["checks"]:
        groups.setdefault(check["clause"], []).append(check)
    order = [c for c in clauses if c in groups] + sorted(c for c in groups if c not in clauses)
    sections = []
    for clause_id in order:
        checks = groups[clause_id]
        entry = clauses.get(clause_id, {})
        sources: list[str] = []
        rows = []
        for check in checks:
            if check["limit_source"] not in sources:
                sources.append(check["limit_source"])
            limits, reference = fmt_limits(check)
            value, uncertainty = value_parts(check)
            rows.append(
                {
                    "key": check["key"],
                    "quantity": check["quantity"],
                    "detail": check["detail"],
                    "invalid_reason": check.get("invalid_reason", ""),
                    "settle": "" if check.get("settle_s") is None else f"settled after {check['settle_s']:.2f} s",
                    "test": check["test"],
                    "value": value,
                    "uncertainty": uncertainty,
                    "limits": limits,
                    "reference": reference,
                    "operating_point": fmt_mapping(check["operating_point"]),
                    "source": sources.index(check["limit_source"]) + 1,
                    "confidence": check["confidence"],
                    "verdict": check["verdict"],
                }
            )
        verdicts = [c["verdict"] for c in checks]
        others = [
            t for t in summary["tests"] if t["outcome"] != "passed" and clause_id in (t["clause"] or "").split(", ")
        ]
        sections.append(
            {
                "id": clause_id,
                "known": bool(entry),
                "title": entry.get("title", ""),
                "text_zh": entry.get("text_zh", ""),
                "rows": rows,
                "sources": sources,
                "decision_rules": sorted({c["decision_rule"] for c in checks}),
                "verdict": _verdict(verdicts),
                "tests_not_passed": others,
                "counts": {v: verdicts.count(v) for v in ("pass", "fail", "invalid")},
            }
        )
    return sections


def _overall(summary: dict, sections: list[dict]) -> tuple[str, list[str]]:
    """The DUT's verdict and why, in words."""
    reasons = []
    failed = [s["id"] for s in sections if s["verdict"] == "fail"]
    invalid = [s["id"] for s in sections if s["verdict"] == "invalid"]
    if failed:
        n = sum(s["counts"]["fail"] for s in sections)
        reasons.append(f"{n} check{'s' * (n != 1)} failed in {', '.join(failed)}")
    if invalid:
        n = sum(s["counts"]["invalid"] for s in sections)
        reasons.append(f"{n} check{'s' * (n != 1)} without a valid reading in {', '.join(invalid)}")
    broken = [t for t in summary["tests"] if t["outcome"] in ("failed", "error")]
    if broken:
        reasons.append(f"{len(broken)} test{'s' * (len(broken) != 1)} failed or ended in an error")
    if not summary["checks"]:
        reasons.append("no check was made")
    if not summary["complete"]:
        reasons.append("the run did not complete")
    if failed:
        verdict = "fail"
    elif reasons:
        verdict = "invalid"
    else:
        verdict = "pass"
    return verdict, reasons


def _not_covered(summary: dict, clauses: dict[str, dict]) -> list[dict]:
    rows = []
    for item in summary["not_covered"]:
        entry = clauses.get(item["clause"]) or clauses.get(_clause_of(item["clause"]), {})
        rows.append({"clause": item["clause"], "title": entry.get("title", ""), "why": item["why"]})
    return rows


def _sim_parameters(summary: dict) -> list[tuple[str, str]]:
    sim = summary["sim"]
    if not summary["simulated"] or not isinstance(sim, dict):
        return []
    rows = []
    for key, value in sim.items():
        if isinstance(value, dict):
            continue
        if isinstance(value, list):
            text = ", ".join(map(fmt_number, value)) or "none"
        else:
            text = fmt_number(value)
        if len(text) <= SIM_VALUE_MAX_CHARS:
            rows.append((key, text))
    return rows


def _dut_model(summary: dict, source: Path, clauses: dict[str, dict]) -> dict:
    sections = _clause_sections(summary, clauses)
    verdict, reasons = _overall(summary, sections)
    warnings = []
    if not summary["complete"]:
        warnings.append("INCOMPLETE RUN — not a valid type-test record")
    if summary["mode"] == "development":
        warnings.append("DEVELOPMENT RUN — not a valid type-test record")
    safe_bad = [
        {"sequence": seq["reason"], "test": seq["test"], **step}
        for seq in summary["safe_state"]
        for step in seq["steps"]
        if step["outcome"] != "done"
    ]
    return {
        "s": summary,
        "source": source,
        "anchor": f"dut-{source.parent.name}" if source.name == SUMMARY_NAME else "dut",
        "name": source.parent.name,
        "verdict": verdict,
        "reasons": reasons,
        "warnings": warnings,
        "started": summary["started"],
        "finished": summary["finished"] or "— (not finished)",
        "wall": fmt_duration(summary["wall_s"]),
        "bench_time": fmt_duration(summary["bench_time_s"]),
        "instruments": [{**i, "accuracy_lines": fmt_accuracy(i["accuracy"])} for i in summary["instruments"]],
        "sections": sections,
        "skipped": [t for t in summary["tests"] if t["outcome"] == "skipped"],
        "broken": [t for t in summary["tests"] if t["outcome"] in ("failed", "error")],
        "not_covered": _not_covered(summary, clauses),
        "safe_state_count": len(summary["safe_state"]),
        "safe_state_steps": sum(len(seq["steps"]) for seq in summary["safe_state"]),
        "safe_state_bad": safe_bad,
        "lost": sorted(summary["lost_instruments"].items()),
        "evidence_count": len(summary["evidence"]),
        "evidence_bytes": sum(e["bytes"] for e in summary["evidence"]),
        "sim_parameters": _sim_parameters(summary),
        "confidences": sorted({c["confidence"] for c in summary["checks"] if c["confidence"]}),
    }


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = fmt_number
    env.filters["thousands"] = lambda n: f"{n:,}".replace(",", "\u202f")  # 83 282 (narrow no-break space)
    env.filters["css_string"] = css_string
    env.filters["verdict"] = lambda v: VERDICT_LABEL.get(v, str(v).upper())
    return env


def render_conformance_report(summaries: Sequence[tuple[Path, dict]]) -> str:
    """The report page for ``(summary path, validated summary)`` pairs, one DUT section each."""
    clauses = load_clauses()
    duts = [_dut_model(summary, Path(path), clauses) for path, summary in summaries]
    run_ids = sorted({d["s"]["run_id"] for d in duts})
    return (
        _environment()
        .get_template("conformance-report.html.j2")
        .render(
            duts=duts,
            run_ids=run_ids,
            confidence_label=CONFIDENCE_LABEL,
            bench_versions=sorted({d["s"]["bench_version"] for d in duts}),
            css=Markup((TEMPLATES / "conformance-report.css").read_text(encoding="utf-8")),  # shipped, trusted
        )
    )


def write_conformance_report(run_dir: Path, *, pdf: bool = True) -> tuple[Path, Path | None]:
    """Render ``<run_dir>/conformance-report.html`` from the run's summaries and, when ``pdf``
    and Chromium is installed, print ``conformance-report.pdf`` beside it.

    ``run_dir`` is a run folder (one sub-folder per profile holding its summary.json) or a
    single profile folder. Returns (html path, pdf path or None). A missing folder, a folder
    without any summary.json or a summary that breaks the schema is a BenchError (one line).
    """
    run_dir = Path(run_dir)
    summaries = [(path, read_summary(path)) for path in find_summaries(run_dir)]
    html = run_dir / HTML_NAME
    tmp = html.with_name(f".{HTML_NAME}.tmp")
    tmp.write_text(render_conformance_report(summaries), encoding="utf-8")
    os.replace(tmp, html)
    if not pdf:
        return html, None
    out = run_dir / PDF_NAME
    out.unlink(missing_ok=True)  # an older print beside the new page would not match it
    if chromium.print_pdf(html, out):
        return html, out
    return html, None
