"""The bench's method timings, all in one place: poll periods, hold times, time resolutions,
observation windows and record spans, for every bench (AC pile, DC charger) and for the cases.

They are bench choices, fine against the times the rules allow; each says why. The limits
themselves are in bench/core/limits.toml; instrument screen scales (volts per division,
trigger levels) stay with the bench that sets them (bench/api/ac/, bench/api/dc/).
"""

# -- every bench --------------------------------------------------------------------------------
# How often a wait looks at its condition when the caller names no period of its own.
WAIT_POLL_S = 0.05
# How long a case waits for the pile to carry out a platform command before it measures
# anyway: the 60 s of 4.2.6 plus this margin, so that a slow pile fails 4.2.6 (and only that),
# not the case that needed the command (BenchView.command_wait_s).
COMMAND_WAIT_MARGIN_S = 30.0
# An awaited effect is watched for this multiple of its limit: one that never comes is then a
# value beyond the limit (a fail), not the limit itself (a pass at the boundary). Records that
# time a rule run as long after their trigger, so a slow pile shows as slow.
WINDOW_FACTOR = 2.0
# A reading counts as settled once it stays within its band this long (Clock.wait_settled): the
# analyzer's output readings on a DC charger, the orderly-charging level of the platform cases.
SETTLE_HOLD_S = 1.0
# The power analyzer's update interval as the bench leaves it (the simulated WT's default). A
# reading is the mean over the last interval and stands until the next update, so a step at the
# output shows up fully up to two intervals later.
ANALYZER_UPDATE_S = 0.2
# Measured output readings settle over this many analyzer update intervals (bench choice,
# the simulated WT updates every 0.2 s; a lab's analyzer at 0.5 s is still covered).
MEASUREMENT_SETTLE_S = 2.0


def output_change_resolution_s(poll: float) -> float:
    """How late the bench may see a change of the output it polls on the analyzer every
    ``poll``: one poll and two updates (never early)."""
    return poll + 2 * ANALYZER_UPDATE_S


# -- scope records --------------------------------------------------------------------------------
# The part of a record before its trigger (for a forced trigger: where the bench acts), and how
# long after that part is filled a bench action comes.
RECORD_PRE_TRIGGER = 0.1
RECORD_ACTION_MARGIN_S = 0.1
# A forced-trigger capture is given up after three record lengths and 2 s (the acquisition, the
# transfer of the record, and the scope's own latency).
CAPTURE_TIMEOUT_RECORDS = 3
CAPTURE_TIMEOUT_MARGIN_S = 2.0


def record_window_s(after_trigger_s: float) -> float:
    """The length of a record that reaches ``after_trigger_s`` past its trigger (its first
    RECORD_PRE_TRIGGER is before the trigger)."""
    return after_trigger_s / (1 - RECORD_PRE_TRIGGER)


def capture_timeout_s(window_s: float) -> float:
    """How long a forced-trigger capture of a ``window_s`` record may take."""
    return CAPTURE_TIMEOUT_RECORDS * window_s + CAPTURE_TIMEOUT_MARGIN_S


# -- the platform cases ---------------------------------------------------------------------------
COMMAND_POLL_S = 1.0  # output on/off (power analyzer) while waiting for a command to be carried out
LEVEL_POLL_S = 0.25  # the output level (AC: EV simulator's PWM meter, DC: analyzer, ~ its update interval)
EVENT_POLL_S = 0.25  # the platform's event list (a Modbus poll of the pile's FIFO each time)
CLOCK_POLL_S = 1.0  # reading the pile's clock back after a time sync
BATTERY_MONITOR_POLL_S = 1.0  # the platform's battery monitor reads the pile's uploads (4.5.3 e)
# A timed start is watched closely (AC: PWM meter every PWM_POLL_S) from this long before it is
# due: more than the time-sync tolerance, so an early start within it is timed as finely.
START_WATCH_LEAD_S = 5.0
# The pile's clock is read with millisecond resolution (Modbus clock_ms register, OCPP dateTime).
PILE_CLOCK_RESOLUTION_S = 1e-3

# -- the AC pile ----------------------------------------------------------------------------------
# After the connector goes in, the bench waits this long before it reads the CP: relays
# bounce and the EV simulator's PWM meter averages over its own window (5 ms).
CONNECT_SETTLE_S = 0.05
# How the bench sees that the pile carried out a current-limit command: the EV simulator's PWM
# meter, polled at this period, must stay within its band (bench/api/ac/pilot.py) for this long.
PWM_POLL_S = 0.25
PWM_SETTLED_HOLD_S = 0.75
# A triggered CP record (10 ms) is given up after this long without a rising edge.
CP_CAPTURE_TIMEOUT_S = 2.0
# The records that time the contactor against S2: closing (≤ 3 s allowed) in a 5 s record
# with 90 % of it before the trigger on the output, so a delay up to 4.5 s is seen; opening
# (≤ 100 ms) in a 0.5 s record triggered on the CP, with 0.45 s after the trigger.
CONTACTOR_CLOSE_WINDOW_S = 5.0
CONTACTOR_CLOSE_PRE_TRIGGER = 0.9
CONTACTOR_OPEN_WINDOW_S = 0.5
# A capture around an S2 change waits for its trigger up to this many record lengths after S2.
S2_TRIGGER_WAIT_RECORDS = 2
# How often the over-current case looks at the pile's output (the cut time's resolution).
AC_OUTPUT_POLL_S = 0.1

