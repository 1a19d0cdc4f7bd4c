"""Who is told of a contact's message, when, and what the email says: plain functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from crm_conversations.messages import rules as message_rules

MAX_DELAY_SECONDS = 7 * 86400
EXCERPT_CHARACTERS = 300


class Decision(Enum):
    WAIT = "wait"  # not due yet
    SEND = "sent"
    READ = "read"  # the member read the conversation up to the message (or further): nothing to say
    CONNECTED = "connected"  # the member is on the realtime stream: they see it there


def recipient(*, direction: str, author_type: str, assignee_id: str | None) -> str | None:
    """The member to notify of a new message: the assignee, when the contact (or a visitor) wrote it. An
    unassigned conversation notifies nobody (the shared inbox's lists show it unread to everyone instead)."""
    if direction != message_rules.INBOUND or author_type == message_rules.MEMBER:
        return None
    return assignee_id or None


def due_at(arrived_at: datetime, delay_seconds: int) -> datetime:
    """When the notification of a burst whose first message arrived at ``arrived_at`` is due."""
    return arrived_at + timedelta(seconds=delay_seconds)


def notification_due(
    *, due: datetime, now: datetime, read_count: int | None, message_position: int, connected: bool
) -> Decision:
    """What to do with a notification at ``now``: its due time, the member's read marker (None: never read),
    the conversation's message count with the burst's latest message, and whether the member is connected."""
    if read_count is not None and read_count >= message_position:
        return Decision.READ
    if now < due:
        return Decision.WAIT
    if connected:
        return Decision.CONNECTED
    return Decision.SEND


def excerpt(text: str, limit: int = EXCERPT_CHARACTERS) -> str:
    """The message's text on one line, cut at a word near ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut.rstrip(" .,;:") + "\N{HORIZONTAL ELLIPSIS}"


@dataclass(frozen=True)
class Mail:
    subject: str
    text_body: str


def mail(*, subject: str, contact: str, latest: str, unread: int, link: str) -> Mail:
    """The notification's subject and body: the conversation, the contact, the latest message's excerpt, the link."""
    count = "1 unread message" if unread == 1 else f"{unread} unread messages"
    return Mail(
        subject=f"{contact} wrote in \N{LEFT DOUBLE QUOTATION MARK}{subject}\N{RIGHT DOUBLE QUOTATION MARK}"[:400],
        text_body=(
            f"{contact} wrote in the conversation \N{LEFT DOUBLE QUOTATION MARK}{subject}"
            f"\N{RIGHT DOUBLE QUOTATION MARK} ({count} for you):\n\n"
            f"> {latest}\n\n"
            f"Open the conversation: {link}\n\n"
            "You get this because the conversation is assigned to you and you were not connected.\n"
        ),
    )


def link_of(template: str, conversation_id: str) -> str:
    return template.replace("{conversation_id}", conversation_id)
