"""Platform channel primitives (README.md): the bench's vocabulary, the registers a pile's Modbus
map may name (fields.py) and the shipped pile maps (maps/, read by bench/protocols/modbus/registers.py),
the OCPP 1.6J mapping."""
