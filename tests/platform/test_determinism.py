"""Same run, same log: two identical runs on a virtual clock give identical message logs
(docs/design.md#one-clock-two-speeds)."""

from __future__ import annotations

from tests.platform import scenario
from tests.support.transcript import new_clock


def modbus_run(modbus_bench) -> list[str]:
    bench = modbus_bench(on_clock=new_clock())
    scenario.run(bench.open(), bench.clock, bench.port)
    return [r.line() for r in bench.log.records]


def ocpp_run(ocpp_bench) -> list[str]:
    bench = ocpp_bench(on_clock=new_clock())
    bench.connected(meter_interval_s=2.0, check_period_s=0.25)
    scenario.run(bench.channel, bench.clock, bench.port)
    bench.clock.sleep(10.0)  # periodic uploads on their own
    return [r.line() for r in bench.log.records]


def test_modbus_runs_are_identical(modbus_bench):
    first, second = modbus_run(modbus_bench), modbus_run(modbus_bench)
    assert len(first) > 50
    assert first == second


def test_ocpp_runs_are_identical(ocpp_bench):
    first, second = ocpp_run(ocpp_bench), ocpp_run(ocpp_bench)
    assert sum('"MeterValues"' in line for line in first) >= 10
    assert first == second
