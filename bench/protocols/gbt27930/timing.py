"""Every protocol time figure the stack uses, with its source (docs/limits.md §3).

Confidence marks as in docs/limits.md: T transcribed from the standard, I from public code
or test benches that follow it, U a bench default where no source gives a figure.
"""

# -- GB/T 27930-2015 receive timeouts (docs/limits.md §3 "Timeouts", T) ----------------------
DEFAULT_TIMEOUT_S = 5.0  # every message without a figure of its own
BCL_TIMEOUT_S = 1.0  # charger waiting for BCL while charging
CCS_TIMEOUT_S = 1.0  # BMS waiting for CCS while charging
READY_TIMEOUT_S = 60.0  # BRO(0xAA) / CRO(0xAA) may take up to 60 s
MAX_RECONNECTS = 3  # reconnection attempts after a timeout, then stop

# -- J1939-21 transport protocol (issue 3; SAE J1939-21 §5.10.2.4, T) ----------------------
TP_TR_S = 0.200  # a node answers (CTS, EndOfMsgAck) within Tr
TP_TH_S = 0.500  # a receiver holding the connection repeats CTS(0) every Th
TP_T1_S = 0.750  # receiver: longest gap between two DT packets
TP_T2_S = 1.250  # receiver: from sending CTS to the first DT
TP_T3_S = 1.250  # sender: from RTS / the last DT of a window to CTS or EndOfMsgAck
TP_T4_S = 1.050  # sender: from CTS(0) (hold) to the next CTS

# -- stop and safety (docs/limits.md §1 4.5.3 e, §3 "Stopping") -------------------------------
OVERVOLTAGE_STOP_S = 1.0  # GB/T 34657.1 D0.4504 (I): stop within 1 s of output > BCP maximum
# GB/T 18487.1-2015 Annex B (I): before pre-charge the charger checks the voltage at its
# output against the battery voltage the BMS sent in BCP; more than ±5 % apart is a fault.
INLET_VOLTAGE_TOLERANCE = 0.05

# -- bench choices where no source gives a figure (U) ---------------------------------------
RECONNECT_DELAY_S = 1.0  # CEM/BEM are sent this long before the handshake restarts
END_HOLD_S = 1.0  # BSD/CSD keep coming this long after the peer's (real capture: ~1 s)
BRO_READY_DELAY_S = 0.5  # emulated vehicle: BRO 0x00 → 0xAA after CML (capture: ~1.3 s)
WAKE_MIN_OFF_S = 10.0  # a sleeping vehicle wakes only after the 12 V supply was off this long
# (seed 4.2.10.4: "more than 10 s", U elsewhere)
