"""The simulated pile's control interfaces: Modbus map device and OCPP 1.6J charge point."""
