"""Oscilloscopes (role "scope"): the interface in base.py, one module per dialect."""
