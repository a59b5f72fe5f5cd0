"""The bench session: opening the bench from a profile, evidence, safe state, the launcher."""
