"""DC electronic loads (role "load"): the interface in base.py, one module per family."""
