"""Modbus primitives shared by the drivers, the platform channel and the simulated servers:
what the protocol fixes (``protocol``: exception codes and their names, request sizes) and the
register maps with their codec (``registers``)."""
