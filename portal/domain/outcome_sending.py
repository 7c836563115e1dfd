"""Sending outcome letters: the Outcome rows, the outbox mails and the applications'
status changes, in the caller's write transaction.

Each letter is an Outcome row (unique per application and kind) and an outbox mail
keyed `outcome:{application}:{kind}`, so nothing is ever sent twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from portal.domain.audit import Actor, record_event
from portal.domain.outbox import Mail, enqueue_mail
from portal.domain.outcome_form import LetterForm, plan_letters
from portal.domain.outcome_kinds import STATUS_AFTER, AlreadySent, OutcomeKind, OutcomeNotice
from portal.domain.rounds import RoundStage, transition_round
from portal.domain.timerules import ensure_aware_utc
from portal.tables import Application, OutboxMessage, Outcome


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
    for letter in plan.new:
        notice = letter.notice
        kind = OutcomeKind(notice.kind)
        mail = compose(notice)
        message_id = await enqueue_mail(mail, now)
        if message_id is None:  # the mail exists already (written by an earlier attempt)
            existing = (
                await OutboxMessage.select(OutboxMessage.id)
                .where(OutboxMessage.dedupe_key == mail.dedupe_key)
                .first()
            )
            outbox_row = existing["id"] if existing else None
        else:
            outbox_ids.append(message_id)
            outbox_row = message_id
        await Outcome.insert(
            Outcome(
                application=notice.application_id,
                kind=kind.value,
                feedback=notice.feedback,
                outbox=outbox_row,
                sent_by=actor.user_id,
                sent_at=now,
            )
        )
        status, from_statuses = STATUS_AFTER[kind]
        await Application.update({Application.status: status, Application.updated_at: now}).where(
            (Application.id == notice.application_id)
            & Application.status.is_in(list(from_statuses))
        )
        await record_event(
            actor,
            "outcome.sent",
            "application",
            notice.application_id,
            now,
            round_id=round_id,
            detail={
                "kind": kind.value,
                "reference": notice.reference,
                "feedback_chars": len(notice.feedback),
            },
        )
    return SendResult(
        outbox_ids=outbox_ids,
        sent=len(plan.new),
        skipped=len(plan.repeated),
        decided=plan.appoint is not None,
    )
