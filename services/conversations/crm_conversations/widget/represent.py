"""How inboxes and the visitor's messages are shown in the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm_conversations.widget.models import Inbox
from crm_conversations.widget.service import Shown
from crm_platform.attachments.store import StoredAttachment
from crm_platform.errors import msgid

# The widget's own words (widget.js shows them; an inbox's name, welcome text and offline message are the
# workspace's own words and are shown as written), in the visitor's language: its browser's Accept-Language.
TEXTS = {
    "launcher": msgid("Chat"),
    "offline": msgid("We are offline. Leave a message and we will answer as soon as we can."),
    "name": msgid("Your name"),
    "email": msgid("Your email"),
    "start": msgid("Start chat"),
    "message": msgid("Write a message"),
    "message_label": msgid("Message"),
    "file": msgid("Send a file"),
    "send": msgid("Send"),
}


def inbox(row: Inbox, *, secret: bool = False) -> dict[str, Any]:
    """An inbox for its admins; ``secret`` only in the answers that create or rotate it (shown once)."""
    shown: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "allowed_origins": list(row.allowed_origins),
        "primary_colour": row.primary_colour,
        "text_colour": row.text_colour,
        "welcome_text": row.welcome_text,
        "offline_message": row.offline_message,
        "prechat_form": row.prechat_form,
        "strict": row.strict,
        "version": row.version,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }
    if secret:
        shown["secret"] = row.secret
    return shown


def config(row: Inbox, *, realtime_url: str | None, translate: Callable[[str], str], language: str) -> dict[str, Any]:
    """What the widget needs to draw itself, its own words in ``language``: nothing secret."""
    return {
        "inbox_id": row.id,
        "name": row.name,
        "primary_colour": row.primary_colour,
        "text_colour": row.text_colour,
        "welcome_text": row.welcome_text,
        "offline_message": row.offline_message,
        "prechat_form": row.prechat_form,
        "strict": row.strict,
        "realtime_url": realtime_url,
        "language": language,
        "texts": {key: translate(text) for key, text in TEXTS.items()},
    }


def file(stored: StoredAttachment) -> dict[str, Any]:
    return {"id": stored.id, "filename": stored.filename, "content_type": stored.content_type, "size": stored.size}


def visitor_message(shown: Shown) -> dict[str, Any]:
    """A message as the visitor sees it: no member ids, no signatures' markup, the member's name."""
    row = shown.message
    return {
        "id": row.id,
        "body": row.body,
        "text": row.text if row.text is not None else row.body,
        "direction": row.direction,
        "author_type": row.author_type,
        "author_name": shown.author_name,
        "attachments": [file(stored) for stored in shown.files],
        "created_at": row.created_at.isoformat(),
    }
