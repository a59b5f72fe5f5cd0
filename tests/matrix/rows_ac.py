"""Detection-matrix rows for the AC pile's own cases (testcases/ac).

Past rows sit just beyond the rule's limit; inside rows sit further inside than the check's
uncertainty (scope sample interval, one CP period, one mains cycle, the poll period).
"""

from tests.matrix.harness import Row, inside, past

# -- issue 13: AC vehicle-side faults (testcases/ac/test_vehicle_faults.py)
CP_PE_SHORT_OFF = "gbt18487.1:A:cp_pe_short_supply_off_time"
DIODE_SHORT_OFF = "gbt18487.1:A:diode_short_supply_off_time"
CP_OPEN_OFF = "gbt18487.1:A:cp_open_supply_off_time"
PE_OPEN_OFF = "gbt18487.1:A:pe_open_supply_off_time"
CP_FAULTS_OFF = (CP_PE_SHORT_OFF, DIODE_SHORT_OFF, CP_OPEN_OFF, PE_OPEN_OFF)
CABLE_DUTY = "gbt18487.1:A:cable_capacity_duty_excess"

ROWS: list[Row] = [
    Row("ac", "", None, frozenset()),
    past("ac", "pwm_frequency_hz", 1035.0, "changji:4.2.9.5:pwm_frequency"),
    inside("ac", "pwm_frequency_hz", 1025.0),
    # The offset also lifts the duty offered with a 16 A or 63 A cable past the cable's +0.5 %.
    past(
        "ac",
        "pwm_duty_offset_pct",
        0.7,
        "changji:4.2.9.5:duty_error",
        "changji:4.2.9.1:offered_duty_error",
        CABLE_DUTY,
    ),
    inside("ac", "pwm_duty_offset_pct", 0.3),
    # 1.2 % steps: the step case fails; the absolute duty at the quick grid's 16 A (26.67 % →
    # 26.4 %) stays inside ±0.5 %.
    past("ac", "pwm_duty_resolution_pct", 1.2, "changji:4.2.9.5:duty_step"),
    inside("ac", "pwm_duty_resolution_pct", 0.5),
    past("ac", "cp_high_v", 12.8, "gbt18487.1:A:cp_state1_voltage", "gbt18487.1:A:cp_low_voltage"),
    inside("ac", "cp_high_v", 12.4),
    # R1 = 1600 Ω against the vehicle's R3 (S2 open) and R3 ∥ R2 (S2 closed): 7.83 V and 4.72 V,
    # under the 8.0 V and 5.0 V floors; 1250 Ω gives 8.46 V and 5.37 V.
    past("ac", "cp_source_resistance_ohm", 1600.0, "gbt18487.1:A:cp_state2_voltage", "gbt18487.1:A:cp_state3_voltage"),
    inside("ac", "cp_source_resistance_ohm", 1250.0),
    past(
        "ac",
        "contactor_close_delay_s",
        3.1,
        "changji:4.2.9.4:contactor_close_delay",
        "changji:4.2.9.4:wake_on_s2_delay",
    ),
    inside("ac", "contactor_close_delay_s", 2.9),
    # The pile opens on S2 and on the CP faults after the same delay (issue 13): 0.12 s measures
    # 0.12 s on each; 0.08 s measures 0.08 s (the output's end is read to half a mains cycle).
    past("ac", "contactor_open_delay_s", 0.12, "gbt18487.1:A:contactor_open_delay", *CP_FAULTS_OFF),
    inside("ac", "contactor_open_delay_s", 0.08),
    past("ac", "wakes_on_s2", False, "changji:4.2.9.4:wake_on_s2_delay"),
    inside("ac", "wakes_on_s2", True),
    past("ac", "wakes_vehicle", False, "changji:4.2.9.4:wake_vehicle_pwm_delay", "changji:4.2.2:command_executed"),
    inside("ac", "wakes_vehicle", True),
    past("ac", "ignores_overcurrent", True, "gbt18487.1:A:overcurrent_cut_time"),
    inside("ac", "ignores_overcurrent", False),
    # The two branches of the over-current rule, the vehicle drawing 1 A past each threshold:
    # 16 A allowed draws 19 A (a pile cutting above 16 + 3.5 A does not cut, above 16 + 2.5 A does);
    # 32 A allowed draws 36.2 A (above 1.15 × 32 = 36.8 A it does not cut, above 1.12 × 32 = 35.84 A it does).
    past("ac", "overcurrent_margin_a", 3.5, "gbt18487.1:A:overcurrent_cut_time"),
    inside("ac", "overcurrent_margin_a", 2.5),
    past("ac", "overcurrent_ratio", 1.15, "gbt18487.1:A:overcurrent_cut_time"),
    inside("ac", "overcurrent_ratio", 1.12),
    # One edge time for both CP edges: 11.5 µs breaks the 10 µs rise alone, 14 µs the 13 µs
    # fall too (the scope's 100 ns samples give ± 0.08 µs).
    past("ac", "cp_edge_s", 11.5e-6, "gbt18487.1:A:cp_rise_time"),
    past("ac", "cp_edge_s", 14e-6, "gbt18487.1:A:cp_rise_time", "gbt18487.1:A:cp_fall_time"),
    inside("ac", "cp_edge_s", 9e-6),
    # -- issue 13: AC vehicle-side faults. CP shorted to PE, the diode shorted, CP or PE opened
    # while charging: output off ≤ 100 ms (30 ms measured); a pile that keeps supplying through
    # them is still on at the end of the record (0.22 s). The cable's RC: with the quick grid's
    # 16 A cable a pile that offers its own 32 A shows 53.3 % for 26.7 % (+26.6 % past +0.5 %).
    past("ac", "ignores_cp_fault", True, *CP_FAULTS_OFF),
    inside("ac", "ignores_cp_fault", False),
    past("ac", "ignores_cable_rating", True, CABLE_DUTY),
    inside("ac", "ignores_cable_rating", False),
]
