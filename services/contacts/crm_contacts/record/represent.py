"""How a contact looks to API clients (JSON) and to other services (events, gRPC)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote

from crm.events.v1 import contacts_pb2
from crm_contacts.record.drafts import AnyContact, written_at
from crm_contacts.record.models import LOST


class EmailSummary(NamedTuple):
    address: str
    is_primary: bool
    status: str
    inactive_reason: str | None


class PhoneSummary(NamedTuple):
    number: str
    is_primary: bool


class Summary(NamedTuple):
    """A contact as other services see it (the gRPC ``Contact`` message), as plain values.

    The attribute names are the model's, so the helpers below read a summary like a ``Contact``.
    """

    id: str
    workspace_id: str
    name: str
    type_key: str | None
    stage_id: str | None
    status: str
    owner_id: str | None
    blocked: bool
    language: str | None
    created_at: datetime
    deleted_at: datetime | None
    emails: list[EmailSummary]  # in the contact's order
    phones: list[PhoneSummary]  # in the contact's order
    source_id: str | None = None


def summary(contact: AnyContact, type_key: str | None) -> Summary:
    """The summary of a loaded contact (the lean read, ``service.get_summary``, builds one from plain rows)."""
    return Summary(
        id=contact.id,
        workspace_id=contact.workspace_id,
        name=contact.name,
        type_key=type_key,
        stage_id=contact.stage_id,
        status=contact.status,
        owner_id=contact.owner_id,
        blocked=contact.blocked,
        language=contact.language,
        created_at=written_at(contact.created_at),
        deleted_at=contact.deleted_at,
        emails=[EmailSummary(e.address, e.is_primary, e.status, e.inactive_reason) for e in contact.emails],
        phones=[PhoneSummary(p.number, p.is_primary) for p in contact.phones],
        source_id=contact.source_id,
    )


def primary_email(contact: AnyContact | Summary) -> str | None:
    return next((e.address for e in contact.emails if e.is_primary), None)


def primary_phone(contact: AnyContact | Summary) -> str | None:
    return next((p.number for p in contact.phones if p.is_primary), None)


def campaign_eligible(contact: AnyContact | Summary) -> bool:
    """Lost, blocked and deleted contacts receive no automatic campaigns."""
    return contact.status != LOST and not contact.blocked and contact.deleted_at is None


# What ``quote(value, safe="@")`` leaves as it is (its always-safe characters and "@"): most addresses.
_QUOTED_AS_IS = re.compile(r"[A-Za-z0-9_.~@-]*\Z")


def links(contact: AnyContact) -> dict[str, str | None]:
    """Ways to reach the contact: WhatsApp click-to-chat from the primary phone, and a mailto link."""
    phone, email = primary_phone(contact), primary_email(contact)
    return {
        "whatsapp": f"https://wa.me/{phone.lstrip('+')}" if phone else None,
        "mailto": (f"mailto:{email}" if _QUOTED_AS_IS.match(email) else f"mailto:{quote(email, safe='@')}")
        if email
        else None,
    }


def as_dict(contact: AnyContact, type_key: str | None = None) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": contact.name,
        "type": type_key,
        "type_id": contact.type_id,
        "stage_id": contact.stage_id,
        "status": contact.status,
        "stars": contact.stars,
        "color": contact.color,
        "emoji": contact.emoji,
        "owner_id": contact.owner_id,
        "source_id": contact.source_id,
        "language": contact.language,
        "email": primary_email(contact),
        "phone": primary_phone(contact),
        "emails": [
            {
                "address": e.address,
                "primary": e.is_primary,
                "status": e.status,
                "inactive_reason": e.inactive_reason,
                "inactive_since": e.inactive_since.isoformat() if e.inactive_since else None,
            }
            for e in contact.emails
        ],
        "phones": [{"number": p.number, "primary": p.is_primary, "label": p.label} for p in contact.phones],
        "messengers": dict(contact.messengers or {}),
        "location": dict(contact.location or {}),
        "tags": sorted(t.tag for t in contact.tags),
        "interests": [{"id": i.id, "criteria": list(i.criteria or []), "text": i.text} for i in contact.interests],
        "custom_fields": dict(contact.custom_fields or {}),
        "blocked": contact.blocked,
        "campaign_eligible": campaign_eligible(contact),
        "links": links(contact),
        "version": contact.version,
        "created_at": written_at(contact.created_at).isoformat(),
        "updated_at": written_at(contact.updated_at).isoformat(),
    }


class _Phone(Protocol):
    """What a snapshot reads of a phone: a ``ContactPhone`` or a ``DraftPhone``."""

    @property
    def number(self) -> str: ...
    @property
    def is_primary(self) -> bool: ...


def snapshot(contact: AnyContact, type_key: str | None = None) -> contacts_pb2.ContactSnapshot:
    phones: Iterable[_Phone] = contact.phones  # either kind of row: sorted() needs one element type
    return contacts_pb2.ContactSnapshot(
        id=contact.id,
        name=contact.name,
        type=type_key or "",
        stage_id=contact.stage_id or "",
        status=contact.status,
        owner_id=contact.owner_id or "",
        source_id=contact.source_id or "",
        emails=[
            contacts_pb2.ContactEmail(
                address=e.address, primary=e.is_primary, status=e.status, inactive_reason=e.inactive_reason or ""
            )
            for e in contact.emails
        ],
        phones=[p.number for p in sorted(phones, key=lambda p: not p.is_primary)],  # primary first
        tags=sorted(t.tag for t in contact.tags),
        blocked=contact.blocked,
        stars=contact.stars,
        campaign_eligible=campaign_eligible(contact),
        language=contact.language or "",
    )
