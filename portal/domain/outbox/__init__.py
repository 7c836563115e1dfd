"""The outbox: every mail is a row first; its states, delivery claims and the admin's review."""
