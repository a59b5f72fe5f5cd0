"""The platform's battery monitor (bench/platform/battery_monitor.py): it reads the uploads, stops
the charging once on the first condition it finds, and keeps every upload."""

from bench.analysis import battery_conditions as bc
from bench.platform.battery_monitor import BatteryMonitor
from bench.platform.channel import Ack, BatteryStatus, Realtime
from tests.test_battery_conditions import CALM, THRESHOLDS


class FakeChannel:
    """The two reads and the stop the monitor uses, scripted."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.now = 0.0
        self.stops: list[float] = []

    def battery_status(self):
        self.now += 1.0
        return BatteryStatus(dict(self.statuses.pop(0)), self.now)

    def realtime(self):
        return Realtime(550.0, 40.0, 22000.0, "charging", None, self.now)

    def stop(self):
        self.stops.append(self.now)
        return Ack("stop", self.now + 0.1)


def test_the_first_condition_stops_the_charging_once():
    hot = {**CALM, "highest_temperature": 60.0, "lowest_temperature": 58.0}
    channel = FakeChannel([CALM, hot, hot])
    monitor = BatteryMonitor(channel, THRESHOLDS)
    assert monitor.poll() is None and channel.stops == []
    detection = monitor.poll()
    assert detection is not None and detection.conditions == (bc.TEMPERATURE_ABOVE_MAXIMUM,)
    assert (detection.detected_at, detection.stop_commanded_at) == (2.0, 2.1)
    assert monitor.poll() is detection and channel.stops == [2.0]  # one stop, not one per poll
    assert [t for t, _ in monitor.samples] == [1.0, 2.0, 3.0]  # every upload kept
    assert monitor.latest()["output_voltage"] == 550.0  # the pile's real-time voltage with them


def test_read_judges_without_acting():
    channel = FakeChannel([{**CALM, "battery_voltage": 700.0}])
    monitor = BatteryMonitor(channel, THRESHOLDS)
    assert [m.condition for m in monitor.read()] == [bc.VOLTAGE_ABOVE_MAXIMUM]
    assert channel.stops == [] and monitor.detection is None


def test_a_pile_that_uploads_nothing_is_never_stopped_by_it():
    channel = FakeChannel([{}] * 5)
    monitor = BatteryMonitor(channel, THRESHOLDS)
    assert all(monitor.poll() is None for _ in range(5)) and channel.stops == []
