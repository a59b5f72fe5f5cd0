"""4.2.10.5 on the DC bench: operating points across the battery-voltage window, a power reading
that knows when it cannot be judged, and the run's plot of error against set power.

A reading is judged only when the charger's power control set the output
(bench/analysis/power_validity.py says when it did not); its settle time is kept with it. The
plot and its CSV are run-level evidence (the profile's folder), rewritten after every point so
that a run cut short still has every point measured so far.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from bench.analysis.operating_points import BATTERY_POSITIONS, PowerPoint, power_point_at
from bench.analysis.power_validity import (
    battery_power_uncertainty,
    charger_current_limited,
    instruments_disagree,
    request_governs,
)
from bench.api.dc.charging import OPERATING_MARGIN, POWER_TEST_CURRENT_HEADROOM, DcCharging
from bench.core.checks import Check
from bench.protocols.gbt27930.catalogue import BY_NAME

POWER_KEY = "changji:4.2.10.5:power_error"
POWER_ERROR_EVIDENCE = "power error against set power"
POWER_ERROR_COLUMNS = ["set_power_w", "battery_position", "battery_v", "measured_w", "error_pct", "verdict", "settle_s"]


@dataclass(frozen=True)
class PowerReading:
    """The settled output power at one 4.2.10.5 point, and whether it may be judged."""

    point: PowerPoint
    power_w: float | None  # None: it never settled (an invalid reading)
    settle_s: float | None
    current_a: float | None
    invalid_reason: str  # "" when the charger's power control set the output
    detail: str


class DcPowerControl(DcCharging):
    """The charger's power control as 4.2.10.5 judges it."""

    def power_point_at(self, fraction: float, position: str) -> PowerPoint | None:
        """4.2.10.5 at ``fraction`` of the rated power with the battery at ``position`` (low,
        mid, high) of the voltage window where the current stays ≥ the clause's minimum and
        within the charger's maximum; None when the DUT has no such window at that power."""
        return power_point_at(
            fraction,
            position,
            rated_power_w=self.dut.rated_power_kw * 1000.0,
            max_current_a=self.dut.current_range_a[1],
            output_range_v=(self.dut.voltage_range_v[0], self.dut.voltage_range_v[1]),
            max_charge_voltage_v=self.vehicle.max_charge_voltage_v,
            min_current_a=self.limit(POWER_KEY).figure("min_current_a"),
            headroom=POWER_TEST_CURRENT_HEADROOM,
            margin=OPERATING_MARGIN,
        )

    @staticmethod
    def battery_positions() -> tuple[str, ...]:
        return tuple(BATTERY_POSITIONS)

    def read_set_power(self, point: PowerPoint) -> PowerReading:
        """The output power once settled (analyzer, at the inlet), the current, and why the
        reading cannot be judged if it cannot: the request or the charger's own current limit
        governs, or the analyzer and the battery simulator disagree."""
        rule = self.limit(POWER_KEY)
        settled = self.settle_within("P", rule, point.set_power_w)
        readings = self.output()
        current = readings["I"]
        if settled is None or current is None:
            return PowerReading(point, None, None, current, "", "the output power never settled")
        power = settled.value
        ccs, cml = self.frames.last("CCS"), self.frames.last("CML")
        ccs_resolution = next(f.scale for f in BY_NAME["CCS"].fields if f.name == "output_current")
        resolution = ccs_resolution + (self.accuracy("analyzer", "current", current) or 0.0)
        charger_a = None if ccs is None else ccs.values.get("output_current")
        charger_max = None if cml is None else cml.values.get("max_output_current")
        volts, amps, _ = self.battery.measure()
        battery_w = abs(volts * amps)
        u_battery = battery_power_uncertainty(
            volts,
            abs(amps),
            self.accuracy("battery", "voltage", volts) or 0.0,
            self.accuracy("battery", "current", abs(amps)) or 0.0,
        )
        reason = (
            request_governs(abs(current), point.demand_a, resolution)
            or charger_current_limited(charger_a, charger_max, ccs_resolution)
            or instruments_disagree(power, self.accuracy("analyzer", "power", power) or 0.0, battery_w, u_battery)
        )
        detail = (
            f"measured {power:.1f} W at {current} A (the clause needs ≥ {rule.figure('min_current_a'):g} A); "
            f"battery simulator {battery_w:.1f} W; settled after {settled.elapsed:.2f} s"
        )
        return PowerReading(point, power, settled.elapsed, current, reason, detail)

    def add_to_power_error_plot(self, position: str, reading: PowerReading, check: Check) -> None:
        """Append this point to the run's power-error table and redraw the run's plot from it
        (one series per battery position, the tolerance band drawn); both attached here."""
        table = self.session.run_dir / "power-error-against-set-power.csv"
        new = not table.exists()
        point = reading.point
        error_pct = None if reading.power_w is None else (reading.power_w - point.set_power_w) / point.set_power_w * 100
        with table.open("a", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            if new:
                writer.writerow(POWER_ERROR_COLUMNS)
            writer.writerow(
                [
                    point.set_power_w,
                    position,
                    round(point.battery_v, 1),
                    "" if reading.power_w is None else round(reading.power_w, 1),
                    "" if error_pct is None else round(error_pct, 4),
                    check.verdict,
                    "" if reading.settle_s is None else round(reading.settle_s, 3),
                ]
            )
        self.session.evidence.attach_file(f"{POWER_ERROR_EVIDENCE} (all points so far, CSV)", table)
        band_pct = self.limit(POWER_KEY).tolerance(point.set_power_w) / point.set_power_w * 100
        self._draw_power_errors(table, band_pct)

    def _draw_power_errors(self, table: Path, band_pct: float) -> None:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot

        with table.open(encoding="utf-8") as source:
            rows = list(csv.DictReader(source))
        figure, ax = pyplot.subplots(figsize=(8, 4.5))
        for position in BATTERY_POSITIONS:
            series = [r for r in rows if r["battery_position"] == position and r["error_pct"] != ""]
            judged = [r for r in series if r["verdict"] != "invalid"]
            unjudged = [r for r in series if r["verdict"] == "invalid"]
            line = ax.plot(
                [float(r["set_power_w"]) / 1000 for r in judged],
                [float(r["error_pct"]) for r in judged],
                marker="o",
                label=f"battery {position} of the voltage window",
            )
            if unjudged:
                ax.scatter(
                    [float(r["set_power_w"]) / 1000 for r in unjudged],
                    [float(r["error_pct"]) for r in unjudged],
                    facecolors="none",
                    edgecolors=line[0].get_color(),
                    label=f"battery {position}: invalid (not judged)",
                )
        ax.axhline(band_pct, color="red", linestyle="--", linewidth=1, label=f"±{band_pct:g} % (4.2.10.5)")
        ax.axhline(-band_pct, color="red", linestyle="--", linewidth=1)
        ax.set_xlabel("set power (kW)")
        ax.set_ylabel("output power error (% of the set power)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        figure.suptitle("4.2.10.5 output power error against the set power")
        figure.tight_layout()
        path = self.session.run_dir / "power-error-against-set-power.png"
        figure.savefig(path, dpi=100)
        pyplot.close(figure)
        self.session.evidence.attach_file(f"{POWER_ERROR_EVIDENCE} (all points so far)", path, "image/png")