# -- the DC charger -------------------------------------------------------------------------------
# Waits (bench seconds) for the GB/T 27930 session: handshake with the insulation check,
# configuration; the standard's 60 s for BRO/CRO bounds it (docs/limits.md §3).
SESSION_START_TIMEOUT_S = 90.0
PHASE_POLL_S = 0.05
# Output readings: polled at the analyzer's update interval (a slower instrument repeats its
# values); "settled" = within the band for SETTLE_HOLD_S.
OUTPUT_POLL_S = ANALYZER_UPDATE_S
# A reading still ramping is followed at this pace until it stops moving (bench choice).
RAMP_POLL_S = 0.5
# A stopping current is polled this often while the bench waits for its end level.
CURRENT_POLL_S = 0.1
# Four CHM periods (250 ms, GB/T 27930): a charger that sent no frame (no CHM) for this long is
# quiet (not in a handshake); the bus is looked at this often meanwhile.
QUIET_S = 1.0
QUIET_POLL_S = 0.25
# A CAN frame's bench time is its adapter's time stamp: better than 1 ms on any adapter (those
# that stamp in hardware do 1 µs or better; one that stamps on the host over USB, ~1 ms).
CAN_TIME_RESOLUTION_S = 1e-3
# The bench's BST is on the bus within one BST period (10 ms); it is looked for this often, and
# for this long at most.
BST_POLL_S = 0.01
BST_WAIT_S = 1.0
# Replugging: how long the bench waits for its BMS to notice the auxiliary supply is gone
# (the session polls the EV simulator every 0.1 s), and the margin over a sleeping
# vehicle's wake-up time (timing.WAKE_MIN_OFF_S, via the BMS's own configuration).
UNPLUG_NOTICE_S = 1.0
WAKE_MARGIN_S = 0.5

# -- the DC cases ---------------------------------------------------------------------------------
# 4.2.10.4: the EV simulator's auxiliary-supply input is read this often (far below the 10 s
# and 5 s of the rule), and the supply's return is awaited for this multiple of the 10 s.
AUX_POLL_S = 0.1
AUX_WATCH_FACTOR = 3.0
# 4.2.7: the uploads are polled this often (the values change rarely).
UPLOAD_POLL_S = 0.5
# GB/T 27930 periods: the session charges this long before the vehicle stops it (many CCS
# periods), and the vehicle holds back BRM and BRO this long, so that CRM, CML and CTS repeat
# (well inside the charger's 5 s wait for them).
PERIODS_CHARGING_S = 1.0
PERIODS_ANSWER_DELAY_S = 2.0
# Fault stop: the record of the output current spans this multiple of the rule's 100 ms (1 s:
# the CST, up to WINDOW_FACTOR × 100 ms after the emergency stop, and the fall after it).
FAULT_RECORD_FACTOR = 10.0

# -- issue 10 items 2, 3, 6: timed power change, protection and communication faults, metering ----
# A timed power change is watched coarsely (COMMAND_POLL_S) until START_WATCH_LEAD_S before it
# is due and again from START_WATCH_LEAD_S after it; in between every LEVEL_POLL_S.
# An AC pile's offered current (the EV simulator's PWM meter) is polled this often while a timed
# change is due (the meter reads over its own 5 ms window).
PWM_FINE_POLL_S = 0.05
# 4.2.5 output short and CAN loss: the record of the output current reaches WINDOW_FACTOR × the
# rule's time past the fault; the charging current they start from is a third of the maximum.
FAULT_CHARGING_FRACTION = 1 / 3
# 4.2.5 platform link loss: how long the bench keeps the link cut (bench choice: far longer than
# a pile needs to notice a closed connection or a missing poll; a lab sets it from the pile's
# own link timeout), and how often the pile's clock is read back to place its time stamps.
LINK_OUTAGE_S = 15.0
# 4.4.3 metering: each load point integrates this long between two steps of the pile's energy
# register (bench choice: the register's step and the bench's reaction to it, METER_POLL_S, are
# then small against the accuracy class), the register polled this often while a step is awaited,
# and a step awaited at most this long (also the fallback when the register does not count).
METERING_POINT_S = 60.0
METER_POLL_S = 0.05
METER_STEP_WAIT_S = 30.0

# -- issue 13: DC insulation and pre-charge --------------------------------------------------------
# The pre-charge: the charger's side of K1/K2 and the inlet are read this often from K5/K6 closing
# until CRO 0xAA (half the analyzer's update interval: the last pair is at most one update old).
PRECHARGE_POLL_S = ANALYZER_UPDATE_S / 2
