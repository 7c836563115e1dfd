"""Hands a message to SMTP, or to the local mailbox in the embedded mode.

Errors are sorted into temporary (connection trouble, 4xx replies: try again
later) and permanent (5xx replies: a person must look), which is all the outbox
needs to know.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from portal.settings import Settings

SMTP_TIMEOUT = 30


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


def message_id_for(dedupe_key: str) -> str:
    """Stable per dedupe key, so a receiving server can spot a re-sent copy."""
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@seat-portal>"


# Python's default policy turns a header with a word longer than 78 characters into
# RFC 2047 encoded words: a List-Unsubscribe URL would arrive as "=?utf-8?q?=3Chttp..."
# and no mail client could use it. RFC 5322 allows lines up to 998 characters.
# aiosmtplib flattens an EmailMessage with its own policy, so the bytes are made here.
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)


def build_email(row: dict[str, Any], settings: Settings) -> EmailMessage:
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = settings.mail_from
    msg["To"] = row["recipient"]
    msg["Subject"] = row["subject"]
    # When the claim was made, on the database's clock; a row never claimed (a preview)
    # is dated now. Nothing decides by this header: it is what mail clients show.
    msg["Date"] = format_datetime(row.get("claimed_at") or datetime.now(UTC))
    msg["Message-ID"] = message_id_for(row["dedupe_key"]) if row.get("dedupe_key") else make_msgid()
    for name, value in (row.get("headers") or {}).items():
        msg[name] = value
    msg.set_content(row["body_text"])
    if row.get("body_html"):
        msg.add_alternative(row["body_html"], subtype="html")
    return msg


def write_mailbox(msg: EmailMessage, row: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{row['id']:06d}-{row['kind']}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(msg))
    tmp.replace(path)
    return path


async def deliver(row: dict[str, Any], settings: Settings) -> None:
    msg = build_email(row, settings)
    if not settings.smtp_url:
        await asyncio.to_thread(write_mailbox, msg, row, settings.mailbox_dir)
        return
    url = urlsplit(settings.smtp_url)
    options = {k: v[-1] for k, v in parse_qs(url.query).items()}
    client = aiosmtplib.SMTP(
        hostname=url.hostname or "127.0.0.1",
        port=url.port or (465 if url.scheme == "smtps" else 25),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=url.scheme == "smtps",
        start_tls={"1": True, "0": False}.get(options.get("starttls", "")),  # unset: if offered
        timeout=SMTP_TIMEOUT,
    )
    try:
        async with client:
            try:
                await client.sendmail(
                    parseaddr(settings.mail_from)[1],
                    [row["recipient"]],
                    msg.as_bytes(policy=MAIL_POLICY),
                )
            except asyncio.CancelledError:
                # Cancelled mid-send (a stopping worker interrupts what outlasts its
                # grace): drop the connection now. A polite QUIT would first wait for
                # the reply to DATA, up to SMTP_TIMEOUT, and the caller must put the
                # row back before the worker exits.
                client.close()
                raise
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        if all(500 <= c < 600 for c in codes):
            raise PermanentFailure(_describe(exc)) from exc
        raise TemporaryFailure(_describe(exc)) from exc
    except aiosmtplib.SMTPResponseException as exc:
        if 500 <= exc.code < 600:
            raise PermanentFailure(f"{exc.code} {exc.message}") from exc
        raise TemporaryFailure(f"{exc.code} {exc.message}") from exc
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
        raise TemporaryFailure(_describe(exc)) from exc


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]
