"""How evidence names things: grid points as named Allure parameters with units, and each record
signal's unit on its plot and CSV (issue 11: no more "operating_point: '16.0'" or a current in V)."""

from bench.api.base import point_parameters
from bench.api.scope import signal_unit


def test_a_grid_point_is_named_with_its_unit():
    assert point_parameters("ac_offered_current_a", 16.0) == {"current limit": "16 A"}
    assert point_parameters("ac_overcurrent_allowed_a", 32.0) == {"current allowed": "32 A"}
    assert point_parameters("dc_power_fraction", [0.2, "low"]) == {
        "set power": "0.2 × rated power",
        "battery": "low of its voltage window",
    }
    assert point_parameters("dc_current_step_large_a", [100.0, 20.0]) == {"current step": "100 → 20 A"}


def test_a_current_signal_is_in_amperes():
    assert signal_unit("output_current") == "A"
    assert signal_unit("cp") == signal_unit("inlet_voltage") == "V"
