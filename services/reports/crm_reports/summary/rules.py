"""Which event counts as which figure, and what a valid range is: plain functions, no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from crm_events import EventType, contacts, conversations, mailer, tickets
from crm_platform.errors import FieldError, InvalidInput, phrase

# event type -> the summary figure it counts towards
KIND_OF_EVENT: dict[EventType[Any], str] = {
    contacts.CONTACT_CREATED: "contacts_created",
    tickets.TICKET_OPENED: "tickets_opened",
    tickets.COMMENT_PUBLIC_ADDED: "public_comments",
    mailer.MESSAGE_SENT: "emails_delivered",
    conversations.MESSAGE_ADDED: "conversation_messages",
}
FIGURES = tuple(KIND_OF_EVENT.values())
MAX_RANGE = timedelta(days=3661)


def parse_bound(raw: str | None, field: str, *, end: bool) -> datetime | None:
    """An ISO 8601 date or date-time; a bare date means the start of that day (or of the next, for ``to``)."""
    if raw is None or raw == "":
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            "invalid range",
            errors=[FieldError(field, phrase("{value} is not an ISO 8601 date or date-time", value=repr(raw)))],
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def resolve_range(raw_from: str | None, raw_to: str | None, now: datetime) -> tuple[datetime, datetime]:
    """``[from, to)``; by default the last 30 days up to now."""
    end = parse_bound(raw_to, "to", end=True) or now
    start = parse_bound(raw_from, "from", end=False) or end - timedelta(days=30)
    if start > end:
        raise InvalidInput("invalid range", errors=[FieldError("from", "must not be after 'to'", "range_inverted")])
    if end - start > MAX_RANGE:
        raise InvalidInput(
            "invalid range", errors=[FieldError("from", "the range can span at most 10 years", "range_too_long")]
        )
    return start.astimezone(UTC), end.astimezone(UTC)
