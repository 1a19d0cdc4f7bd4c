"""What a comment must hold and how its mail's delivery status moves: plain functions, no I/O."""

from __future__ import annotations

from crm_platform import html
from crm_platform.errors import FieldError, InvalidInput

MEMBER, CUSTOMER = "member", "customer"  # who wrote a comment
QUEUED, SENT, BOUNCED, SUPPRESSED = "queued", "sent", "bounced", "suppressed"
DELIVERY_STATUSES = (QUEUED, SENT, BOUNCED, SUPPRESSED)
# How far a mail got: a later fact never moves it back (a late "sent" after the bounce keeps "bounced").
_DELIVERY_RANK = {QUEUED: 0, SENT: 1, SUPPRESSED: 2, BOUNCED: 2}
MAX_EXCERPT = 140


def check_comment_body(body: str) -> None:
    """A comment says something: a body of only spaces is refused."""
    if not body.strip():
        raise InvalidInput(
            "the comment has invalid fields", errors=[FieldError("body", "must not be empty", "required")]
        )


def clean_body(body: str | None, body_html: str | None) -> tuple[str, str | None]:
    """(plain text, sanitised HTML or None) of a comment written as text or as HTML; exactly one is given.
    HTML keeps the platform's allowlist (crm_platform.html); its text is what the plain part of the mail says."""
    if (body is None) == (body_html is None):
        raise InvalidInput(
            "the comment has invalid fields",
            errors=[FieldError("body", "give body (plain text) or body_html, not both", "one_of")],
        )
    if body_html is not None:
        clean = html.sanitize(body_html)
        text = html.text_of(clean)
        if not text.strip():
            raise InvalidInput(
                "the comment has invalid fields",
                errors=[FieldError("body_html", "must say something once sanitised", "required")],
            )
        return text, clean
    assert body is not None
    check_comment_body(body)
    return body, None


def next_delivery_status(current: str | None, reported: str) -> str:
    """The status after the mailer reported ``reported``: never backwards."""
    if current is None or _DELIVERY_RANK[reported] >= _DELIVERY_RANK.get(current, 0):
        return reported
    return current


def excerpt(text: str, limit: int = MAX_EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def sender_notice(sender: str, sender_contact_id: str, ticket_contact_id: str) -> str | None:
    """What a customer comment says when its sender is not the ticket's contact (another contact replied,
    e.g. a colleague the mail was forwarded to): it lands on the ticket, marked; None when they match."""
    if not sender_contact_id or sender_contact_id == ticket_contact_id:
        return None
    return f"sent by {sender}, who is not this ticket's contact"
