"""The 4.5.3 e battery status over OCPP: the BatteryStatus data both ends read and write
(bench/protocols/platform/ocpp_mapping.py)."""

import pytest

from bench.protocols.platform import ocpp_mapping as m
from tests.platform.fake_port import BATTERY_VALUES


def test_the_data_goes_both_ways_unchanged():
    assert m.parse_battery_status_data(m.battery_status_data(BATTERY_VALUES)) == BATTERY_VALUES


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ('{"highest_temperature": true}', "'highest_temperature': expected a number"),
        ('{"highest_cell_number": 8.5}', "'highest_cell_number': expected an integer"),
        ('{"soc": "47"}', "'soc': expected a number"),
        ("[1, 2]", "expected a JSON object of battery status fields"),
        ("{", "expected a JSON object of battery status fields"),
    ],
)
def test_data_that_is_no_battery_status_is_refused_naming_the_field(data, names):
    with pytest.raises(ValueError, match=names):
        m.parse_battery_status_data(data)


def test_a_field_outside_the_vocabulary_is_never_sent():
    with pytest.raises(ValueError, match="not battery status fields: cell_temperature"):
        m.battery_status_data({"cell_temperature": 30.0})
