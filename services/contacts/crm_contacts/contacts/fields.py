"""The contact's fields in groups, each with its rules: what a create or an update writes onto a contact.

``apply`` checks every field it is given and writes the good values, raising one InvalidInput with every
bad field at once: onto a loaded ``Contact`` (an update) or a ``DraftContact`` (a create), with the same rules.
The groups run in a fixed order, which is the order of ``Applied.changed`` (the
``changed_fields`` of contacts.contact.updated).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from sqlalchemy.orm import Session

from crm_contacts.contacts.reads import type_key
from crm_contacts.customfields import rules as custom_field_rules
from crm_contacts.customfields import service as custom_fields
from crm_contacts.funnel import service as funnel
from crm_contacts.members.models import Member
from crm_contacts.record import rules
from crm_contacts.record.drafts import AnyContact, DraftContact, DraftEmail, DraftInterest, DraftPhone, DraftTag
from crm_contacts.record.models import EMAIL_ACTIVE, Contact, ContactEmail, ContactPhone, ContactTag, Interest
from crm_contacts.record.workspace import Workspace
from crm_contacts.sources import service as sources
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.ids import new_id

if TYPE_CHECKING:
    from crm_contacts.contacts.create import CreateContext

# What ``apply`` writes onto: a loaded contact (an update) or a draft (a create). A constrained type, so each
# group is checked once for each: its rows are all ORM rows or all drafts, never a mix of the two.
C = TypeVar("C", Contact, DraftContact)

# The fields a create or an update may carry.
RECORD_FIELDS = (
    "name",
    "email",
    "phone",
    "emails",
    "phones",
    "type",
    "stage_id",
    "owner_id",
    "source_id",
    "language",
    "location",
    "messengers",
    "tags",
    "interests",
    "custom_fields",
    "stars",
    "color",
    "emoji",
)


@dataclass
class Applied:
    """What writing fields onto a contact changed."""

    changed: list[str] = field(default_factory=list)
    added_emails: list[str] = field(default_factory=list)
    added_phones: list[str] = field(default_factory=list)
    stage: tuple[str | None, str | None] | None = None  # (from, to)
    owner: tuple[str | None, str | None] | None = None
    type_key: str | None = None


# A loaded contact (an update) gets new ORM rows, a draft (a create) plain ones.
@overload
def _new_email(contact: Contact, address: str) -> ContactEmail: ...
@overload
def _new_email(contact: DraftContact, address: str) -> DraftEmail: ...
def _new_email(contact: AnyContact, address: str) -> ContactEmail | DraftEmail:
    if isinstance(contact, DraftContact):
        return DraftEmail(workspace_id=contact.workspace_id, address=address)
    return ContactEmail(id=new_id(), workspace_id=contact.workspace_id, address=address, status=EMAIL_ACTIVE)


@overload
def _new_phone(contact: Contact, number: str) -> ContactPhone: ...
@overload
def _new_phone(contact: DraftContact, number: str) -> DraftPhone: ...
def _new_phone(contact: AnyContact, number: str) -> ContactPhone | DraftPhone:
    if isinstance(contact, DraftContact):
        return DraftPhone(workspace_id=contact.workspace_id, number=number)
    return ContactPhone(id=new_id(), workspace_id=contact.workspace_id, number=number)


@overload
def _new_tag(contact: Contact, tag: str) -> ContactTag: ...
@overload
def _new_tag(contact: DraftContact, tag: str) -> DraftTag: ...
def _new_tag(contact: AnyContact, tag: str) -> ContactTag | DraftTag:
    if isinstance(contact, DraftContact):
        return DraftTag(workspace_id=contact.workspace_id, tag=tag)
    return ContactTag(tag=tag, workspace_id=contact.workspace_id)


@overload
def _new_interest(contact: Contact, interest: dict[str, Any]) -> Interest: ...
@overload
def _new_interest(contact: DraftContact, interest: dict[str, Any]) -> DraftInterest: ...
def _new_interest(contact: AnyContact, interest: dict[str, Any]) -> Interest | DraftInterest:
    if isinstance(contact, DraftContact):
        return DraftInterest(workspace_id=contact.workspace_id, criteria=interest["criteria"], text=interest["text"])
    return Interest(
        id=new_id(), workspace_id=contact.workspace_id, criteria=interest["criteria"], text=interest["text"]
    )


def _email_entries(raw: Sequence[Any]) -> tuple[list[tuple[str, bool]], list[FieldError]]:
    """``[str | {address, primary}]`` as unique (address, primary) pairs, with field errors."""
    entries: list[tuple[str, bool]] = []
    errors: list[FieldError] = [e for e in [rules.several_primaries_error(list(raw), "emails")] if e is not None]
    for index, item in enumerate(raw):
        address, primary = (item, False) if isinstance(item, str) else (item.get("address"), bool(item.get("primary")))
        normalized, error = rules.normalize_email(address or "")
        if error is not None:
            errors.append(FieldError(f"emails.{index}", error.message, error.code))
        elif normalized not in [a for a, _ in entries]:
            assert normalized is not None, "normalize_email returns an address or an error"
            entries.append((normalized, primary))
        elif primary:
            entries = [(a, p or a == normalized) for a, p in entries]
    return entries, errors


def _phone_entries(raw: Sequence[Any], region: str) -> tuple[list[tuple[str, bool, str | None]], list[FieldError]]:
    """``[str | {number, label, primary}]`` as unique (E.164, primary, label) triples, with field errors."""
    entries: list[tuple[str, bool, str | None]] = []
    errors: list[FieldError] = [e for e in [rules.several_primaries_error(list(raw), "phones")] if e is not None]
    for index, item in enumerate(raw):
        if isinstance(item, str):
            number, primary, label = item, False, None
        else:
            number, primary, label = item.get("number"), bool(item.get("primary")), item.get("label")
        normalized, error = rules.normalize_phone(number or "", region)
        if error is not None:
            errors.append(FieldError(f"phones.{index}", error.message, error.code))
        elif normalized not in [n for n, _, _ in entries]:
            assert normalized is not None, "normalize_phone returns a number or an error"
            entries.append((normalized, primary, (label or "").strip()[:30] or None))
    return entries, errors


def _replace_emails(contact: C, entries: list[tuple[str, bool]]) -> list[str]:
    """Make the contact's emails exactly ``entries`` (kept rows keep their status); returns the added ones."""
    current = {e.address: e for e in contact.emails}
    old_primary = next((e.address for e in contact.emails if e.is_primary), None)
    wanted = [a for a, _ in entries]
    primary = next((a for a, p in entries if p), old_primary if old_primary in wanted else None)
    primary = primary or (wanted[0] if wanted else None)
    for old in list(contact.emails):
        if old.address not in wanted:
            contact.emails.remove(old)
    added: list[str] = []
    for position, address in enumerate(wanted):
        row = current.get(address)
        if row is None:
            row = _new_email(contact, address)
            contact.emails.append(row)
            added.append(address)
        row.position, row.is_primary = position, address == primary
    contact.emails.sort(key=lambda e: e.position)
    contact.email = primary
    return added


