"""The DUT's side of every setpoint guard: what the bench may ask of each instrument so that
it never drives the pile under test outside its rating (docs/design.md#safe-state: refused
with a clear error, never truncated). The instrument's own rating is the driver's guard.
"""

from __future__ import annotations

from bench.core.profile import Profile

# Headroom above the DUT's rating that fault-injection cases need (bench choices):
SINK_MARGIN = 1.2  # battery/load may sink 20 % above the charger's maximum current
SUPPLY_MAX_RATIO = 1.3  # the grid may go to 1.3 × nominal for over-voltage injection (> 1.15)
VEHICLE_DRAW_MARGIN = 1.5  # the EV simulator may draw 1.5 × the pile's maximum (over-current case)


def dut_guards(profile: Profile) -> dict[str, dict[str, tuple[float, float]]]:
    dut = profile.dut
    v_lo, v_hi = dut.voltage_range_v
    i_max = dut.current_range_a[1]
    guards: dict[str, dict[str, tuple[float, float]]] = {
        "grid": {"voltage_v": (0.0, dut.nominal_supply_v * SUPPLY_MAX_RATIO)},
    }
    if dut.kind == "dc":
        sink = i_max * SINK_MARGIN
        guards["battery"] = {"voltage_v": (0.0, v_hi), "current_a": (-sink, sink)}
        guards["load"] = {"voltage_v": (0.0, v_hi), "current_a": (0.0, sink)}
    else:
        guards["ev"] = {"current_a": (0.0, i_max * VEHICLE_DRAW_MARGIN)}
    return guards
