"""Sending outcome letters: the Outcome rows, the outbox mails and the applications'
status changes, in the caller's write transaction.

Each letter is an Outcome row (unique per application and kind) and an outbox mail
keyed `outcome:{application}:{kind}`, so nothing is ever sent twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from portal.domain.applications.status import transition_application
from portal.domain.audit import Actor, record_event, record_events
from portal.domain.outbox.messages import Mail, enqueue_mails
from portal.domain.outcomes.kinds import STATUS_AFTER, AlreadySent, OutcomeKind, OutcomeNotice
from portal.domain.outcomes.letter_form import LetterForm, plan_letters
from portal.domain.rounds.phase import RoundStage
from portal.domain.rounds.stages import transition_round
from portal.domain.timerules import ensure_aware_utc
from portal.tables import OutboxMessage, Outcome


@dataclass(frozen=True)
class SendResult:
    outbox_ids: list[int]
    sent: int
    skipped: int
    decided: bool


async def send_letters(
    round_id: int,
    form: LetterForm,
    compose: Callable[[OutcomeNotice], Mail],
    actor: Actor,
    now: datetime,
) -> SendResult:
    """Write the Outcome rows, the outbox mails and the status changes, in the caller's
    write transaction; an appointment also moves the round to decided. Letters sent
    before are skipped; if every one was, AlreadySent says so and nothing is written."""
    now = ensure_aware_utc(now)
    plan = await plan_letters(round_id, form)
    if not plan.new:
        raise AlreadySent(
            "Every letter you chose had already been sent, so nothing was sent again.",
            field="letters",
        )
    outbox_ids: list[int] = []
    if plan.appoint is not None:
        appointed = next(x.notice for x in plan.letters if x.notice.kind == "appointed")
        outbox_ids += await transition_round(
            round_id,
            RoundStage.decided,
            actor,
            now,
            reason=f"Appointed {appointed.reference}",
        )
        await record_event(
            actor,
            "outcome.appointed",
            "application",
            appointed.application_id,
            now,
            round_id=round_id,
            detail={"reference": appointed.reference},
        )
    # The mails in one INSERT; a key already in the outbox (an earlier attempt) is linked, not re-sent.
    mails = [compose(letter.notice) for letter in plan.new]
    written = await enqueue_mails(mails, now)
    outbox_ids += sorted(written.values())
    earlier = [m.dedupe_key for m in mails if m.dedupe_key not in written]
    if earlier:
        rows = await OutboxMessage.select(OutboxMessage.id, OutboxMessage.dedupe_key).where(
            OutboxMessage.dedupe_key.is_in(earlier)
        )
        written = {**written, **{r["dedupe_key"]: r["id"] for r in rows}}
    await Outcome.insert(
        *[
            Outcome(
                application=letter.notice.application_id,
                kind=letter.notice.kind,
                feedback=letter.notice.feedback,
                outbox=written.get(mail.dedupe_key),
                sent_by=actor.user_id,
                sent_at=now,
            )
            for letter, mail in zip(plan.new, mails, strict=True)
        ]
    )
    # One status UPDATE per kind of letter, not one per applicant.
    by_kind: dict[OutcomeKind, list[int]] = {}
    for letter in plan.new:
        by_kind.setdefault(OutcomeKind(letter.notice.kind), []).append(letter.notice.application_id)
    for kind, application_ids in by_kind.items():
        status, from_statuses = STATUS_AFTER[kind]
        await transition_application(application_ids, status, now, only_from=from_statuses)
    await record_events(
        actor,
        "outcome.sent",
        "application",
        [
            (
                letter.notice.application_id,
                {
                    "kind": letter.notice.kind,
                    "reference": letter.notice.reference,
                    "feedback_chars": len(letter.notice.feedback),
                },
            )
            for letter in plan.new
        ],
        now,
        round_id=round_id,
    )
    return SendResult(
        outbox_ids=outbox_ids,
        sent=len(plan.new),
        skipped=len(plan.repeated),
        decided=plan.appoint is not None,
    )