def _replace_phones(contact: C, entries: list[tuple[str, bool, str | None]]) -> list[str]:
    """Make the contact's phones exactly ``entries``; returns the added numbers."""
    current = {p.number: p for p in contact.phones}
    old_primary = next((p.number for p in contact.phones if p.is_primary), None)
    wanted = [n for n, _, _ in entries]
    primary = next((n for n, p, _ in entries if p), old_primary if old_primary in wanted else None)
    primary = primary or (wanted[0] if wanted else None)
    for old in list(contact.phones):
        if old.number not in wanted:
            contact.phones.remove(old)
    added: list[str] = []
    for position, (number, _primary, label) in enumerate(entries):
        row = current.get(number)
        if row is None:
            row = _new_phone(contact, number)
            contact.phones.append(row)
            added.append(number)
        row.position, row.is_primary = position, number == primary
        if label is not None or row.label is None:
            row.label = label
    contact.phones.sort(key=lambda p: p.position)
    contact.phone = primary
    return added


def _email_snapshot(contact: AnyContact) -> list[tuple[str, bool]]:
    return [(e.address, e.is_primary) for e in contact.emails]


def _phone_snapshot(contact: AnyContact) -> list[tuple[str, bool, str | None]]:
    return [(p.number, p.is_primary, p.label) for p in contact.phones]


def active_member(session: Session, workspace_id: str, member_id: str) -> Member | None:
    member = session.get(Member, member_id)
    if member is None or member.workspace_id != workspace_id or not member.active:
        return None
    return member


@dataclass
class _Writing(Generic[C]):
    """One ``apply``: what it writes onto, what it was given, and what it found so far."""

    session: Session
    workspace: Workspace
    contact: C
    values: Mapping[str, Any]
    creating: bool
    enforce_required: bool
    known: CreateContext | None
    applied: Applied = field(default_factory=Applied)
    errors: list[FieldError] = field(default_factory=list)

    def set(self, name: str, value: Any) -> None:
        if getattr(self.contact, name) != value:
            setattr(self.contact, name, value)
            self.applied.changed.append(name)


