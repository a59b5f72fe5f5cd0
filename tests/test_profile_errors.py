"""Profile validation: every mistake gives one line naming the file, the key and what was expected.

Each case edits a valid profile (text substitution) and pins the error line. Nothing is
opened: the loader never touches an instrument.
"""

from __future__ import annotations

import pytest

from bench.core.errors import ProfileError
from bench.core.profile import load_profile
from instruments import registry

VALID = """\
[bench]
simulated = true

[dut]
kind = "ac"
model = "M"
manufacturer = "Maker"
serial = "S1"
rated_power_kw = 7.0
voltage_range_v = [187.0, 253.0]
current_range_a = [6.0, 32.0]
phases = 1
connector = "GB/T 20234.2"
protocol_edition = "GB/T 18487.1-2015"
control = "ocpp16"

[dut.ocpp]
port = 0
charge_point_id = "CP1"

[instruments.scope]
driver = "keysight-infiniivision"
resource = "TCPIP0::127.0.0.1::0::SOCKET"
channels = { cp = 1 }

[instruments.ev]
driver = "modbus-ev-simulator"
resource = "modbus+tcp://127.0.0.1:0/1"

[sim]
pwm_frequency_hz = 1000.0
"""

CASES = {
    "toml syntax": (("rated_power_kw = 7.0", "rated_power_kw = = 7.0"), "(syntax): valid TOML"),
    "missing table": (
        ('[dut.ocpp]\nport = 0\ncharge_point_id = "CP1"\n', ""),
        '[dut.ocpp]: missing table; control = "ocpp16" needs port and charge_point_id',
    ),
    "unknown key": (('serial = "S1"', 'serial = "S1"\nserail = "S2"'), "dut.serail: unknown key; expected one of:"),
    "wrong type": (
        ("rated_power_kw = 7.0", 'rated_power_kw = "seven"'),
        "dut.rated_power_kw: expected a number (kW), got 'seven'",
    ),
    "missing value": (('model = "M"\n', ""), "dut.model: missing; expected a string"),
    "value out of range": (("phases = 1", "phases = 2"), "dut.phases: expected one of 1, 3, got 2"),
    "contradicting ratings": (
        ("rated_power_kw = 7.0", "rated_power_kw = 22.0"),
        "dut.rated_power_kw: ≈ phases × supply voltage × maximum current (7.04 kW within 10 %), got 22",
    ),
    "current above the duty table": (
        ("current_range_a = [6.0, 32.0]", "current_range_a = [6.0, 80.0]"),
        "dut.current_range_a: a maximum ≤ 63 A (GB/T 18487.1 duty table), got 80",
    ),
    "min above max": (
        ("voltage_range_v = [187.0, 253.0]", "voltage_range_v = [253.0, 187.0]"),
        "dut.voltage_range_v: expected [min, max] with min ≤ max",
    ),
    "connector of the other kind": (
        ('connector = "GB/T 20234.2"', 'connector = "GB/T 20234.3"'),
        "dut.connector: 'GB/T 20234.2' for a AC pile, got 'GB/T 20234.3'",
    ),
    "unknown driver": (
        ('driver = "keysight-infiniivision"', 'driver = "keysight-infinivision"'),
        "instruments.scope.driver: unknown driver 'keysight-infinivision'; expected one of:",
    ),
    "unparsable VISA resource": (
        ('resource = "TCPIP0::127.0.0.1::0::SOCKET"', 'resource = "TCPIP0:127.0.0.1:5025"'),
        "instruments.scope.resource: a VISA resource string such as 'TCPIP0::192.168.1.20::5025::SOCKET';",
    ),
    "unparsable Modbus resource": (
        ('resource = "modbus+tcp://127.0.0.1:0/1"', 'resource = "127.0.0.1:502"'),
        "instruments.ev.resource: a Modbus TCP resource 'modbus+tcp://HOST:PORT/UNIT' (unit 0–247), got '127.0.0.1:502'",
    ),
    "unknown instrument role": (
        ("[instruments.ev]", "[instruments.evsim]"),
        "instruments.evsim: unknown instrument role; expected one of: scope, analyzer, load, battery, ev, grid",
    ),
    "required role missing": (
        ('[instruments.ev]\ndriver = "modbus-ev-simulator"\nresource = "modbus+tcp://127.0.0.1:0/1"\n', ""),
        "[instruments.ev]: missing table; a AC bench needs a ev",
    ),
    "unknown sim parameter": (
        ("pwm_frequency_hz = 1000.0", "pwm_frequency = 1000.0"),
        "sim.pwm_frequency: unknown [sim] parameter; expected one of:",
    ),
    "sim value of the wrong type": (
        ("pwm_frequency_hz = 1000.0", 'pwm_frequency_hz = "fast"'),
        "sim.pwm_frequency_hz: expected float (Hz)",
    ),
    "channel number out of range": (
        ("channels = { cp = 1 }", "channels = { cp = 0 }"),
        "instruments.scope.channels.cp: expected an integer in 1 … 64, got 0",
    ),
    "meter class of the other kind": (
        ('control = "ocpp16"', 'control = "ocpp16"\nmeter_accuracy_class = 0.5'),
        "dut.meter_accuracy_class: one of 1, 2 for a AC pile (JJG 1148-2022), got 0.5",
    ),
}


@pytest.fixture(scope="module")
def drivers():
    return registry.transports()


def write(tmp_path, text):
    path = tmp_path / "bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_profile_loads(tmp_path, drivers):
    profile = load_profile(write(tmp_path, VALID), drivers)
    assert profile.dut.kind == "ac"
    assert profile.sim["pwm_frequency_hz"] == 1000.0


@pytest.mark.parametrize("case", sorted(CASES))
def test_mistake_gives_one_line_naming_file_and_key(tmp_path, drivers, case):
    (old, new), expected = CASES[case]
    assert old in VALID, f"test case {case!r} does not apply to the valid profile"
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(ProfileError) as err:
        load_profile(path, drivers)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: "), message
    assert expected in message, message


def test_missing_file(tmp_path):
    with pytest.raises(ProfileError, match=r"no such profile file"):
        load_profile(tmp_path / "nope.toml")


def test_sim_override_is_checked_like_the_file(tmp_path, drivers):
    profile = load_profile(write(tmp_path, VALID), drivers)
    assert profile.with_sim({"pwm_frequency_hz": "1040"}).sim["pwm_frequency_hz"] == 1040.0
    with pytest.raises(ProfileError, match=r"--sim-set: sim.wakes_on_s2: expected bool"):
        profile.with_sim({"wakes_on_s2": "maybe"})
    with pytest.raises(ProfileError, match=r"sim.uploads_missing: unknown name\(s\) vim"):
        profile.with_sim({"uploads_missing": "vin,vim"})


@pytest.mark.parametrize("name", ["sim-ac-7kw", "sim-dc-60kw", "lab-example"])
def test_shipped_profiles_load(name, drivers):
    profile = load_profile(f"profiles/{name}.toml", drivers)
    assert profile.name == name
