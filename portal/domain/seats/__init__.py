"""Seats: their published description, criteria and questions, and the public listings."""
