"""Measurement analysis: turn captured records into the quantities the rules name."""
