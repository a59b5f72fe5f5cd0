"""EV simulator / relay board: the Modbus register map (ev_simulator_map.toml) and its driver."""
