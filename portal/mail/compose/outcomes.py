"""Outcome letters to applicants, built from `templates/email/outcome_<kind>.*`.

The same builder renders the admin's preview and the mail that is sent, so the
preview is exactly what arrives. A letter carries the applicant's own feedback
(if the admin wrote any) and never scores or who said what.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from portal.domain.outbox.messages import Mail
from portal.domain.outcomes.kinds import OutcomeNotice
from portal.mail.links import application_link
from portal.mail.render import templated_mail
from portal.settings import Settings


def outcome_mail(settings: Settings, notice: OutcomeNotice) -> Mail:
    return templated_mail(
        settings,
        f"outcome_{notice.kind}",
        kind=f"outcome_{notice.kind}",
        # One letter of each kind per application, however often "send" is pressed.
        dedupe_key=f"outcome:{notice.application_id}:{notice.kind}",
        recipient=notice.email,
        round_id=notice.round_id,
        recipient_name=notice.name,
        seat_title=notice.seat_title,
        reference=notice.reference,
        feedback=notice.feedback,
        fully_scored=notice.fully_scored,
        link=application_link(settings, notice.application_id),
    )


def compose_outcome_mail(settings: Settings) -> Callable[[OutcomeNotice], Mail]:
    """The callback `portal.domain.outcomes.letters.send_letters` calls inside its transaction."""
    return partial(outcome_mail, settings)
