"""Outcomes: the shortlist, the pack the panel receives, and outcome letters."""
