"""Rounds of a seat: their times, the deadline rule, extensions and the stages after closing."""
