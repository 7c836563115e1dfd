"""Test data by area, for the tests, the browser seeds, the demo data (`portal demo`) and
the benchmarks' seed (`bench/seed.py`).

Builders are async and build the way people do, through the domain functions, so the
data obeys the same rules as real data: a seat goes through `create_seat`, a round
through `create_round` and `transition_round`, a declaration through
`make_declarations`, a score through `save_scores` and `submit_sheet`. They write
directly only where no user path exists or where the path would mail someone, and
each such builder says why (a submitted application in a round that has already
closed, a panel member without the invitation mail, a confirmed shortlist without
the pack mails, a stage no admin can go back to).

Transactions: every builder that writes opens its own `db.write_transaction()`; called
inside a caller's transaction it takes part in that one (Piccolo joins a nested
transaction to the open one), so the demo loads in one transaction. Times default
to now; where a builder takes a time, a timedelta means "from now".

- `common`: `run`, `write` (and its async core `in_write_transaction`), `now`,
  `BUILDER` (the actor audit rows name), `connect` (for a seed in its own process)
- `accounts`: `PASSWORD`, `password_hash`, `make_admin`, `make_user`
- `seats`: `make_seat` (criteria, questions, published, rounds) -> SeatSetup,
  `numbered_criteria`, `numbered_questions`, `SHORT_FORM` (the apply tests' form)
- `rounds`: `make_round` (a round, of a new seat unless given one) -> RoundSetup,
  `add_round`, `advance_round`, `set_stage`, `set_scoring_deadline`, `set_reminders`
- `applications`: `add_application` (draft, submitted or withdrawn, texts filled in,
  in a round of any age), `apply` (the applicant's own way, while the round is open),
  `add_document`
- `panels`: `add_panel_member` (accepted; ready unless told), `add_invitation`
- `scoring`: `score_application` (the member's own save and submit), `insert_sheet`
- `outcomes`: `make_shortlisted` (a confirmed shortlist, scored, moved to a stage)

From a sync test, inside one that uses the `settings` fixture (it binds the database):

    setup = run(make_round(stage="scoring"))
    app_id = run(add_application(setup, email="ann@example.org", name="Ann"))
    rows = run(Application.select().where(Application.round == setup.round_id))
    write(transition_round, setup.round_id, RoundStage.shortlisted, BUILDER, now())

`run` runs any coroutine or Piccolo query; `write(fn, *args)` runs `await fn(*args)` in
a write transaction and commits, as a controller does (`write(lambda: query)` for a
query).
"""

from tests.factories.accounts import PASSWORD, make_admin, make_user, password_hash
from tests.factories.applications import (
    PDF,
    add_application,
    add_document,
    apply,
    panel_number,
    panel_numbers,
)
from tests.factories.common import BUILDER, connect, in_write_transaction, now, run, write
from tests.factories.outcomes import COMMENT, Shortlisted, confirm_list, make_shortlisted
from tests.factories.panels import add_invitation, add_panel_member
from tests.factories.rounds import (
    RoundSetup,
    add_round,
    advance_round,
    make_round,
    set_reminders,
    set_scoring_deadline,
    set_stage,
)
from tests.factories.scoring import insert_sheet, score_application
from tests.factories.seats import (
    SHORT_FORM,
    SeatSetup,
    make_seat,
    numbered_criteria,
    numbered_questions,
)

__all__ = [
    "panel_number",
    "confirm_list",
    "panel_numbers",
    "BUILDER",
    "COMMENT",
    "PASSWORD",
    "PDF",
    "RoundSetup",
    "SHORT_FORM",
    "SeatSetup",
    "Shortlisted",
    "add_application",
    "add_document",
    "add_invitation",
    "add_panel_member",
    "add_round",
    "advance_round",
    "apply",
    "connect",
    "in_write_transaction",
    "insert_sheet",
    "make_admin",
    "make_round",
    "make_seat",
    "make_shortlisted",
    "make_user",
    "now",
    "numbered_criteria",
    "numbered_questions",
    "password_hash",
    "run",
    "score_application",
    "set_reminders",
    "set_scoring_deadline",
    "set_stage",
    "write",
]
