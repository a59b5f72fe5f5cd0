"""Bidirectional DC supplies used as battery simulator (role "battery"): interface in base.py."""
