"""A plain OCPP 1.6J charge point written with the ``ocpp`` package alone (issue 12, item 7).

Nothing of the project runs on the pile's side: its own thread and asyncio loop, websockets and
``ocpp.v16.ChargePoint``, standard OCPP 1.6 behaviour only. It has none of the bench's vendor
DataTransfers (the library answers a DataTransfer with CALLERROR NotImplemented), keeps its own
clock (off by ``clock_offset_s`` until it adopts a Central System's ``currentTime`` from a
BootNotification or Heartbeat answer), stamps its messages with that clock, and answers
RemoteStart/StopTransaction, SetChargingProfile, ClearChargingProfile, TriggerMessage and
ChangeConfiguration as a real pile does, sending what follows (StartTransaction, the
MeterValues asked for, …) after its answer.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import websockets
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    ChargePointErrorCode,
    ChargePointStatus,
    ChargingProfileStatus,
    ClearChargingProfileStatus,
    ConfigurationStatus,
    RemoteStartStopStatus,
    TriggerMessageStatus,
)


class PlainChargePoint(ChargePoint):
    def __init__(self, charge_point_id: str, connection, clock_offset_s: float, zone: str = "Z"):
        super().__init__(charge_point_id, connection, response_timeout=5)
        self.clock_offset_s = clock_offset_s  # the pile's clock − the wall clock
        self.zone = zone  # how its time stamps end: "Z", or "" for a pile that writes no zone
        self.adopted: list[str] = []  # every currentTime it took from the Central System
        self.profiles: list[dict] = []  # every SetChargingProfile it accepted
        self.cleared: list[int | None] = []
        self.power_w = 0.0
        self.transaction_id: int | None = None
        self.status = ChargePointStatus.available

    # -- its own clock --------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset_s

    def timestamp(self) -> str:
        moment = datetime.fromtimestamp(self.now(), tz=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + self.zone

    def adopt(self, current_time: str) -> None:
        central = datetime.fromisoformat(current_time.replace("Z", "+00:00")).timestamp()
        self.clock_offset_s = central - time.time()
        self.adopted.append(current_time)

    # -- what it sends --------------------------------------------------------------------
    async def boot(self) -> None:
        answer = await self.call(call.BootNotification(charge_point_model="Plain-7", charge_point_vendor="Elsewhere"))
        self.adopt(answer.current_time)
        await self.send_status(ChargePointStatus.available)

    async def heartbeat(self) -> None:
        answer = await self.call(call.Heartbeat())
        self.adopt(answer.current_time)

    async def send_status(self, status: ChargePointStatus) -> None:
        self.status = status
        await self.call(
            call.StatusNotification(
                connector_id=1, error_code=ChargePointErrorCode.no_error, status=status, timestamp=self.timestamp()
            )
        )

    async def send_meter_values(self) -> None:
        volts = 230.0
        values = [
            {"value": f"{volts:.1f}", "measurand": "Voltage", "unit": "V"},
            {"value": f"{self.power_w / volts:.2f}", "measurand": "Current.Import", "unit": "A"},
            {"value": f"{self.power_w / 1000:.3f}", "measurand": "Power.Active.Import", "unit": "kW"},
            {"value": "1234", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        ]
        await self.call(
            call.MeterValues(
                connector_id=1,
                transaction_id=self.transaction_id,
                meter_value=[{"timestamp": self.timestamp(), "sampledValue": values}],
            )
        )

    async def send(self, payload):
        """Any message a test scripts (e.g. the security extension's)."""
        return await self.call(payload)

    # -- what the Central System asks -------------------------------------------------------
    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag, connector_id=None, charging_profile=None):
        if charging_profile is not None:
            self.profiles.append(charging_profile)
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)

    @after(Action.remote_start_transaction)
    async def after_remote_start(self, id_tag, connector_id=None, charging_profile=None):
        answer = await self.call(
            call.StartTransaction(connector_id=1, id_tag=id_tag, meter_start=1234, timestamp=self.timestamp())
        )
        self.transaction_id = answer.transaction_id
        self.power_w = 7000.0
        await self.send_status(ChargePointStatus.charging)

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id):
        ok = transaction_id == self.transaction_id
        return call_result.RemoteStopTransaction(
            status=RemoteStartStopStatus.accepted if ok else RemoteStartStopStatus.rejected
        )

    @after(Action.remote_stop_transaction)
    async def after_remote_stop(self, transaction_id):
        if transaction_id != self.transaction_id:
            return
        self.power_w = 0.0
        await self.call(
            call.StopTransaction(
                meter_stop=1300, timestamp=self.timestamp(), transaction_id=transaction_id, reason="Remote"
            )
        )
        self.transaction_id = None
        await self.send_status(ChargePointStatus.finishing)

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, connector_id, cs_charging_profiles):
        self.profiles.append(cs_charging_profiles)
        schedule = cs_charging_profiles["charging_schedule"]
        if schedule["charging_rate_unit"] == "W" and self.transaction_id is not None:
            self.power_w = float(schedule["charging_schedule_period"][0]["limit"])
        return call_result.SetChargingProfile(status=ChargingProfileStatus.accepted)

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(self, id=None, connector_id=None, charging_profile_purpose=None, stack_level=None):  # noqa: A002
        self.cleared.append(id)
        return call_result.ClearChargingProfile(status=ClearChargingProfileStatus.accepted)

    @on(Action.change_configuration)
    def on_change_configuration(self, key, value):
        known = key in ("MeterValueSampleInterval", "HeartbeatInterval")
        return call_result.ChangeConfiguration(
            status=ConfigurationStatus.accepted if known else ConfigurationStatus.not_supported
        )

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message, connector_id=None):
        offered = requested_message in ("MeterValues", "Heartbeat", "StatusNotification")
        return call_result.TriggerMessage(
            status=TriggerMessageStatus.accepted if offered else TriggerMessageStatus.not_implemented
        )

    @after(Action.trigger_message)
    async def after_trigger_message(self, requested_message, connector_id=None):
        if requested_message == "MeterValues":
            await self.send_meter_values()
        elif requested_message == "Heartbeat":
            await self.heartbeat()
        elif requested_message == "StatusNotification":
            await self.send_status(self.status)


class RunningChargePoint:
    """The charge point on its own thread: ``connect`` opens the WebSocket and boots it; ``run``
    runs one of its coroutines there and waits for the result."""

    def __init__(self, url: str, charge_point_id: str, *, clock_offset_s: float = 0.0, zone: str = "Z"):
        self.url = f"{url}/{charge_point_id}"
        self.charge_point_id = charge_point_id
        self.clock_offset_s = clock_offset_s
        self.zone = zone
        self.cp: PlainChargePoint | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="plain-charge-point", daemon=True)
        self._thread.start()
        self._websocket = None

    def run(self, coroutine, timeout_s: float = 5.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout_s)

    @staticmethod
    async def _serve(cp: PlainChargePoint) -> None:
        try:
            await cp.start()
        except websockets.ConnectionClosed:
            pass

    def connect(self, boot: bool = True) -> PlainChargePoint:
        async def open_():
            self._websocket = await websockets.connect(self.url, subprotocols=["ocpp1.6"], proxy=None)
            self.cp = PlainChargePoint(self.charge_point_id, self._websocket, self.clock_offset_s, self.zone)
            self._loop.create_task(self._serve(self.cp))

        self.run(open_())
        if boot:
            self.run(self.cp.boot())
        return self.cp

    def close(self) -> None:
        if self._websocket is not None:
            try:
                self.run(self._websocket.close())
            except Exception:
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
