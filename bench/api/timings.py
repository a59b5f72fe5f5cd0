"""The bench's method timings for the platform cases: poll periods, observation windows, time
resolutions. Bench choices, fine against the seconds the rules allow; each says why.

(The AC and DC benches keep their own instrument timings in bench/api/ac.py and dc.py.)
"""

# Polling periods of the platform cases.
COMMAND_POLL_S = 1.0    # output on/off (power analyzer) while waiting for a command to be carried out
LEVEL_POLL_S = 0.25     # the output level (AC: EV simulator's PWM meter, DC: analyzer, ~ its update interval)
EVENT_POLL_S = 0.25     # the platform's event list (a Modbus poll of the pile's FIFO each time)
CLOCK_POLL_S = 1.0      # reading the pile's clock back after a time sync
# A timed start is watched closely (AC: PWM meter every PWM_POLL_S) from this long before it is
# due: more than the time-sync tolerance, so an early start within it is timed as finely.
START_WATCH_LEAD_S = 5.0
# The power analyzer's update interval as the bench leaves it (the simulated WT's default). A
# reading is the mean over the last interval and stands until the next update, so a step at the
# output shows up fully up to two intervals later.
ANALYZER_UPDATE_S = 0.2

# No CHM for this long (four periods of 250 ms, GB/T 27930): the charger is not in a handshake.
CHM_QUIET_S = 1.0
# A CAN frame's bench time is its adapter time stamp: better than 1 ms on any adapter.
CAN_TIME_RESOLUTION_S = 1e-3
# The pile's clock is read with millisecond resolution (Modbus clock_ms register, OCPP dateTime).
PILE_CLOCK_RESOLUTION_S = 1e-3
# An awaited effect is watched for this multiple of its limit: one that never comes is then a
# value beyond the limit (a fail), not the limit itself (a pass at the boundary).
WINDOW_FACTOR = 2.0
# 4.2.5 stop timing on the scope: the part of the record before the forced trigger, the supply
# change just after it, and the signal spread over 7 of the 8 vertical divisions.
SCOPE_PRE_TRIGGER = 0.1
SCOPE_ACTION_MARGIN_S = 0.1
SCREEN_DIVISIONS_USED = 7
# Measured output readings settle over this many analyzer update intervals (bench choice,
# the simulated WT updates every 0.2 s; a lab's analyzer at 0.5 s is still covered).
MEASUREMENT_SETTLE_S = 2.0
# The orderly-charging level counts as settled once it stays within its band this long.
LEVEL_SETTLE_HOLD_S = 1.0


def output_change_resolution_s(poll: float) -> float:
    """How late the bench may see a change of the output it polls on the analyzer every
    ``poll``: one poll and two updates (never early)."""
    return poll + 2 * ANALYZER_UPDATE_S
