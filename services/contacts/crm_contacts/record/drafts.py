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


def _null_by_default(model: Any) -> frozenset[str]:
    """The columns a row may leave out when they hold None: NULL is what the database gives them then."""
    return frozenset(
        column.key for column in model.__table__.columns if column.default is None and column.server_default is None
    )


class _Row:
    """A new row whose attributes (``__slots__``) are its table's columns (and, for a contact, its collections)."""

    __slots__: tuple[str, ...] = ()
    table: Any
    columns: tuple[str, ...] = ()
    null_by_default: frozenset[str] = frozenset()

    def row(self) -> dict[str, Any]:
        """The INSERT's values of every column (rows written together need the same columns)."""
        return {name: getattr(self, name) for name in self.columns}

    def sparse_row(self) -> dict[str, Any]:
        """``row`` without the columns that are None and NULL without a value: fewer parameters to send for a row
        written alone (each set of columns has its own statement, compiled once)."""
        values = {}
        for name in self.columns:
            value = getattr(self, name)
            if value is not None or name not in self.null_by_default:
                values[name] = value
        return values


class DraftEmail(_Row):
    table = ContactEmail.__table__
    __slots__ = columns = _columns(ContactEmail)
    null_by_default = _null_by_default(ContactEmail)

    def __init__(self, *, workspace_id: str, address: str) -> None:
        self.id, self.workspace_id, self.contact_id, self.address = new_id(), workspace_id, None, address
        self.is_primary, self.position, self.status = False, 0, EMAIL_ACTIVE
        self.inactive_reason = self.inactive_since = self.reactivated_at = self.consent_confirmed_by = None


class DraftPhone(_Row):
    table = ContactPhone.__table__
    __slots__ = columns = _columns(ContactPhone)
    null_by_default = _null_by_default(ContactPhone)

    def __init__(self, *, workspace_id: str, number: str) -> None:
        self.id, self.workspace_id, self.contact_id, self.number = new_id(), workspace_id, None, number
        self.is_primary, self.position, self.label = False, 0, None


class DraftTag(_Row):
    table = ContactTag.__table__
    __slots__ = columns = _columns(ContactTag)
    null_by_default = _null_by_default(ContactTag)

    def __init__(self, *, workspace_id: str, tag: str) -> None:
        self.contact_id, self.tag, self.workspace_id = None, tag, workspace_id


class DraftInterest(_Row):
    table = Interest.__table__
    __slots__ = columns = _columns(Interest)
    null_by_default = _null_by_default(Interest)

    created_at: datetime | None

    def __init__(self, *, workspace_id: str, criteria: list[dict[str, Any]], text: str) -> None:
        self.id, self.workspace_id, self.contact_id = new_id(), workspace_id, None
        self.criteria, self.text, self.created_at = criteria, text, None  # set when written


class DraftContact(_Row):
    """A contact not written yet, with no emails, phones, tags or interests until ``fields.apply`` adds them."""

    table = Contact.__table__
    columns = _columns(Contact)
    null_by_default = _null_by_default(Contact)
    __slots__ = (*columns, "emails", "phones", "tags", "interests")

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
