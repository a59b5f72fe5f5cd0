"""The EV simulator driver against hand-written Modbus TCP transcripts.

Every frame below is written by hand from the Modbus Application Protocol Specification
V1.1b3 and the Modbus Messaging on TCP/IP Implementation Guide V1.0b (MBAP header:
transaction id, protocol id 0, length of unit id + PDU, unit id) and from
instruments/ev/ev_simulator_map.toml. pymodbus numbers its transactions from 1. The board
here is unit 5 (resource ``modbus+tcp://127.0.0.1:PORT/5``).
"""

from __future__ import annotations

import socket
import threading

import pytest

from bench.core.errors import InstrumentError, InstrumentLost, InstrumentTimeout, SetpointRefused
from instruments.ev.modbus_ev_simulator import ModbusEvSimulator
from instruments.ev.modbus_link import ModbusExceptionError
from tests.support.transcript import instrument_config, new_clock

CLOSE = "close"  # the board drops the connection instead of answering
SILENT = "silent"  # the board reads the request and never answers


def frame(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


class ModbusTranscript:
    """A loopback server playing (request, reply) byte pairs; the first difference ends it."""

    def __init__(self, steps):
        self.steps = steps
        self.played = 0
        self.mismatch: str | None = None
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(1)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        conn, _ = self._sock.accept()
        with conn:
            for expected, reply in self.steps:
                got = b""
                while len(got) < len(expected):
                    chunk = conn.recv(len(expected) - len(got))
                    if not chunk:
                        self.mismatch = f"connection closed; expected {expected.hex(' ')}"
                        return
                    got += chunk
                if got != expected:
                    self.mismatch = f"step {self.played + 1}: expected {expected.hex(' ')}, driver sent {got.hex(' ')}"
                    return
                self.played += 1
                if reply == CLOSE:
                    return
                if reply == SILENT:  # until the driver closes
                    conn.settimeout(5.0)
                    try:
                        conn.recv(1)
                    except OSError:
                        pass
                    return
                conn.sendall(reply)
            conn.settimeout(0.2)
            try:
                extra = conn.recv(256)
                if extra:
                    self.mismatch = f"driver sent more than the transcript: {extra.hex(' ')}"
            except OSError:
                pass

    def assert_played(self):
        self._thread.join(timeout=3)
        assert self.mismatch is None, self.mismatch
        assert self.played == len(self.steps), f"driver stopped after {self.played} of {len(self.steps)} steps"

    def close(self):
        self._sock.close()


# open(): identification (regular, from object 0), serial (object 0x80), map version, heartbeat.
OPEN = [
    # 43/14 read device identification, read code 02 (regular), object 00
    (
        frame("0001 0000 0005 05  2B 0E 02 00"),
        frame("0001 0000 0029 05  2B 0E 02 83 00 00 04")
        + bytes([0x00, 11])
        + b"ACME Relays"
        + bytes([0x01, 4])
        + b"RB-8"
        + bytes([0x02, 3])
        + b"2.1"
        + bytes([0x05, 7])
        + b"RB-8-EV",
    ),
    # 43/14 read code 04 (one object), object 0x80 = serial number
    (
        frame("0002 0000 0005 05  2B 0E 04 80"),
        frame("0002 0000 0011 05  2B 0E 04 83 00 00 01") + bytes([0x80, 7]) + b"SN-4711",
    ),
    # 04 read input register 0 (map_version) → 0x0100 = 1.0
    (frame("0003 0000 0006 05  04 0000 0001"), frame("0003 0000 0005 05  04 02 0100")),
    # 03 read holding register 120 (heartbeat) → 42
    (frame("0004 0000 0006 05  03 0078 0001"), frame("0004 0000 0005 05  03 02 002A")),
]


@pytest.fixture
def board():
    made = []

    def play(steps, *, timeout_s=1.0, open_now=True, **config):
        transcript = ModbusTranscript(steps)
        resource = f"modbus+tcp://127.0.0.1:{transcript.port}/5"
        driver = ModbusEvSimulator(
            instrument_config("ev", "modbus-ev-simulator", resource, timeout_s=timeout_s, **config), new_clock()
        )
        made.append((driver, transcript))
        if open_now:
            driver.open()
        return driver, transcript

    yield play
    for driver, transcript in made:
        driver.close()
        transcript.close()


def test_open_identify_commands_and_read_backs(board):
    ev, transcript = board(
        OPEN
        + [
            # set_vehicle_contactors(True): 06 write holding 111 = 1, echo, then 03 read back
            (frame("0005 0000 0006 05  06 006F 0001"), frame("0005 0000 0006 05  06 006F 0001")),
            (frame("0006 0000 0006 05  03 006F 0001"), frame("0006 0000 0005 05  03 02 0001")),
            # heartbeat(): the count read at open (42) + 1 = 43
            (frame("0007 0000 0006 05  06 0078 002B"), frame("0007 0000 0006 05  06 0078 002B")),
            (frame("0008 0000 0006 05  03 0078 0001"), frame("0008 0000 0005 05  03 02 002B")),
            # set_load_current(16.0): 1600 × 0.01 A → 0x0640 at holding 102
            (frame("0009 0000 0006 05  06 0066 0640"), frame("0009 0000 0006 05  06 0066 0640")),
            (frame("000A 0000 0006 05  03 0066 0001"), frame("000A 0000 0005 05  03 02 0640")),
            # set_watchdog(2.0): 20 × 0.1 s at holding 121
            (frame("000B 0000 0006 05  06 0079 0014"), frame("000B 0000 0006 05  06 0079 0014")),
            (frame("000C 0000 0006 05  03 0079 0001"), frame("000C 0000 0005 05  03 02 0014")),
            # inlet_voltage(): i32 at input 22–23, high word first: 0x00009D2C = 40236 → 402.36 V
            (frame("000D 0000 0006 05  04 0016 0002"), frame("000D 0000 0007 05  04 04 0000 9D2C")),
            # cp_voltage(): input 10–11, i16: 0x0258 = 6.00 V, 0xFB50 = -12.00 V
            (frame("000E 0000 0006 05  04 000A 0002"), frame("000E 0000 0007 05  04 04 0258 FB50")),
            # vehicle_contactors(): status bit 4; aux_present(): bit 5 (0x0030 = both)
            (frame("000F 0000 0006 05  04 0001 0001"), frame("000F 0000 0005 05  04 02 0030")),
            (frame("0010 0000 0006 05  04 0001 0001"), frame("0010 0000 0005 05  04 02 0010")),
        ]
    )
    assert (ev.identity.maker, ev.identity.model, ev.identity.serial, ev.identity.firmware) == (
        "ACME Relays",
        "RB-8-EV",
        "SN-4711",
        "2.1",
    )
    ev.set_vehicle_contactors(True)
    ev.heartbeat()
    ev.set_load_current(16.0)
    ev.set_watchdog(2.0)
    assert ev.inlet_voltage() == pytest.approx(402.36)
    assert ev.cp_voltage() == (pytest.approx(6.0), pytest.approx(-12.0))
    assert ev.vehicle_contactors() is True
    assert ev.aux_present() is False
    ev.close()
    transcript.assert_played()


def test_a_board_without_the_serial_object_still_identifies(board):
    steps = list(OPEN)
    # exception 02 (illegal data address) to the request for object 0x80
    steps[1] = (steps[1][0], frame("0002 0000 0003 05  AB 02"))
    ev, transcript = board(steps)
    assert ev.identity.serial == "" and ev.identity.model == "RB-8-EV"
    ev.close()
    transcript.assert_played()


def test_an_exception_response_names_register_address_and_code(board):
    ev, transcript = board(
        OPEN
        + [
            # set_estop(True): 06 write holding 112 = 1 → exception 02 (illegal data address)
            (frame("0005 0000 0006 05  06 0070 0001"), frame("0005 0000 0003 05  86 02")),
        ]
    )
    with pytest.raises(ModbusExceptionError) as info:
        ev.set_estop(True)
    assert info.value.code == 0x02 and info.value.role == "ev"
    assert str(info.value) == "ev: write estop (holding 112) → Modbus exception 0x02 (illegal data address)"
    ev.close()
    transcript.assert_played()


def test_a_read_back_that_differs_is_an_error(board):
    ev, transcript = board(
        OPEN
        + [
            (frame("0005 0000 0006 05  06 006F 0001"), frame("0005 0000 0006 05  06 006F 0001")),
            (frame("0006 0000 0006 05  03 006F 0001"), frame("0006 0000 0005 05  03 02 0000")),
        ]
    )
    with pytest.raises(InstrumentError, match=r"vehicle_contactors \(holding 111\): wrote 1, read back 0"):
        ev.set_vehicle_contactors(True)
    ev.close()
    transcript.assert_played()


def test_a_wrong_map_version_is_refused_at_open(board):
    steps = list(OPEN[:3])
    steps[2] = (steps[2][0], frame("0003 0000 0005 05  04 02 0200"))  # the board speaks map 2.0
    ev, transcript = board(steps, open_now=False)
    with pytest.raises(InstrumentError, match=r"reports register map 2\.0; ev_simulator_map\.toml is version 1\.1"):
        ev.open()
    ev.close()
    transcript.assert_played()


def test_a_closed_connection_is_a_lost_instrument(board):
    ev, transcript = board(OPEN + [(frame("0005 0000 0006 05  04 0016 0002"), CLOSE)])
    with pytest.raises(InstrumentLost) as info:
        ev.inlet_voltage()
    assert type(info.value) is InstrumentLost  # closed by the board: not a timeout, not a reset
    assert str(info.value).startswith(
        f"ev: read inlet_voltage (input 22): connection to modbus+tcp://127.0.0.1:{transcript.port}/5 lost"
    )
    transcript.assert_played()


def test_no_answer_is_a_lost_instrument(board):
    ev, transcript = board(OPEN + [(frame("0005 0000 0006 05  04 0015 0001"), SILENT)], timeout_s=0.3)
    with pytest.raises(
        InstrumentTimeout,
        match=r"^ev: timeout: read aux_voltage \(input 21\): no answer within 0\.3 s \(modbus\+tcp://",
    ):
        ev.aux_voltage()
    ev.close()  # the silent board sees the connection end
    transcript.assert_played()


def test_setpoints_outside_the_map_or_the_dut_are_refused_before_anything_is_sent(board):
    ev, transcript = board(OPEN, rating={"current_a": (0.0, 40.0)})
    with pytest.raises(SetpointRefused, match=r"ev: current_a setpoint 63.5 A refused: outside the register map"):
        ev.set_load_current(63.5)
    with pytest.raises(SetpointRefused, match="outside the instrument range 0 … 40 A"):
        ev.set_load_current(45.0)
    with pytest.raises(SetpointRefused, match="watchdog_s setpoint 4000 s"):
        ev.set_watchdog(4000)
    ev.close()
    transcript.assert_played()  # nothing after open reached the wire


def test_nobody_listening_is_a_lost_instrument():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    ev = ModbusEvSimulator(
        instrument_config("ev", "modbus-ev-simulator", f"modbus+tcp://127.0.0.1:{port}/1", timeout_s=0.5), new_clock()
    )
    with pytest.raises(InstrumentLost, match=rf"^ev: cannot connect to modbus\+tcp://127\.0\.0\.1:{port}/1"):
        ev.open()
