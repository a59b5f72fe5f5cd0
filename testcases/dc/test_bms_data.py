"""4.2.7: the DC pile uploads the vehicle's battery data to the platform.

Attachment 3 4.2.7: besides the GB/T 27930-2015 mandatory data the pile uploads the VIN,
the battery capacity, the lowest cell voltage and its number, the battery heating and
cooling status, the internal resistance and the vehicle model — each exactly as the vehicle
sent it (changji:4.2.7:bms_field, T). What the vehicle sent is read off the bus (BRM and the
extension messages of bench/protocols/gbt27930/EXTENSION.md, or the profile's own DBC) and
compared with the upload at the resolution of the frame that carries it. The bench waits for
the uploads as long as the real-time upload rule allows a change to show up
(changji:4.2.4:upload_latency, U).

Fails against a simulated charger with: uploads_missing, uploads_corrupt (the fields named).
"""

import pytest

from bench.analysis.dc import quantised
from bench.api.timings import UPLOAD_POLL_S

pytestmark = pytest.mark.dut("dc")

NOT_UPLOADED = "(not uploaded)"


@pytest.mark.judges("changji:4.2.7:bms_field")
@pytest.mark.clause("changji:4.2.7")
def test_bms_data_reaches_the_platform_as_the_vehicle_sent_it(bench):
    window = bench.limit("changji:4.2.4:upload_latency").high
    bench.start_charging(battery_v=bench.vehicle.rated_voltage_v, current_a=bench.dut.current_range_a[1] / 3)
    bench.wait_for_extension_messages()
    sent = bench.sent_bms_info()
    uploaded = {}

    def all_uploaded() -> bool:
        uploaded.update(bench.uploaded_bms_info())
        return set(sent) <= set(uploaded)

    bench.try_wait_until(all_uploaded, window, poll=UPLOAD_POLL_S, what="the 4.2.7 items at the platform")
    for field, (value, resolution) in sorted(sent.items()):
        expected = quantised(value, resolution)
        got = quantised(uploaded[field], resolution) if field in uploaded else NOT_UPLOADED
        bench.check(
            "changji:4.2.7:bms_field",
            got,
            reference=expected,
            at={"field": field},
            detail=f"sent {value!r}, uploaded {uploaded.get(field, NOT_UPLOADED)!r}"
            + (f", compared to {resolution:g}" if resolution else ""),
        )
