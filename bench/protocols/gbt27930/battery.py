"""The emulated vehicle battery's state and the message values that report it.

Cell voltages, temperatures, SOC and BSM status are state that test cases script (without
a BST: the charger or the platform has to notice from BSM/BCS/BMV/BMT and the extension
frame). Measured pack voltage and current come from outside (the bench's measurement).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.core.errors import BenchError
from bench.protocols.gbt27930.bms_config import BmsConfig

# report_abnormal(condition) → (BSM field, value)
ABNORMAL_CONDITIONS = {
    "cell_overvoltage": ("cell_voltage", "high"),
    "cell_undervoltage": ("cell_voltage", "low"),
    "soc_high": ("soc_status", "high"),
    "soc_low": ("soc_status", "low"),
    "overcurrent": ("overcurrent", "abnormal"),
    "overtemperature": ("overtemperature", "abnormal"),
    "insulation": ("insulation", "abnormal"),
    "connector": ("connector", "abnormal"),
}
BSM_STATUS_FIELDS = ("cell_voltage", "soc_status", "overcurrent", "overtemperature", "insulation", "connector")

# What the message fields can carry (catalogue scales): measured values are clamped to it.
CURRENT_RANGE_A = (-400.0, 6153.4)
VOLTAGE_RANGE_V = (0.0, 6553.4)
REMAINING_TIME_MAX_MIN = 600  # BCS remaining time range 0 … 600 min (catalogue, I)


def clamp(value: float, limits: tuple[float, float]) -> float:
    return min(max(value, limits[0]), limits[1])


class BatteryState:
    def __init__(self, config: BmsConfig):
        self.config = config
        ext = config.extension
        self.soc_pct = float(config.soc_pct)
        nominal = max(config.rated_voltage_v / config.cells, ext.lowest_cell_voltage_v)
        self.cell_voltages = [nominal] * config.cells
        if 1 <= ext.lowest_cell_number <= config.cells:
            self.cell_voltages[ext.lowest_cell_number - 1] = ext.lowest_cell_voltage_v
        self.temperatures = [float(config.temperature_c)] * config.temperature_probes
        self.status = {name: "normal" for name in BSM_STATUS_FIELDS}
        self.charging_allowed = True
        self.heating_status = ext.heating_status
        self.cooling_status = ext.cooling_status
        self.internal_resistance_mohm = ext.internal_resistance_mohm
        self.vehicle_model = ext.vehicle_model
        # A pack voltage the BMS reports in BCS instead of the measured one (None: the measured):
        # the vehicle's own reading, which a platform judges against the battery's maximum.
        self.voltage_reading_v: float | None = None

    # -- scripted changes -------------------------------------------------------------------
    def set_cell_voltages(self, values: float | Sequence[float]) -> None:
        if isinstance(values, (int, float)):
            values = [float(values)] * self.config.cells
        if not values:
            raise BenchError("set_cell_voltages: give at least one voltage")
        self.cell_voltages = [float(v) for v in values]

    def set_temperatures(self, values: float | Sequence[float], spread_c: float = 0.0) -> None:
        """All probes at ``values`` (a number: the mean, spread evenly over ±spread/2) or a list."""
        if isinstance(values, (int, float)):
            n = self.config.temperature_probes
            step = spread_c / (n - 1) if n > 1 else 0.0
            values = [values - spread_c / 2 + i * step for i in range(n)]
        if not values:
            raise BenchError("set_temperatures: give at least one temperature")
        self.temperatures = [float(v) for v in values]

    def report_abnormal(self, condition: str) -> None:
        if condition not in ABNORMAL_CONDITIONS:
            raise BenchError(f"abnormal condition {condition!r}: one of {', '.join(ABNORMAL_CONDITIONS)}")
        field, value = ABNORMAL_CONDITIONS[condition]
        self.status[field] = value

    def clear_abnormal(self) -> None:
        self.status = {name: "normal" for name in BSM_STATUS_FIELDS}

    def integrate(self, current_a: float, dt_s: float) -> None:
        """Coulomb counting: charging current (positive) over ``dt_s`` raises the SOC."""
        if self.config.capacity_ah > 0:
            self.soc_pct = clamp(self.soc_pct + current_a * dt_s / (self.config.capacity_ah * 36.0), (0.0, 100.0))

    # -- message values ---------------------------------------------------------------------
    def _lowest_cell(self) -> tuple[int, float]:
        index = min(range(len(self.cell_voltages)), key=self.cell_voltages.__getitem__)
        return index + 1, self.cell_voltages[index]

    def bcs(self, voltage_v: float, current_a: float) -> dict[str, Any]:
        """BCS from the measured pack voltage and current (charging positive)."""
        top = max(range(len(self.cell_voltages)), key=self.cell_voltages.__getitem__)
        if current_a > 1.0:
            remaining = (100.0 - self.soc_pct) / 100.0 * self.config.capacity_ah / current_a * 60.0
        else:
            remaining = 0.0
        if self.voltage_reading_v is not None:
            voltage_v = self.voltage_reading_v
        return {
            "voltage": clamp(voltage_v, VOLTAGE_RANGE_V),
            "current": clamp(-current_a, CURRENT_RANGE_A),  # the standard: negative = charging
            "highest_cell_voltage": clamp(self.cell_voltages[top], (0.0, 40.94)),
            "highest_cell_group": 0,
            "soc": round(self.soc_pct),
            "remaining_time": min(REMAINING_TIME_MAX_MIN, round(remaining)),
        }

    def bsm(self) -> dict[str, Any]:
        temps = self.temperatures
        hot = max(range(len(temps)), key=temps.__getitem__)
        cold = min(range(len(temps)), key=temps.__getitem__)
        top = max(range(len(self.cell_voltages)), key=self.cell_voltages.__getitem__)
        return {
            "highest_cell_number": min(top + 1, 256),
            "highest_temperature": clamp(round(temps[hot]), (-50, 204)),
            "highest_temperature_probe": min(hot + 1, 256),
            "lowest_temperature": clamp(round(temps[cold]), (-50, 204)),
            "lowest_temperature_probe": min(cold + 1, 256),
            **self.status,
            "charging_allowed": "allowed" if self.charging_allowed else "prohibited",
        }

    def bmv(self) -> dict[str, Any]:
        cells = [clamp(v, (0.0, 40.94)) for v in self.cell_voltages[:256]]
        return {"cell_voltage": cells, "cell_group": [0] * len(cells)}

    def bmt(self) -> dict[str, Any]:
        return {"temperature": [clamp(round(t), (-50, 204)) for t in self.temperatures[:128]]}

    def bsd(self) -> dict[str, Any]:
        return {
            "soc": round(self.soc_pct),
            "min_cell_voltage": min(self.cell_voltages),
            "max_cell_voltage": max(self.cell_voltages),
            "min_temperature": clamp(round(min(self.temperatures)), (-50, 204)),
            "max_temperature": clamp(round(max(self.temperatures)), (-50, 204)),
        }

    def extension(self) -> dict[str, Any]:
        number, voltage = self._lowest_cell()
        return {
            "lowest_cell_voltage": voltage,
            "lowest_cell_number": number,
            "heating_status": self.heating_status,
            "cooling_status": self.cooling_status,
            "internal_resistance": self.internal_resistance_mohm,
            "vehicle_model": self.vehicle_model,
        }
