"""`bench pwm FILE`: the CP analysis of a scope record taken anywhere (formats:
bench/analysis/scope_exports.py, docs/scope-exports.md).

Prints the per-cycle statistics and the averaged figures with their expanded uncertainty
(k = 2, bench/analysis/pwm/uncertainty.py: sample interval and noise; the scope's own accuracy
is not in a file, so it is left out unless given with --timebase-ppm and --vertical-pct/-offset).
``--judge`` adds the verdicts against the limits table's CP limits: frequency, the high level
against the CP state it is nearest to, the low level, rise and fall.

Exit codes: 0 analysed (with --judge: every verdict pass); 1 with --judge: a verdict fail or
invalid; 2 the file cannot be read (one line says why); 130 interrupted.
"""

from __future__ import annotations

import json

from bench.analysis.pwm import PwmAnalysis, ScopeAccuracy, analyse_pwm, offered_current_a
from bench.analysis.pwm.cp_states import LOW_KEY, STATE_KEYS, nearest_state
from bench.analysis.scope_exports import ScopeExport, read_scope_export
from bench.core.editions import DEFAULT_EDITION
from bench.core.limits import limits_for

NAME = "pwm"
HELP = "analyse a CP PWM record (scope CSV export or bench .npz): per-cycle figures, uncertainty, verdicts"
ALL_PASS, SOME_NOT_PASS = 0, 1
FREQUENCY_KEY = "changji:4.2.9.5:pwm_frequency"
RISE_KEY, FALL_KEY = "gbt18487.1:A:cp_rise_time", "gbt18487.1:A:cp_fall_time"
ROWS = (  # figure, label, display factor
    ("frequency_hz", "frequency (Hz)", 1.0),
    ("duty_pct", "duty (%)", 1.0),
    ("high_v", "high level (V)", 1.0),
    ("low_v", "low level (V)", 1.0),
    ("rise_s", "rise 10–90 % (µs)", 1e6),
    ("fall_s", "fall 90–10 % (µs)", 1e6),
)


