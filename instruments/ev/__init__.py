"""EV simulator / relay board: the Modbus register map (ev_simulator_map.toml) and its driver, over
the bench's one Modbus TCP link (modbus_link.py, also the platform channel's)."""
