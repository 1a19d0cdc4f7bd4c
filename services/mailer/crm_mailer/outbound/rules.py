"""Composing mail and deciding when to try again: plain functions, no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

MAX_ATTEMPTS = 8


def ticket_subject(ticket_id: str, subject: str) -> str:
    """``[#1a2b3c4d] Printer on fire``: the tag lets replies find their ticket."""
    return f"[#{ticket_id[-8:]}] {subject}"


def message_id(outbound_id: str, domain: str) -> str:
    """Stable per outbound row: a resend after a crash carries the same Message-ID, so receivers dedupe."""
    return f"<{outbound_id}@{domain}>"


def build(
    *,
    sender: str,
    recipient: str,
    subject: str,
    body: str,
    rfc822_message_id: str,
    ticket_id: str | None,
    when: datetime,
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = subject
    mail["Message-ID"] = rfc822_message_id
    mail["Date"] = format_datetime(when)
    if ticket_id:
        mail["X-CRM-Ticket-ID"] = ticket_id
    mail.set_content(body)
    return mail


def next_attempt(attempts: int, now: datetime) -> datetime | None:
    """When to retry after ``attempts`` failed tries, or None to give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))