def apply(
    session: Session,
    workspace: Workspace,
    contact: C,
    values: Mapping[str, Any],
    *,
    creating: bool,
    enforce_required: bool = True,
    known: CreateContext | None = None,
) -> Applied:
    """Validate ``values`` and write them onto ``contact``; raises InvalidInput with every bad field at once.

    ``known`` (a create) holds the defaults already read with the workspace; without them, or when they do
    not apply, they are looked up here.
    """
    writing = _Writing(session, workspace, contact, values, creating, enforce_required, known)
    for group in _GROUPS:
        group(writing)
    if writing.errors:
        raise InvalidInput("the contact has invalid fields", errors=writing.errors)
    applied = writing.applied
    if applied.type_key is None and contact.type_id:
        applied.type_key = type_key(session, contact.type_id)
    return applied


def _name(w: _Writing[C]) -> None:
    if "name" in w.values:
        name, error = rules.clean_name(w.values["name"] or "")
        if error:
            w.errors.append(error)
        elif name != w.contact.name:
            assert name is not None, "clean_name returns a name or an error"
            w.contact.name, w.contact.name_key = name, rules.search_key(name)
            w.applied.changed.append("name")


def _emails(w: _Writing[C]) -> None:
    """The list replaces the set; ``email`` makes one address primary (adding it) or removes the primary."""
    values, contact = w.values, w.contact
    if "emails" not in values and "email" not in values:
        return
    entries = _email_snapshot(contact)
    if "emails" in values:
        entries, found = _email_entries(values["emails"] or [])
        w.errors.extend(found)
    if "email" in values:
        if values["email"]:
            address, error = rules.normalize_email(values["email"])
            if error:
                w.errors.append(error)
            else:
                assert address is not None, "normalize_email returns an address or an error"
                entries = [(address, True)] + [(a, False) for a, _ in entries if a != address]
        elif not w.creating:
            entries = [(a, False) for a, p in entries if not p]
    before = _email_snapshot(contact)
    w.applied.added_emails = _replace_emails(contact, entries)
    if _email_snapshot(contact) != before:
        w.applied.changed.append("emails")


def _phones(w: _Writing[C]) -> None:
    """As emails: ``phones`` replaces the set, ``phone`` makes one number primary or removes the primary."""
    values, contact, region = w.values, w.contact, w.workspace.default_region
    if "phones" not in values and "phone" not in values:
        return
    entries = _phone_snapshot(contact)
    if "phones" in values:
        entries, found = _phone_entries(values["phones"] or [], region)
        w.errors.extend(found)
    if "phone" in values:
        if values["phone"]:
            number, error = rules.normalize_phone(values["phone"], region)
            if error:
                w.errors.append(error)
            else:
                assert number is not None, "normalize_phone returns a number or an error"
                label = next((lbl for n, _, lbl in entries if n == number), None)
                entries = [(number, True, label)] + [(n, False, lbl) for n, _, lbl in entries if n != number]
        elif not w.creating:
            entries = [(n, False, lbl) for n, p, lbl in entries if not p]
    before = _phone_snapshot(contact)
    w.applied.added_phones = _replace_phones(contact, entries)
    if _phone_snapshot(contact) != before:
        w.applied.changed.append("phones")


def _funnel(w: _Writing[C]) -> None:
    """Type and stage: a new type without a stage of it moves the contact to that type's first stage."""
    values, contact, known = w.values, w.contact, w.known
    type_given, stage_given = values.get("type"), values.get("stage_id")
    if ("type" in values and type_given is None) or ("stage_id" in values and stage_given is None):
        w.errors.append(
            FieldError("type" if "type" in values and type_given is None else "stage_id", "required", "required")
        )
        return
    if not (w.creating or type_given is not None or stage_given is not None):
        return
    try:
        if type_given is None and stage_given is None and known and known.contact_type and known.stage:
            contact_type, stage = known.contact_type, known.stage  # the defaults, read with the workspace
        else:
            contact_type, stage = funnel.resolve(
                w.session, w.workspace.id, type_key_or_id=type_given, stage_id=stage_given
            )
    except InvalidInput as invalid:
        w.errors.extend(invalid.errors)
        return
    if contact_type.id != contact.type_id and not w.creating:
        w.applied.changed.append("type")
    if stage.id != contact.stage_id and not w.creating:
        w.applied.stage = (contact.stage_id, stage.id)
        w.applied.changed.append("stage_id")
    contact.type_id, contact.stage_id = contact_type.id, stage.id
    w.applied.type_key = contact_type.key


