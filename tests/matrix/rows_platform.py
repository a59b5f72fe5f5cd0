"""Detection-matrix rows for the platform cases (testcases/platform), AC and DC.

Every platform parameter has a row just past its limit and one just inside on the Modbus
profiles of both kinds; command_response_delay_s also on the OCPP 1.6J profiles (issue 4: the
4.2.2 and 4.2.6 cases pass with either control channel, and fail with a pile just over 60 s).
Each row runs the whole suite of its kind, so a past row lists every key the parameter breaks
in any case of that kind.
"""

from tests.matrix.harness import PROFILES, Row, inside, past

AC, DC = PROFILES["ac"], PROFILES["dc"]
AC_OCPP, DC_OCPP = "profiles/sim-ac-7kw-ocpp.toml", "profiles/sim-dc-60kw-ocpp.toml"

RESPONSE = "changji:4.2.6:command_response_time"
# testcases/ac/test_wake_up.py times the AC wake command against the same 60 s (limits table).
AC_WAKE = "changji:4.2.9.4:wake_vehicle_pwm_delay"
CLOCK = ("changji:4.2.9.3:time_sync_error", "changji:4.2.9.3:timed_start_delay")
UPLOADS = (
    "changji:4.2.4:upload_voltage_error",
    "changji:4.2.4:upload_current_error",
    "changji:4.2.4:upload_power_error",
)
# 4.2.5's event key is also judged by the AC over-current case (testcases/ac/test_overcurrent.py).
EVENTS = ("changji:4.2.3:event_latency", "changji:4.2.4:upload_latency", "changji:4.2.5:event_latency")
SUPPLY = ("changji:4.2.5:supply_fault_stop_time", "changji:4.2.5:event_latency")
TIMED_CHANGE = "changji:4.2.9.3:timed_power_change_delay"
LINK_LOSS = ("changji:4.2.5:link_loss_recorded", "changji:4.2.5:link_loss_upload_time")
CLOCK_ERROR = "changji:4.4.3:clock_error"
# The profiles' meter classes: AC class 2, DC class 1, DC over OCPP class 0.5.
METER = {AC: "changji:4.4.3:energy_error_class_2", AC_OCPP: "changji:4.4.3:energy_error_class_2"}
METER |= {DC: "changji:4.4.3:energy_error_class_1", DC_OCPP: "changji:4.4.3:energy_error_class_0_5"}

# Just past / just inside. The measured response time is the delay plus up to one level poll on
# an AC pile (59.0 s → 59.25 s ± 0.25 s), plus the output's settling and the analyzer's lag on
# a DC charger (58.5 s → 59.0 s ± 0.65 s): the inside values stay further inside 60 s than the
# check's uncertainty.
DELAY = {"ac": (60.5, 59.0), "dc": (60.5, 58.5)}


def _pair(kind: str, parameter: str, past_value, inside_value, *keys: str, profile: str) -> list[Row]:
    return [
        past(kind, parameter, past_value, *keys, profile=profile),
        inside(kind, parameter, inside_value, profile=profile),
    ]


ROWS: list[Row] = []
for _kind, _modbus, _ocpp in (("ac", AC, AC_OCPP), ("dc", DC, DC_OCPP)):
    _slow = (RESPONSE, AC_WAKE) if _kind == "ac" else (RESPONSE,)
    for _profile in (_modbus, _ocpp):
        ROWS += _pair(_kind, "command_response_delay_s", *DELAY[_kind], *_slow, profile=_profile)
    # ahead: also starts, and changes its power, too early
    ROWS += _pair(_kind, "rtc_offset_s", 2.5, 1.5, *CLOCK, TIMED_CHANGE, profile=_modbus)
    ROWS += _pair(_kind, "upload_error_pct", 1.2, 0.8, *UPLOADS, profile=_modbus)
    ROWS += _pair(_kind, "reports_events", False, True, *EVENTS, *LINK_LOSS, profile=_modbus)
    ROWS += _pair(_kind, "ignores_supply_fault", True, False, *SUPPLY, profile=_modbus)
    # A plant setting, not a rule breaker: a pile that does stop, but late (scope-timed to ±10 ms).
    ROWS += _pair(_kind, "supply_fault_stop_s", 1.05, 0.9, SUPPLY[0], profile=_modbus)


# -- issue 10 items 2, 3, 6 ---------------------------------------------------------------------
# Timed power change, −2 s … 60 s of the set time. Early: the onset is timed to 0.05 s (AC PWM
# meter) or better (DC scope record): −2.2 s measures −2.15 / −2.19 s, −1.8 s −1.75 / −1.79 s.
# Late: the coarse watch sees it up to 1.4 s late: 58 s measures 59.0 / 59.1 s, 60.5 s 61.0 / 61.1 s.
# Both channels: the Modbus registers and the OCPP charging profile.
# Energy register: AC class 2 (±2 %), DC class 1 (±1 %), DC over OCPP class 0.5 (±0.5 %); the
# bench measures within 0.1 % of the register's own error, its uncertainty up to 0.25 % (AC) /
# 0.23 % (DC) at the 20 % point.
_METER = {AC: (2.2, -2.2, 1.5), AC_OCPP: (2.2, -2.2, 1.5), DC: (1.2, -1.2, 0.6), DC_OCPP: (0.6, -0.6, 0.25)}
for _kind, _modbus, _ocpp in (("ac", AC, AC_OCPP), ("dc", DC, DC_OCPP)):
    for _profile in (_modbus, _ocpp):
        ROWS += _pair(_kind, "timed_power_offset_s", -2.2, -1.8, TIMED_CHANGE, profile=_profile)
        ROWS += _pair(_kind, "uploads_link_loss", False, True, *LINK_LOSS, profile=_profile)
        _high, _low, _inside = _METER[_profile]
        ROWS += _pair(_kind, "meter_error_pct", _high, _inside, METER[_profile], profile=_profile)
    ROWS += _pair(_kind, "timed_power_offset_s", 60.5, 58.0, TIMED_CHANGE, profile=_modbus)
    ROWS.append(past(_kind, "meter_error_pct", _METER[_modbus][1], METER[_modbus], profile=_modbus))
    # A pile clock 5.5 s off: the clock error at first verification too (±5 s); 4.5 s does not reach it
    # but breaks the ±2 s of the sync (the 2.5 s row above).
    ROWS.append(past(_kind, "rtc_offset_s", 5.5, *CLOCK, TIMED_CHANGE, CLOCK_ERROR, profile=_modbus))
