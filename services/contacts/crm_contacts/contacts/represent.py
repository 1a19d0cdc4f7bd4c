"""How a contact looks to API clients (JSON) and to other services (events, gRPC)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from crm.events.v1 import contacts_pb2
from crm_contacts.contacts.models import Contact


def primary_email(contact: Contact) -> str | None:
    return next((e.address for e in contact.emails if e.is_primary), None)


def primary_phone(contact: Contact) -> str | None:
    return next((p.number for p in contact.phones if p.is_primary), None)


def campaign_eligible(contact: Contact) -> bool:
    """Lost, blocked and deleted contacts receive no automatic campaigns."""
    return contact.status != "lost" and not contact.blocked and contact.deleted_at is None


def links(contact: Contact) -> dict[str, str | None]:
    """Ways to reach the contact: WhatsApp click-to-chat from the primary phone, and a mailto link."""
    phone, email = primary_phone(contact), primary_email(contact)
    return {
        "whatsapp": f"https://wa.me/{phone.lstrip('+')}" if phone else None,
        "mailto": f"mailto:{quote(email, safe='@')}" if email else None,
    }


def as_dict(contact: Contact, type_key: str | None = None) -> dict[str, Any]:
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
        "created_at": contact.created_at.isoformat(),
        "updated_at": contact.updated_at.isoformat(),
    }


def snapshot(contact: Contact, type_key: str | None = None) -> contacts_pb2.ContactSnapshot:
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
        phones=[p.number for p in sorted(contact.phones, key=lambda p: not p.is_primary)],  # primary first
        tags=sorted(t.tag for t in contact.tags),
        blocked=contact.blocked,
        stars=contact.stars,
        campaign_eligible=campaign_eligible(contact),
        language=contact.language or "",
    )
