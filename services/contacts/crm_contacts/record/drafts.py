"""A new contact as plain objects: what a create validates (``fields.apply``), writes and answers with.

A create builds no ORM objects: building a ``Contact`` with its email and phone rows (instrumented attributes,
collection events, the ORM's state) cost more CPU than the INSERTs that write them. A draft has the model's
attributes, with the defaults its columns give a new row, so everything that reads a contact (``represent``,
``events``, the gRPC messages) reads a draft the same way; ``row`` gives the INSERT's values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm_contacts.record.models import ACTIVE, EMAIL_ACTIVE, Contact, ContactEmail, ContactPhone, ContactTag, Interest
from crm_platform.ids import new_id


def _columns(model: Any) -> tuple[str, ...]:
    return tuple(column.key for column in model.__table__.columns)


class _Row:
    """A new row whose attributes (``__slots__``) are its table's columns (and, for a contact, its collections)."""

    __slots__: tuple[str, ...] = ()
    table: Any  # the model's table
    columns: tuple[str, ...] = ()

    def row(self) -> dict[str, Any]:
        """The INSERT's values: every column (the same keys for every row of a table, one compiled statement)."""
        return {name: getattr(self, name) for name in self.columns}


class DraftEmail(_Row):
    table = ContactEmail.__table__
    __slots__ = columns = _columns(ContactEmail)

    contact_id: str | None  # set when written
    inactive_reason: str | None
    inactive_since: datetime | None
    reactivated_at: datetime | None
    consent_confirmed_by: str | None

    def __init__(self, *, workspace_id: str, address: str) -> None:
        self.id, self.workspace_id, self.contact_id, self.address = new_id(), workspace_id, None, address
        self.is_primary, self.position, self.status = False, 0, EMAIL_ACTIVE
        self.inactive_reason = self.inactive_since = self.reactivated_at = self.consent_confirmed_by = None


class DraftPhone(_Row):
    table = ContactPhone.__table__
    __slots__ = columns = _columns(ContactPhone)

    contact_id: str | None  # set when written
    label: str | None

    def __init__(self, *, workspace_id: str, number: str) -> None:
        self.id, self.workspace_id, self.contact_id, self.number = new_id(), workspace_id, None, number
        self.is_primary, self.position, self.label = False, 0, None


class DraftTag(_Row):
    table = ContactTag.__table__
    __slots__ = columns = _columns(ContactTag)

    contact_id: str | None  # set when written

    def __init__(self, *, workspace_id: str, tag: str) -> None:
        self.contact_id, self.tag, self.workspace_id = None, tag, workspace_id


class DraftInterest(_Row):
    table = Interest.__table__
    __slots__ = columns = _columns(Interest)

    contact_id: str | None  # set when written
    created_at: datetime | None  # set when written

    def __init__(self, *, workspace_id: str, criteria: list[dict[str, Any]], text: str) -> None:
        self.id, self.workspace_id, self.contact_id = new_id(), workspace_id, None
        self.criteria, self.text, self.created_at = criteria, text, None  # set when written


class DraftContact(_Row):
    """A contact not written yet, with no emails, phones, tags or interests until ``fields.apply`` adds them."""

    table = Contact.__table__
    columns = _columns(Contact)
    __slots__ = (*columns, "emails", "phones", "tags", "interests")

    created_by: str | None
    email: str | None
    phone: str | None
    type_id: str | None
    stage_id: str | None
    color: str | None
    emoji: str | None
    owner_id: str | None
    source_id: str | None
    language: str | None
    location: dict[str, Any]
    messengers: dict[str, str]
    custom_fields: dict[str, Any]
    blocked_at: datetime | None
    deleted_at: datetime | None
    deleted_by: str | None
    merged_into: str | None
    created_at: datetime | None  # None until written (``create._write_new``)
    updated_at: datetime | None
    emails: list[DraftEmail]
    phones: list[DraftPhone]
    tags: list[DraftTag]
    interests: list[DraftInterest]

    def __init__(self, *, workspace_id: str, created_by: str | None) -> None:
        self.id, self.workspace_id, self.created_by = new_id(), workspace_id, created_by
        self.name = self.name_key = ""
        self.email = self.phone = self.type_id = self.stage_id = self.color = self.emoji = None
        self.owner_id = self.source_id = self.language = None
        self.status, self.stars, self.blocked, self.version = ACTIVE, 0, False, 1
        self.location, self.messengers, self.custom_fields = {}, {}, {}
        self.blocked_at = self.deleted_at = self.deleted_by = self.merged_into = None
        self.created_at = self.updated_at = None  # set when written
        self.emails, self.phones, self.tags, self.interests = [], [], [], []


# What reads a contact (its JSON, its event snapshot, its gRPC message) reads either: a loaded one or a draft.
AnyContact = Contact | DraftContact


def written_at(at: datetime | None) -> datetime:
    """A contact's ``created_at`` or ``updated_at``: a loaded contact has them, a draft once written."""
    if at is None:
        # a draft is written (and given its times) before anything reads it to answer or to announce it
        raise ValueError("the contact is not written yet: it has no created_at / updated_at")
    return at
