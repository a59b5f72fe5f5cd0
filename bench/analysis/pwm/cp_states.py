"""Which CP state a high level belongs to, and the words for a record's figures."""

from __future__ import annotations

from collections.abc import Mapping

from bench.analysis.pwm.analyse import PwmAnalysis

# The limits of the CP high level per state (GB/T 18487.1 Annex A), and of the PWM's low level.
STATE_KEYS = {
    1: "gbt18487.1:A:cp_state1_voltage",
    2: "gbt18487.1:A:cp_state2_voltage",
    3: "gbt18487.1:A:cp_state3_voltage",
}
LOW_KEY = "gbt18487.1:A:cp_low_voltage"


def nearest_state(bands: Mapping[int, tuple[float, float]], level_v: float) -> int:
    """The state whose band's middle is nearest ``level_v`` (state 2 for a level that is no number)."""
    if level_v != level_v:
        return 2
    return min(bands, key=lambda state: abs(sum(bands[state]) / 2 - level_v))


def caption(analysis: PwmAnalysis) -> str:
    """The measured figures with their expanded uncertainty (k = 2), for a plot."""
    u = analysis.uncertainty
    if analysis.problem:
        return f"not judged: {analysis.problem}"
    if analysis.steady:
        return f"no PWM: {analysis.level_v:.3f} V" + (f" ± {u.high_v:.3f} V" if u and u.high_v else "")

    def shown(value: float | None, spread: float | None, unit: str, factor: float = 1.0) -> str:
        if value is None:
            return "—"
        return f"{value * factor:.4g}" + (f" ± {spread * factor:.2g}" if spread else "") + f" {unit}"

    return "\n".join(
        [
            f"f = {shown(analysis.frequency_hz, u.frequency_hz if u else None, 'Hz')}",
            f"D = {shown(analysis.duty_pct, u.duty_pct if u else None, '%')}",
            f"high = {shown(analysis.high_v, u.high_v if u else None, 'V')}",
            f"low = {shown(analysis.low_v, u.low_v if u else None, 'V')}",
            f"rise = {shown(analysis.rise_s, u.rise_s if u else None, 'µs', 1e6)}, "
            f"fall = {shown(analysis.fall_s, u.fall_s if u else None, 'µs', 1e6)}",
            f"{analysis.periods} full cycles (k = 2)",
        ]
    )
