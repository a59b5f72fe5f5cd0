"""The 22 messages of GB/T 27930-2015 as data (docs/limits.md §3).

Positions are written as the standard writes them: "byte" or "byte.bit", both 1-based,
little-endian. Confidence: PGNs, priorities, lengths, periods and the sign convention are
T (docs/limits.md §3); field layouts are I (public parsers of the standard, checked against
the real capture in tests/data/gbt27930). ``codec.py`` is generic over these tables.

Conventions the codec applies to every field:
* physical = raw × scale + offset;
* a field sent as all ones is absent (None) unless its enumeration names that value;
* an optional field beyond the end of the payload is absent; bits no field covers are
  sent as ones.

Fields carried twice, each by its own message's definition (tests/gbt27930/test_frame_kinds.py
pins them):
* charger number: CRM (SPN 2561) 1/bit offset 0, CSD (SPN 3613) 1/bit offset **1**, as the 2015
  text gives them (the issue's reading of the text, I: the bench has not seen the text itself).
  Followed, not corrected: a type-test report states what the standard defines; where a
  charger's CSD raw value equals its CRM raw value, the decoded CSD number is one higher, and
  that is what a lab should see.
* SOC: BCP 0.1 %/bit (16 bits), BCS and BSD 1 %/bit (8 bits).
* cell numbers and groups: BSM's highest-cell number and its temperature probe numbers count
  from 1 (offset 1); BCS's and BMV's cell *group* counts from 0 (4 bits).
* cell voltages 0.01 V/bit (BCP, BCS and BMV in 12 bits, BSD in 16 bits); total voltages
  0.1 V/bit (BHM, BCP, BCL, BCS, CCS, CML); energy 0.1 kWh/bit (BCP, CSD); charging time
  1 min/bit (BCS remaining, CCS, CSD); currents 0.1 A/bit offset −400 A (BCP, CML, BCL, BCS,
  CCS); temperatures 1 °C/bit offset −50 °C (BCP, BSM, BMT, BSD): the same in every message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.protocols.gbt27930 import timing

CHARGER = "charger"
BMS = "bms"

HANDSHAKE = "handshake"
CONFIGURATION = "configuration"
CHARGING = "charging"
END = "end"
ERROR = "error"
PHASES = (HANDSHAKE, CONFIGURATION, CHARGING, END)  # in session order; ERROR any time

# Field kinds
UINT = "uint"  # number: raw × scale + offset
ENUM = "enum"  # raw value → label
TEXT = "text"  # ASCII bytes, padded with 0xFF
BCD = "bcd"  # binary-coded decimal, little-endian bytes (CTS)
VERSION = "version"  # 3 bytes: byte 1 minor, bytes 2-3 major → "major.minor"


@dataclass(frozen=True)
class Field:
    name: str
    pos: str  # "byte" or "byte.bit", 1-based as in the standard
    bits: int
    kind: str = UINT
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    optional: bool = False
    values: Mapping[int, str] | None = None  # enumeration (ENUM)
    low: float | None = None  # the standard's data range, physical (checked on decode)
    high: float | None = None
    default: object = None  # used by encode when the caller leaves a mandatory field out
    doc: str = ""

    @property
    def start_bit(self) -> int:
        byte, _, bit = self.pos.partition(".")
        return (int(byte) - 1) * 8 + (int(bit) - 1 if bit else 0)

    @property
    def end_byte(self) -> int:
        """Number of payload bytes needed to hold this field."""
        return (self.start_bit + self.bits + 7) // 8


@dataclass(frozen=True)
class Repeat:
    """A run of equal elements filling the payload (BMV cells, BMT probes, BSP bytes)."""

    name: str
    fields: tuple[Field, ...]  # positions relative to the element's first byte
    stride_bits: int
    max_count: int


@dataclass(frozen=True)
class MessageSpec:
    name: str
    title: str
    pgn: int
    priority: int
    lengths: tuple[int, ...]  # allowed payload sizes (a Repeat message: every multiple up to max)
    period_s: float
    sender: str  # CHARGER or BMS
    phase: str
    fields: tuple[Field, ...] = ()
    repeat: Repeat | None = None
    optional: bool = False  # the message itself is optional (CTS, BMV, BMT, BSP)
    timeout_s: float | None = None  # receiver's timeout for this message, when it has one

    @property
    def max_length(self) -> int:
        if self.repeat is not None:
            return self.repeat.max_count * self.repeat.stride_bits // 8
        return max(self.lengths)

    @property
    def uses_transport(self) -> bool:
        return self.max_length > 8

    def length_ok(self, n: int) -> bool:
        if self.repeat is not None:
            stride = self.repeat.stride_bits // 8
            return 0 < n <= self.max_length and n % stride == 0
        return n in self.lengths


# -- field helpers ---------------------------------------------------------------------------
def num(name: str, pos: str, bits: int, scale: float = 1.0, offset: float = 0.0, unit: str = "", **kw: Any) -> Field:
    return Field(name, pos, bits, UINT, scale, offset, unit, **kw)


def enum(name: str, pos: str, bits: int, values: Mapping[int, str], **kw: Any) -> Field:
    return Field(name, pos, bits, ENUM, values=values, **kw)


def text(name: str, pos: str, nbytes: int, **kw: Any) -> Field:
    return Field(name, pos, nbytes * 8, TEXT, **kw)


def bcd(name: str, pos: str, nbytes: int, **kw: Any) -> Field:
    return Field(name, pos, nbytes * 8, BCD, **kw)


def version(name: str, pos: str) -> Field:
    return Field(name, pos, 24, VERSION, doc="byte 1 minor, bytes 2-3 major: 01 01 00 = V1.1")


def volts(name: str, pos: str, **kw: Any) -> Field:
    return num(name, pos, 16, 0.1, 0.0, "V", **kw)


CURRENT_OFFSET_A = -400.0


def amps(name: str, pos: str, **kw: Any) -> Field:
    """Current, 0.1 A/bit, offset −400 A: negative means charging (raw 3800 → −20.0 A)."""
    return num(name, pos, 16, 0.1, CURRENT_OFFSET_A, "A", **kw)


def celsius(name: str, pos: str, **kw: Any) -> Field:
    return num(name, pos, 8, 1.0, -50.0, "°C", **kw)


def flag(name: str, pos: str) -> Field:
    """A 2-bit stop/fault flag of BST/CST: 00 no, 01 yes, 10 untrusted."""
    return enum(name, pos, 2, FLAG, default="no")


def timeout_flag(name: str, pos: str) -> Field:
    """A 2-bit BEM/CEM timeout flag: 00 normal, 01 timeout, 10 untrusted."""
    return enum(name, pos, 2, TIMEOUT, default="normal")


# -- enumerations ----------------------------------------------------------------------------
RECOGNITION = {0x00: "not_recognized", 0xAA: "recognized"}
READINESS = {0x00: "not_ready", 0xAA: "ready"}
BATTERY_TYPES = {
    1: "lead-acid",
    2: "nimh",
    3: "lfp",
    4: "limn2o4",
    5: "licoo2",
    6: "ternary",
    7: "li-polymer",
    8: "lito",
    0xFF: "other",
}
OWNERSHIP = {0: "leased", 1: "owned"}
CHARGE_MODE = {1: "cv", 2: "cc"}
HIGH_LOW = {0: "normal", 1: "high", 2: "low"}
STATUS = {0: "normal", 1: "abnormal", 2: "untrusted"}
ALLOWED = {0: "prohibited", 1: "allowed"}
PERMITTED = {0: "paused", 1: "permitted"}
FLAG = {0: "no", 1: "yes", 2: "untrusted"}
TIMEOUT = {0: "normal", 1: "timeout", 2: "untrusted"}

_T = timing.DEFAULT_TIMEOUT_S

MESSAGES: tuple[MessageSpec, ...] = (
    # -- handshake ---------------------------------------------------------------------------
    MessageSpec(
        "CHM",
        "charger handshake",
        0x2600,
        6,
        (3,),
        0.25,
        CHARGER,
        HANDSHAKE,
        (version("protocol_version", "1"),),
        timeout_s=_T,
    ),
    MessageSpec(
        "BHM", "BMS handshake", 0x2700, 6, (2,), 0.25, BMS, HANDSHAKE, (volts("max_charge_voltage", "1"),), timeout_s=_T
    ),
    MessageSpec(
        "CRM",
        "charger recognition",
        0x0100,
        6,
        (8,),
        0.25,
        CHARGER,
        HANDSHAKE,
        (
            enum("recognition", "1", 8, RECOGNITION),
            num("charger_number", "2", 32),
            text("region", "6", 3, optional=True),
        ),
        timeout_s=_T,
    ),
    MessageSpec(
        "BRM",
        "BMS and vehicle recognition",
        0x0200,
        7,
        (41, 49),
        0.25,
        BMS,
        HANDSHAKE,
        (
            version("protocol_version", "1"),
            enum("battery_type", "4", 8, BATTERY_TYPES),
            num("rated_capacity", "5", 16, 0.1, unit="Ah"),
            volts("rated_voltage", "7"),
            text("maker", "9", 4, optional=True),
            num("pack_serial", "13", 32, optional=True),
            num("production_year", "17", 8, offset=1985, optional=True),
            num("production_month", "18", 8, optional=True, low=1, high=12),
            num("production_day", "19", 8, optional=True, low=1, high=31),
            num("charge_cycles", "20", 24, optional=True),
            enum("ownership", "23", 8, OWNERSHIP, optional=True),
            text("vin", "25", 17, optional=True),
            num("software_serial", "42", 8, optional=True),
            num("software_day", "43", 8, optional=True, low=1, high=31),
            num("software_month", "44", 8, optional=True, low=1, high=12),
            num("software_year", "45", 16, optional=True),
        ),
        timeout_s=_T,
    ),
    # -- configuration -----------------------------------------------------------------------
    MessageSpec(
        "BCP",
        "battery charging parameters",
        0x0600,
        7,
        (13,),
        0.5,
        BMS,
        CONFIGURATION,
        (
            num("max_cell_voltage", "1", 16, 0.01, unit="V"),
            amps("max_charge_current", "3"),
            num("nominal_energy", "5", 16, 0.1, unit="kWh"),
            volts("max_charge_voltage", "7"),
            celsius("max_temperature", "9"),
            num("soc", "10", 16, 0.1, unit="%", high=100),
            volts("battery_voltage", "12"),
        ),
        timeout_s=_T,
    ),
    MessageSpec(
        "CTS",
        "charger time sync",
        0x0700,
        6,
        (7,),
        0.5,
        CHARGER,
        CONFIGURATION,
        (
            bcd("second", "1", 1, optional=True, high=59),
            bcd("minute", "2", 1, optional=True, high=59),
            bcd("hour", "3", 1, optional=True, high=23),
            bcd("day", "4", 1, optional=True, low=1, high=31),
            bcd("month", "5", 1, optional=True, low=1, high=12),
            bcd("year", "6", 2, optional=True),
        ),
        optional=True,
        timeout_s=_T,
    ),
    MessageSpec(
        "CML",
        "charger maximum output",
        0x0800,
        6,
        (8,),
        0.25,
        CHARGER,
        CONFIGURATION,
        (
            volts("max_output_voltage", "1"),
            volts("min_output_voltage", "3"),
            amps("max_output_current", "5"),
            amps("min_output_current", "7"),
        ),
        timeout_s=_T,
    ),
    MessageSpec(
        "BRO", "BMS ready", 0x0900, 4, (1,), 0.25, BMS, CONFIGURATION, (enum("ready", "1", 8, READINESS),), timeout_s=_T
    ),
    MessageSpec(
        "CRO",
        "charger ready",
        0x0A00,
        4,
        (1,),
        0.25,
        CHARGER,
        CONFIGURATION,
        (enum("ready", "1", 8, READINESS),),
        timeout_s=_T,
    ),
    # -- charging ----------------------------------------------------------------------------
    MessageSpec(
        "BCL",
        "battery charging demand",
        0x1000,
        6,
        (5,),
        0.05,
        BMS,
        CHARGING,
        (
            volts("voltage_demand", "1"),
            amps("current_demand", "3"),
            enum("mode", "5", 8, CHARGE_MODE),
        ),
        timeout_s=timing.BCL_TIMEOUT_S,
    ),
    MessageSpec(
        "BCS",
        "battery charging status",
        0x1100,
        7,
        (9,),
        0.25,
        BMS,
        CHARGING,
        (
            volts("voltage", "1"),
            amps("current", "3"),
            num("highest_cell_voltage", "5.1", 12, 0.01, unit="V"),
            num("highest_cell_group", "6.5", 4),
            num("soc", "7", 8, unit="%", high=100),
            num("remaining_time", "8", 16, unit="min", high=600),
        ),
        timeout_s=_T,
    ),
    MessageSpec(
        "CCS",
        "charger charging status",
        0x1200,
        6,
        (8,),
        0.05,
        CHARGER,
        CHARGING,
        (
            volts("output_voltage", "1"),
            amps("output_current", "3"),
            num("charging_time", "5", 16, unit="min", high=600),
            enum("charging_permitted", "7.1", 2, PERMITTED),
        ),
        timeout_s=timing.CCS_TIMEOUT_S,
    ),
    MessageSpec(
        "BSM",
        "battery status",
        0x1300,
        6,
        (7,),
        0.25,
        BMS,
        CHARGING,
        (
            num("highest_cell_number", "1", 8, offset=1),
            celsius("highest_temperature", "2"),
            num("highest_temperature_probe", "3", 8, offset=1),
            celsius("lowest_temperature", "4"),
            num("lowest_temperature_probe", "5", 8, offset=1),
            enum("cell_voltage", "6.1", 2, HIGH_LOW),
            enum("soc_status", "6.3", 2, HIGH_LOW),
            enum("overcurrent", "6.5", 2, STATUS),
            enum("overtemperature", "6.7", 2, STATUS),
            enum("insulation", "7.1", 2, STATUS),
            enum("connector", "7.3", 2, STATUS),
            enum("charging_allowed", "7.5", 2, ALLOWED),
        ),
        timeout_s=_T,
    ),
    MessageSpec(
        "BMV",
        "cell voltages",
        0x1500,
        7,
        (),
        10.0,
        BMS,
        CHARGING,
        repeat=Repeat("cells", (num("cell_voltage", "1.1", 12, 0.01, unit="V"), num("cell_group", "2.5", 4)), 16, 256),
        optional=True,
    ),
    MessageSpec(
        "BMT",
        "battery temperatures",
        0x1600,
        7,
        (),
        10.0,
        BMS,
        CHARGING,
        repeat=Repeat("probes", (celsius("temperature", "1"),), 8, 128),
        optional=True,
    ),
    MessageSpec(
        "BSP",
        "battery reserved",
        0x1700,
        7,
        (),
        10.0,
        BMS,
        CHARGING,
        repeat=Repeat("bytes", (num("reserved", "1", 8),), 8, 16),
        optional=True,
    ),
    MessageSpec(
        "BST",
        "BMS stop",
        0x1900,
        4,
        (4,),
        0.01,
        BMS,
        CHARGING,
        (
            flag("soc_reached", "1.1"),
            flag("total_voltage_reached", "1.3"),
            flag("cell_voltage_reached", "1.5"),
            flag("charger_stopped", "1.7"),
            flag("insulation_fault", "2.1"),
            flag("connector_overtemperature", "2.3"),
            flag("bms_overtemperature", "2.5"),
            flag("connector_fault", "2.7"),
            flag("battery_overtemperature", "3.1"),
            flag("relay_fault", "3.3"),
            flag("cc2_voltage_fault", "3.5"),
            flag("other_fault", "3.7"),
            flag("overcurrent", "4.1"),
            flag("voltage_abnormal", "4.3"),
        ),
        timeout_s=_T,
    ),
    MessageSpec(
        "CST",
        "charger stop",
        0x1A00,
        4,
        (4,),
        0.01,
        CHARGER,
        CHARGING,
        (
            flag("condition_reached", "1.1"),
            flag("manual_stop", "1.3"),
            flag("fault_stop", "1.5"),
            flag("bms_stopped", "1.7"),
            flag("overtemperature", "2.1"),
            flag("connector_fault", "2.3"),
            flag("internal_overtemperature", "2.5"),
            flag("energy_unavailable", "2.7"),
            flag("emergency_stop", "3.1"),
            flag("other_fault", "3.3"),
            flag("current_mismatch", "4.1"),
            flag("voltage_abnormal", "4.3"),
        ),
        timeout_s=_T,
    ),
    # -- end ---------------------------------------------------------------------------------
    MessageSpec(
        "BSD",
        "BMS statistics",
        0x1C00,
        6,
        (7,),
        0.25,
        BMS,
        END,
        (
            num("soc", "1", 8, unit="%", high=100),
            num("min_cell_voltage", "2", 16, 0.01, unit="V"),
            num("max_cell_voltage", "4", 16, 0.01, unit="V"),
            celsius("min_temperature", "6"),
            celsius("max_temperature", "7"),
        ),
        timeout_s=_T,
    ),
    MessageSpec(
        "CSD",
        "charger statistics",
        0x1D00,
        6,
        (8,),
        0.25,
        CHARGER,
        END,
        (
            num("charging_time", "1", 16, unit="min", high=600),
            num("energy", "3", 16, 0.1, unit="kWh", high=1000),
            # SPN 3613: 1/bit, offset 1 in the 2015 text, where CRM's SPN 2561 has offset 0. The
            # bench follows the text (raw = number − 1): a charger that sends CRM's raw value
            # here shows one higher. See "Fields carried twice" above.
            num("charger_number", "5", 32, offset=1),
        ),
        timeout_s=_T,
    ),
    # -- errors ------------------------------------------------------------------------------
    MessageSpec(
        "BEM",
        "BMS error (timeouts)",
        0x1E00,
        2,
        (4,),
        0.25,
        BMS,
        ERROR,
        (
            timeout_flag("crm_00_timeout", "1.1"),
            timeout_flag("crm_aa_timeout", "1.3"),
            timeout_flag("cml_cts_timeout", "2.1"),
            timeout_flag("cro_timeout", "2.3"),
            timeout_flag("ccs_timeout", "3.1"),
            timeout_flag("cst_timeout", "3.3"),
            timeout_flag("csd_timeout", "4.1"),
            num("other", "4.3", 6, optional=True),
        ),
    ),
    MessageSpec(
        "CEM",
        "charger error (timeouts)",
        0x1F00,
        2,
        (4,),
        0.25,
        CHARGER,
        ERROR,
        (
            timeout_flag("brm_timeout", "1.1"),
            timeout_flag("bcp_timeout", "2.1"),
            timeout_flag("bro_timeout", "2.3"),
            timeout_flag("bcs_timeout", "3.1"),
            timeout_flag("bcl_timeout", "3.3"),
            timeout_flag("bst_timeout", "3.5"),
            timeout_flag("bsd_timeout", "4.1"),
            num("other", "4.3", 6, optional=True),
        ),
    ),
)

BY_NAME: dict[str, MessageSpec] = {m.name: m for m in MESSAGES}
BY_PGN: dict[int, MessageSpec] = {m.pgn: m for m in MESSAGES}

# J1939 transport protocol PGNs and their priority (docs/limits.md §3: TP.CM 0x1CEC.., TP.DT 0x1CEB..)
TP_CM_PGN = 0xEC00
TP_DT_PGN = 0xEB00
TP_PRIORITY = 7