def add_arguments(parser) -> None:
    parser.add_argument("file", help="the record: a scope CSV export or a bench .npz")
    parser.add_argument("--channel", type=int, default=None, help="which channel of the file (1-based; default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    parser.add_argument("--judge", action="store_true", help="add the verdicts against the limits table's CP limits")
    parser.add_argument("--timebase-ppm", type=float, default=0.0, help="the scope's time-base accuracy (ppm)")
    parser.add_argument("--vertical-pct", type=float, default=0.0, help="the scope's vertical accuracy (%% of reading)")
    parser.add_argument("--vertical-offset", type=float, default=0.0, help="… plus this offset (V)")
    parser.epilog = "exit 0: analysed (--judge: all pass); 1: --judge and a verdict not pass; 2: file not read"


def run(args) -> int:
    record = read_scope_export(args.file, args.channel)
    accuracy = ScopeAccuracy(args.timebase_ppm, args.vertical_pct, args.vertical_offset)
    analysis = analyse_pwm(record.times, record.volts, accuracy=accuracy)
    verdicts = judge(analysis) if args.judge else []
    print(
        json.dumps(as_json(args.file, record, analysis, verdicts), indent=1)
        if args.json
        else text(args.file, record, analysis, verdicts)
    )
    return SOME_NOT_PASS if any(v["verdict"] != "pass" for v in verdicts) else ALL_PASS


def judge(analysis: PwmAnalysis) -> list[dict]:
    """Verdicts of the figures against the default edition's CP limits."""
    limits = limits_for(DEFAULT_EDITION.name)
    u = analysis.uncertainty
    found = []

    def check(key: str, value: float | None, uncertainty: float | None, what: str) -> None:
        reason = analysis.problem or ("" if value is not None else f"no {what} in the record")
        result = limits[key].judge(value, uncertainty=uncertainty, detail=what, invalid_reason=reason)
        found.append(
            {"key": key, "what": what, "value": value, "verdict": result.verdict, "limit": _bounds(limits[key])}
        )

    bands = {s: (lo or 0.0, hi or 0.0) for s, (lo, hi) in ((s, limits[k].bounds()) for s, k in STATE_KEYS.items())}
    state = STATE_KEYS[nearest_state(bands, analysis.high_v)]
    if analysis.steady:
        check(state, analysis.level_v, u.high_v if u else None, "DC level (no PWM)")
        return found
    check(FREQUENCY_KEY, analysis.frequency_hz, analysis.frequency_uncertainty_hz, "frequency")
    check(state, analysis.high_v, u.high_v if u else None, "high level")
    check(LOW_KEY, analysis.low_v, u.low_v if u else None, "low level")
    check(RISE_KEY, analysis.rise_s, u.rise_s if u else None, "rise time")
    check(FALL_KEY, analysis.fall_s, u.fall_s if u else None, "fall time")
    return found


def text(path: str, record: ScopeExport, a: PwmAnalysis, verdicts: list[dict]) -> str:
    lines = [
        f"{path}: {record.format} export, {record.channel}, {len(record.volts)} samples at "
        f"{_si(record.sample_interval_s, 's')} ({_si(1 / record.sample_interval_s, 'S/s')})"
    ]
    if a.problem:
        lines.append(f"not judged: {a.problem}")
    elif a.steady:
        u = a.uncertainty.high_v if a.uncertainty else None
        lines.append(f"no PWM: a DC level of {a.level_v:.3f} V ± {u:.3f} V (k = 2), noise {a.noise_v:.3f} V rms")
    else:
        lines.append(f"PWM: {a.periods} full cycle(s); noise {a.noise_v:.3f} V rms; {a.bad_samples} bad sample(s)")
        lines.append(f"  {'':20} {'mean':>12} {'std':>10} {'min':>12} {'max':>12} {'U (k=2)':>10}")
        for name, label, factor in ROWS:
            s = a.statistics.get(name)
            u = getattr(a.uncertainty, name) if a.uncertainty else None
            value = getattr(a, name)
            if s is None or value is None:
                lines.append(f"  {label:20} {'—':>12}")
                continue
            lines.append(
                f"  {label:20} {value * factor:12.4f} {s.std * factor:10.4f} {s.min * factor:12.4f} "
                f"{s.max * factor:12.4f} {'' if u is None else f'{u * factor:10.4f}'}"
            )
        if a.duty_pct is not None:
            lines.append(f"  the duty offers {offered_current_a(a.duty_pct):.1f} A (GB/T 18487.1 Annex A duty table)")
    for v in verdicts:
        shown = "—" if v["value"] is None else f"{v['value']:.6g}"
        lines.append(f"  {v['verdict']:7} {v['key']}: {v['what']} {shown} (limit {v['limit']})")
    return "\n".join(lines)


def as_json(path: str, record: ScopeExport, a: PwmAnalysis, verdicts: list[dict]) -> dict:
    u = a.uncertainty
    return {
        "file": str(path),
        "format": record.format,
        "channel": record.channel,
        "samples": len(record.volts),
        "sample_interval_s": record.sample_interval_s,
        "pwm": not a.steady and not a.problem,
        "problem": a.problem,
        "level_v": a.level_v if a.steady else None,
        "cycles": a.periods,
        "figures": {name: {"value": getattr(a, name), "U": getattr(u, name) if u else None} for name, _, _ in ROWS},
        "statistics": {name: s.__dict__ for name, s in a.statistics.items()},
        "per_cycle": {"columns": list(a.cycles.COLUMNS), "rows": a.cycles.rows()} if a.cycles else None,
        "noise_v": a.noise_v,
        "bad_samples": a.bad_samples,
        "verdicts": verdicts,
    }


def _bounds(limit) -> str:
    low, high = limit.bounds()
    return f"{'' if low is None else f'{low:g}'} … {'' if high is None else f'{high:g}'} {limit.unit}".strip()


def _si(value: float, unit: str) -> str:
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n")):
        if abs(value) >= factor:
            return f"{value / factor:g} {prefix}{unit}"
    return f"{value:g} {unit}"
