"""Small helpers for writing transcripts."""

from __future__ import annotations


def ok(command: str, error_query: str, no_error: str = '0,"No error"') -> list[tuple[str, None | str]]:
    """A setting as every SCPI driver must send it: the command, then the instrument's error query."""
    return [(command, None), (error_query, no_error)]


def finish(instrument, transcript) -> None:
    """Close the driver and check that it said exactly the transcript, nothing more."""
    instrument.close()
    transcript.assert_played()
