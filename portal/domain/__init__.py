"""Rules that know nothing of HTTP, the broker or templates.

`now` is always a parameter and the caller owns the transaction: nothing here commits.
Each area is a subpackage; reads that build a page ("queries") sit beside its rules.

Imports flow one way, down this list: an area may import the shared modules and the
areas listed before it, never one after it (`tests/unit/test_import_rules.py` checks).

- shared: `errors` (incl. `ValidationErrors`), `timerules`, `audit`, `csv_export`,
  `statuses` (the application statuses every area reads)
- `outbox`: every mail is a row first; dedupe keys, claims, the lease, holding late mail
- `accounts`: admins, applicants, credentials, email links, API tokens
- `rounds`: a round's times and stages, the deadline rule, panel numbers
- `seats`: seats, criteria and questions, and the listings of seats with their rounds
- `applications`: drafts, uploads, submission and receipts, what admins read
- `panels`: membership, invitations, declarations, conflicts, who sees what
- `scoring`: score sheets, the scoring window, the tally, moderation
- `outcomes`: the shortlist, the pack, outcome letters
- `reminders`: reminders due before deadlines, their schedule, the opt-out
"""

SHARED = ("errors", "timerules", "audit", "csv_export", "statuses")
LAYERS = (
    "outbox",
    "accounts",
    "rounds",
    "seats",
    "applications",
    "panels",
    "scoring",
    "outcomes",
    "reminders",
)
