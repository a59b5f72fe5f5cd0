"""AC sources / grid simulators (role "grid"): the interface in base.py, one module per family."""
