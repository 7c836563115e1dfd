"""Scoring: score sheets, the scoring window, the tally in SQL, moderation and the scores export."""