def _owner(w: _Writing[C]) -> None:
    if "owner_id" not in w.values:
        return
    owner_id = w.values["owner_id"] or None
    actor = w.known.actor if w.known is not None else None
    known_active = actor is not None and actor.id == owner_id and actor.active and actor.workspace_id == w.workspace.id
    if owner_id is not None and not known_active and active_member(w.session, w.workspace.id, owner_id) is None:
        w.errors.append(FieldError("owner_id", f"no active member {owner_id} in this workspace", "unknown_member"))
    elif owner_id != w.contact.owner_id:
        if not w.creating:
            w.applied.owner = (w.contact.owner_id, owner_id)
            w.applied.changed.append("owner_id")
        w.contact.owner_id = owner_id


def _source(w: _Writing[C]) -> None:
    values, known = w.values, w.known
    if "source_id" not in values and not w.creating:
        return
    try:
        if values.get("source_id") is None and known is not None and known.source is not None:
            source = known.source  # the source of ``source_key`` (default: manual), read with the workspace
        else:
            source = sources.resolve(
                w.session, w.workspace.id, source_id=values.get("source_id"), key=values.get("source_key")
            )
    except InvalidInput as invalid:
        w.errors.extend(invalid.errors)
    else:
        w.set("source_id", source.id)


def _profile(w: _Writing[C]) -> None:
    """Language, location and messengers."""
    values = w.values
    if "language" in values:
        language, error = rules.clean_language(values["language"])
        w.errors.extend([error] if error else [])
        w.set("language", language)
    if "location" in values:
        w.set("location", rules.clean_location(values["location"] or {}))
    if "messengers" in values:
        messengers, found = rules.clean_messengers(values["messengers"] or {})
        w.errors.extend(found)
        w.set("messengers", messengers)


def _tags(w: _Writing[C]) -> None:
    if "tags" not in w.values:
        return
    contact = w.contact
    tags, found = rules.clean_tags(w.values["tags"] or [])
    w.errors.extend(found)
    if sorted(tags) != sorted(t.tag for t in contact.tags):
        for row in list(contact.tags):
            if row.tag not in tags:
                contact.tags.remove(row)
        present = {t.tag for t in contact.tags}
        contact.tags.extend(_new_tag(contact, tag) for tag in tags if tag not in present)
        w.applied.changed.append("tags")


def _interests(w: _Writing[C]) -> None:
    if "interests" not in w.values:
        return
    contact = w.contact
    interests, found = rules.clean_interests(w.values["interests"] or [])
    w.errors.extend(found)
    current = [{"criteria": list(i.criteria or []), "text": i.text} for i in contact.interests]
    if interests != current:
        contact.interests.clear()
        contact.interests.extend(_new_interest(contact, interest) for interest in interests)
        w.applied.changed.append("interests")


def _custom_fields(w: _Writing[C]) -> None:
    required = w.creating and w.enforce_required
    if "custom_fields" not in w.values and not required:
        return
    # A workspace without custom fields has no definitions to read (the usual case when creating).
    known = w.known
    has_fields = known is None or known.has_custom_fields
    if known is not None and known.custom_fields is not None:
        definitions = known.custom_fields  # read once for a batch
    else:
        definitions = custom_fields.definitions(w.session, w.workspace.id) if has_fields else []
    clean, found = custom_field_rules.validate_values(
        definitions,
        dict(w.values.get("custom_fields") or {}),
        partial=not required,
        region=w.workspace.default_region,
    )
    w.errors.extend(found)
    merged = {k: v for k, v in {**(w.contact.custom_fields or {}), **clean}.items() if v is not None}
    w.set("custom_fields", merged)


def _card(w: _Writing[C]) -> None:
    """How the contact's card looks: stars, color (remembered by the workspace) and emoji."""
    values = w.values
    if "stars" in values:
        stars = values["stars"] if values["stars"] is not None else 0
        error = rules.check_stars(stars)
        w.errors.extend([error] if error else [])
        w.set("stars", stars)
    if "color" in values:
        color, error = rules.clean_color(values["color"])
        w.errors.extend([error] if error else [])
        w.set("color", color)
        if color and not error:  # the workspace remembers the card colors used last
            w.workspace.recent_colors = rules.remember_color(w.workspace.recent_colors or [], color)
    if "emoji" in values:
        emoji, error = rules.clean_emoji(values["emoji"])
        w.errors.extend([error] if error else [])
        w.set("emoji", emoji)


# In the order of ``Applied.changed``.
_GROUPS = (_name, _emails, _phones, _funnel, _owner, _source, _profile, _tags, _interests, _custom_fields, _card)
