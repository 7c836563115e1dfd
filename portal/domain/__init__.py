"""Rules that know nothing of HTTP or the broker. `now` is always a parameter and
the caller owns the transaction: nothing here commits."""
