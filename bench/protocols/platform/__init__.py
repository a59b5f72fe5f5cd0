"""Platform channel primitives: register maps and codec, the OCPP 1.6J mapping (README.md)."""
