"""The status of a contact's email addresses: turned off (by hand or by the mailer's reports), back on with
consent, and whether mail may go to an address now. The rules (reasons, the 30-day limit) are in
``record.emailstatus``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from crm_contacts.contacts import reads
from crm_contacts.record import access, emailstatus, events, rules
from crm_contacts.record.models import EMAIL_ACTIVE, EMAIL_INACTIVE, LOST, Contact, ContactEmail
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, utcnow
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound


@dataclass(frozen=True)
class Sendability:
    sendable: bool
    reason: str  # "" when sendable: unknown_address, blocked, inactive:<reason>, lost


def is_email_sendable(uow: UnitOfWork, *, workspace_id: str, address: str, campaign: bool) -> Sendability:
    """Whether mail may go to this address now: refused if any live contact with it is blocked or has it inactive.

    Automatic campaigns also skip the address when every live contact having it is lost.
    """
    wanted = reads.lookup_address(address)
    with uow:
        rows = uow.session.execute(
            select(ContactEmail.status, ContactEmail.inactive_reason, Contact.blocked, Contact.status)
            .join(Contact, Contact.id == ContactEmail.contact_id)
            .where(
                ContactEmail.workspace_id == workspace_id,
                ContactEmail.address == wanted,
                Contact.deleted_at.is_(None),
            )
        ).all()
    if not rows:
        return Sendability(False, "unknown_address")
    if any(blocked for _, _, blocked, _ in rows):
        return Sendability(False, "blocked")
    inactive = next((reason for status, reason, _, _ in rows if status == EMAIL_INACTIVE), None)
    if inactive is not None or any(status == EMAIL_INACTIVE for status, _, _, _ in rows):
        return Sendability(False, f"inactive:{inactive or 'manual'}")
    if campaign and all(contact_status == LOST for _, _, _, contact_status in rows):
        return Sendability(False, "lost")
    return Sendability(True, "")


def _email_row(contact: Contact, address: str) -> ContactEmail:
    wanted = reads.lookup_address(address)
    row = next((e for e in contact.emails if e.address == wanted), None)
    if row is None:
        raise NotFound(f"the contact has no email {address}")
    return row


def _deactivate(uow: UnitOfWork, contact: Contact, row: ContactEmail, reason: str, actor_id: str | None) -> None:
    row.status, row.inactive_reason, row.inactive_since = EMAIL_INACTIVE, reason, utcnow()
    contact.version += 1
    events.record_email_status(
        uow, contact, row.address, active=False, actor_id=actor_id, data={"address": row.address, "reason": reason}
    )


def deactivate_email(uow: UnitOfWork, *, caller: Caller, contact_id: str, address: str, reason: str) -> reads.Record:
    """Turn an address off by hand (manual, invalid, ...); emits contacts.email.deactivated."""
    if not emailstatus.is_known_reason(reason):
        raise InvalidInput("unknown reason", errors=[FieldError("reason", f"not a reason: {reason!r}", "invalid")])
    with uow:
        contact = access.visible_contact(uow.session, caller, contact_id)
        row = _email_row(contact, address)
        if row.status == EMAIL_INACTIVE:
            raise Conflict(f"{row.address} is already inactive ({row.inactive_reason})")
        _deactivate(uow, contact, row, reason, caller.user_id)
        record = reads.Record(contact, reads.type_key(uow.session, contact.type_id))
        uow.commit()
    return record


def reactivate_email(
    uow: UnitOfWork,
    *,
    caller: Caller,
    contact_id: str,
    address: str,
    consent_confirmed: bool,
    now: datetime | None = None,
) -> reads.Record:
    """Turn an address back on with the contact's consent, at most once every 30 days; emits reactivated."""
    if not consent_confirmed:
        raise InvalidInput(
            "reactivating an address needs the contact's consent",
            errors=[FieldError("consent_confirmed", "confirm that the contact wants this mail again", "required")],
        )
    now = now or utcnow()
    with uow:
        contact = access.visible_contact(uow.session, caller, contact_id)
        row = _email_row(contact, address)
        if row.status == EMAIL_ACTIVE:
            raise Conflict(f"{row.address} is already active")
        available_at = emailstatus.reactivation_refusal(row.reactivated_at, now=now)
        if available_at is not None:
            raise Conflict(
                emailstatus.refusal_detail(row.address, available_at),
                extra={"retry_after": available_at.isoformat()},
            )
        previous = row.inactive_reason
        row.status, row.inactive_reason, row.inactive_since = EMAIL_ACTIVE, None, None
        row.reactivated_at, row.consent_confirmed_by = now, rules.member_column(caller.user_id)
        contact.version += 1
        events.record_email_status(
            uow,
            contact,
            row.address,
            active=True,
            actor_id=caller.user_id,
            data={"address": row.address, "previous_reason": previous, "consent_confirmed": True},
        )
        record = reads.Record(contact, reads.type_key(uow.session, contact.type_id))
        uow.commit()
    return record


def deactivate_address_everywhere(
    uow: UnitOfWork, *, workspace_id: str, address: str, reason: str, actor_id: str
) -> int:
    """Inside an open unit of work (an event handler): turn the address off on every live contact having it.

    Addresses already inactive are left as they are, so a repeated report changes nothing. Returns how many
    addresses were turned off.
    """
    wanted = reads.lookup_address(address)
    contacts = uow.session.scalars(reads.contacts_with_email(uow.session, workspace_id, wanted))
    count = 0
    for contact in contacts:
        row = next(e for e in contact.emails if e.address == wanted)
        if row.status == EMAIL_ACTIVE:
            _deactivate(uow, contact, row, reason, actor_id)
            count += 1
    return count
