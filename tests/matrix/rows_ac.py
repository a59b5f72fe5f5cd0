"""Detection-matrix rows for the AC pile's own cases (testcases/ac)."""

from tests.matrix.harness import Row, inside, past

ROWS: list[Row] = [
    Row("ac", "", None, frozenset()),
    past("ac", "pwm_frequency_hz", 1035.0, "changji:4.2.9.5:pwm_frequency"),
    inside("ac", "pwm_frequency_hz", 1025.0),
    past("ac", "pwm_duty_offset_pct", 0.7, "changji:4.2.9.5:duty_error", "changji:4.2.9.1:offered_current_error"),
    inside("ac", "pwm_duty_offset_pct", 0.3),
    past("ac", "pwm_duty_resolution_pct", 1.2, "changji:4.2.9.5:duty_step", "changji:4.2.9.5:duty_error"),
    inside("ac", "pwm_duty_resolution_pct", 0.5),
]
