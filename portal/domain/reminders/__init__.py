"""Reminders: rows in the database due before a deadline, their schedule and the opt-out."""
