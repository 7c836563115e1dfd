"""The "shortlist pack is ready" mail to each panel member.

Built from `templates/email/shortlist_pack.*`. It names the seat, says how many
applications were shortlisted and links to the pack behind sign-in: no applicant's
name, organisation or contact details ever travel by mail.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from portal.domain.outbox.messages import Mail
from portal.domain.outcomes.pack_mail import PackNotice, pack_path
from portal.mails import _templated_mail
from portal.settings import Settings


def pack_mail(settings: Settings, notice: PackNotice) -> Mail:
    return _templated_mail(
        settings,
        "shortlist_pack",
        kind="shortlist_pack",
        # One per member and round: a retried confirmation writes none twice.
        dedupe_key=f"pack:{notice.round_id}:{notice.member_id}",
        recipient=notice.email,
        round_id=notice.round_id,
        recipient_name=notice.name,
        seat_title=notice.seat_title,
        shortlisted=notice.shortlisted,
        link=f"{settings.base_url}{pack_path(notice.round_id)}",
    )


def compose_pack_mail(settings: Settings) -> Callable[[PackNotice], Mail]:
    """The callback `portal.domain.outcomes.pack_mail.queue_pack_mails` calls inside the confirm transaction."""
    return partial(pack_mail, settings)
