"""Use cases on the contact record; each one is one transaction that writes its events and history entries."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from google.protobuf.message import Message
from sqlalchemy import and_, bindparam, exists, insert, select
from sqlalchemy.orm import Session, joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from crm.events.v1 import contacts_pb2
from crm_contacts.bulk import rules as bulk_rules
from crm_contacts.contacts import access, duplicates, emailstatus, represent, rules
from crm_contacts.contacts.models import Contact, ContactEmail, ContactPhone, ContactTag, Interest
from crm_contacts.customfields import rules as custom_field_rules
from crm_contacts.customfields import service as custom_fields
from crm_contacts.customfields.models import CustomField
from crm_contacts.funnel import service as funnel
from crm_contacts.funnel.models import ContactType, Stage
from crm_contacts.history import service as history
from crm_contacts.members.models import Member
from crm_contacts.sources import service as sources
from crm_contacts.sources.models import Source
from crm_contacts.workspaces.defaults import DEFAULT_TYPE, MANUAL_SOURCE
from crm_contacts.workspaces.models import Workspace
from crm_platform.context import Caller
from crm_platform.db import Database, UnitOfWork, get_in_workspace, utcnow
from crm_platform.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Unauthenticated,
)
from crm_platform.ids import is_uuid, new_id

CREATED = "contacts.contact.created"
UPDATED = "contacts.contact.updated"
STAGE_CHANGED = "contacts.contact.stage_changed"
STATUS_CHANGED = "contacts.contact.status_changed"
OWNER_CHANGED = "contacts.contact.owner_changed"
BLOCKED = "contacts.contact.blocked"
UNBLOCKED = "contacts.contact.unblocked"
DELETED = "contacts.contact.deleted"
EMAIL_DEACTIVATED = "contacts.email.deactivated"
EMAIL_REACTIVATED = "contacts.email.reactivated"

# The fields a create or an update may carry, besides ``name``/``email``/``phone``.
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


class Record(NamedTuple):
    """A contact with its type key, read inside the transaction (what the API shows)."""

    contact: Contact
    type_key: str | None


# --- create and update ------------------------------------------------------------------------------------


@dataclass
class _Applied:
    """What writing fields onto a contact changed."""

    changed: list[str] = field(default_factory=list)
    added_emails: list[str] = field(default_factory=list)
    added_phones: list[str] = field(default_factory=list)
    stage: tuple[str | None, str | None] | None = None  # (from, to)
    owner: tuple[str | None, str | None] | None = None
    type_key: str | None = None


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
            entries.append((normalized, primary))  # type: ignore[arg-type]
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
            entries.append((normalized, primary, (label or "").strip()[:30] or None))  # type: ignore[arg-type]
    return entries, errors


def _replace_emails(contact: Contact, entries: list[tuple[str, bool]]) -> list[str]:
    """Make the contact's emails exactly ``entries`` (kept rows keep their status); returns the added ones."""
    current = {e.address: e for e in contact.emails}
    old_primary = next((e.address for e in contact.emails if e.is_primary), None)
    wanted = [a for a, _ in entries]
    primary = next((a for a, p in entries if p), old_primary if old_primary in wanted else None)
    primary = primary or (wanted[0] if wanted else None)
    for row in list(contact.emails):
        if row.address not in wanted:
            contact.emails.remove(row)
    added = []
    for position, address in enumerate(wanted):
        row = current.get(address)
        if row is None:
            row = ContactEmail(id=new_id(), workspace_id=contact.workspace_id, address=address, status="active")
            contact.emails.append(row)
            added.append(address)
        row.position, row.is_primary = position, address == primary
    contact.emails.sort(key=lambda e: e.position)
    contact.email = primary
    return added


def _replace_phones(contact: Contact, entries: list[tuple[str, bool, str | None]]) -> list[str]:
    """Make the contact's phones exactly ``entries``; returns the added numbers."""
    current = {p.number: p for p in contact.phones}
    old_primary = next((p.number for p in contact.phones if p.is_primary), None)
    wanted = [n for n, _, _ in entries]
    primary = next((n for n, p, _ in entries if p), old_primary if old_primary in wanted else None)
    primary = primary or (wanted[0] if wanted else None)
    for row in list(contact.phones):
        if row.number not in wanted:
            contact.phones.remove(row)
    added = []
    for position, (number, _primary, label) in enumerate(entries):
        row = current.get(number)
        if row is None:
            row = ContactPhone(id=new_id(), workspace_id=contact.workspace_id, number=number)
            contact.phones.append(row)
            added.append(number)
        row.position, row.is_primary = position, number == primary
        if label is not None or row.label is None:
            row.label = label
    contact.phones.sort(key=lambda p: p.position)
    contact.phone = primary
    return added


def _email_snapshot(contact: Contact) -> list[tuple[str, bool]]:
    return [(e.address, e.is_primary) for e in contact.emails]


def _phone_snapshot(contact: Contact) -> list[tuple[str, bool, str | None]]:
    return [(p.number, p.is_primary, p.label) for p in contact.phones]


def _active_member(session: Session, workspace_id: str, member_id: str) -> Member | None:
    member = session.get(Member, member_id)
    if member is None or member.workspace_id != workspace_id or not member.active:
        return None
    return member


def _apply(
    session: Session,
    workspace: Workspace,
    contact: Contact,
    values: Mapping[str, Any],
    *,
    creating: bool,
    enforce_required: bool = True,
    known: _CreateContext | None = None,
) -> _Applied:
    """Validate ``values`` and write them onto ``contact``; raises InvalidInput with every bad field at once.

    ``known`` (a create) holds the defaults already read with the workspace; without them, or when they do
    not apply, they are looked up here.
    """
    applied = _Applied()
    errors: list[FieldError] = []
    changed = applied.changed

    def set_attr(name: str, value: Any, *, label: str | None = None) -> None:
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            changed.append(label or name)

    if "name" in values:
        name, error = rules.clean_name(values["name"] or "")
        if error:
            errors.append(error)
        elif name != contact.name:
            contact.name, contact.name_key = name, rules.search_key(name)
            changed.append("name")

    # emails: the list replaces the set; ``email`` makes one address primary (adding it) or removes the primary
    if "emails" in values or "email" in values:
        entries = _email_snapshot(contact)
        if "emails" in values:
            entries, found = _email_entries(values["emails"] or [])
            errors.extend(found)
        if "email" in values:
            if values["email"]:
                address, error = rules.normalize_email(values["email"])
                if error:
                    errors.append(error)
                else:
                    entries = [(address, True)] + [(a, False) for a, _ in entries if a != address]  # type: ignore[list-item]
            elif not creating:
                entries = [(a, False) for a, p in entries if not p]
        before = _email_snapshot(contact)
        applied.added_emails = _replace_emails(contact, entries)
        if _email_snapshot(contact) != before:
            changed.append("emails")

    if "phones" in values or "phone" in values:
        phone_entries = _phone_snapshot(contact)
        if "phones" in values:
            phone_entries, found = _phone_entries(values["phones"] or [], workspace.default_region)
            errors.extend(found)
        if "phone" in values:
            if values["phone"]:
                number, error = rules.normalize_phone(values["phone"], workspace.default_region)
                if error:
                    errors.append(error)
                else:
                    label = next((lbl for n, _, lbl in phone_entries if n == number), None)
                    phone_entries = [(number, True, label)] + [  # type: ignore[list-item]
                        (n, False, lbl) for n, _, lbl in phone_entries if n != number
                    ]
            elif not creating:
                phone_entries = [(n, False, lbl) for n, p, lbl in phone_entries if not p]
        before_phones = _phone_snapshot(contact)
        applied.added_phones = _replace_phones(contact, phone_entries)
        if _phone_snapshot(contact) != before_phones:
            changed.append("phones")

    # type and stage: a new type without a stage of it moves the contact to that type's first stage
    type_given, stage_given = values.get("type"), values.get("stage_id")
    if ("type" in values and type_given is None) or ("stage_id" in values and stage_given is None):
        errors.append(
            FieldError("type" if "type" in values and type_given is None else "stage_id", "required", "required")
        )
    elif creating or type_given is not None or stage_given is not None:
        try:
            if type_given is None and stage_given is None and known and known.contact_type and known.stage:
                contact_type, stage = known.contact_type, known.stage  # the defaults, read with the workspace
            else:
                contact_type, stage = funnel.resolve(
                    session, workspace.id, type_key_or_id=type_given, stage_id=stage_given
                )
        except InvalidInput as invalid:
            errors.extend(invalid.errors)
        else:
            if contact_type.id != contact.type_id and not creating:
                changed.append("type")
            if stage.id != contact.stage_id and not creating:
                applied.stage = (contact.stage_id, stage.id)
                changed.append("stage_id")
            contact.type_id, contact.stage_id = contact_type.id, stage.id
            applied.type_key = contact_type.key

    if "owner_id" in values:
        owner_id = values["owner_id"] or None
        if owner_id is not None and _active_member(session, workspace.id, owner_id) is None:
            errors.append(FieldError("owner_id", f"no active member {owner_id} in this workspace", "unknown_member"))
        elif owner_id != contact.owner_id:
            if not creating:
                applied.owner = (contact.owner_id, owner_id)
                changed.append("owner_id")
            contact.owner_id = owner_id

    if "source_id" in values or creating:
        try:
            if values.get("source_id") is None and known is not None and known.source is not None:
                source = known.source  # the source of ``source_key`` (default: manual), read with the workspace
            else:
                source = sources.resolve(
                    session, workspace.id, source_id=values.get("source_id"), key=values.get("source_key")
                )
        except InvalidInput as invalid:
            errors.extend(invalid.errors)
        else:
            set_attr("source_id", source.id)

    if "language" in values:
        language, error = rules.clean_language(values["language"])
        errors.extend([error] if error else [])
        set_attr("language", language)

    if "location" in values:
        set_attr("location", rules.clean_location(values["location"] or {}))

    if "messengers" in values:
        messengers, found = rules.clean_messengers(values["messengers"] or {})
        errors.extend(found)
        set_attr("messengers", messengers)

    if "tags" in values:
        tags, found = rules.clean_tags(values["tags"] or [])
        errors.extend(found)
        if sorted(tags) != sorted(t.tag for t in contact.tags):
            for row in list(contact.tags):
                if row.tag not in tags:
                    contact.tags.remove(row)
            present = {t.tag for t in contact.tags}
            contact.tags.extend(ContactTag(tag=tag, workspace_id=workspace.id) for tag in tags if tag not in present)
            changed.append("tags")

    if "interests" in values:
        interests, found = rules.clean_interests(values["interests"] or [])
        errors.extend(found)
        current = [{"criteria": list(i.criteria or []), "text": i.text} for i in contact.interests]
        if interests != current:
            contact.interests.clear()
            contact.interests.extend(
                Interest(id=new_id(), workspace_id=workspace.id, criteria=i["criteria"], text=i["text"])
                for i in interests
            )
            changed.append("interests")

    if "custom_fields" in values or (creating and enforce_required):
        # A workspace without custom fields has no definitions to read (the usual case when creating).
        has_fields = known is None or known.has_custom_fields
        definitions = custom_fields.definitions(session, workspace.id) if has_fields else []
        clean, found = custom_field_rules.validate_values(
            definitions,
            dict(values.get("custom_fields") or {}),
            partial=not (creating and enforce_required),
            region=workspace.default_region,
        )
        errors.extend(found)
        merged = {k: v for k, v in {**(contact.custom_fields or {}), **clean}.items() if v is not None}
        set_attr("custom_fields", merged)

    if "stars" in values:
        stars = values["stars"] if values["stars"] is not None else 0
        error = rules.check_stars(stars)
        errors.extend([error] if error else [])
        set_attr("stars", stars)

    if "color" in values:
        color, error = rules.clean_color(values["color"])
        errors.extend([error] if error else [])
        set_attr("color", color)
        if color and not error:  # the workspace remembers the card colors used last
            workspace.recent_colors = bulk_rules.remember_color(workspace.recent_colors or [], color)

    if "emoji" in values:
        emoji, error = rules.clean_emoji(values["emoji"])
        errors.extend([error] if error else [])
        set_attr("emoji", emoji)

    if errors:
        raise InvalidInput("the contact has invalid fields", errors=errors)
    if applied.type_key is None and contact.type_id:
        applied.type_key = _type_key(session, contact.type_id)
    return applied


def _type_key(session: Session, type_id: str | None) -> str | None:
    contact_type = session.get(ContactType, type_id) if type_id else None
    return contact_type.key if contact_type is not None else None


def member_column(actor_id: str | None) -> str | None:
    """An actor id for the 36-character member columns (created_by, deleted_by, ...); longer ids are not kept."""
    return actor_id if actor_id is not None and len(actor_id) <= 36 else None


@dataclass(frozen=True)
class _CreateContext:
    """What creating a contact reads besides its body, read in one query by ``_create_context``."""

    workspace: Workspace
    actor: Member | None  # the acting member (active or not), if the actor is one of the workspace
    contact_type: ContactType | None  # the default type ("contact") ...
    stage: Stage | None  # ... and its first stage
    source: Source | None  # the source named by ``source_key`` (default: manual)
    has_custom_fields: bool


@functools.cache
def _create_context_query() -> Any:
    """Built once (on first use, when every model is mapped): building it costs more CPU than running it."""
    return (
        select(
            Workspace,
            Member,
            ContactType,
            Stage,
            Source,
            exists().where(CustomField.workspace_id == Workspace.id).label("has_custom_fields"),
        )
        .outerjoin(Member, and_(Member.id == bindparam("actor_id"), Member.workspace_id == Workspace.id))
        .outerjoin(ContactType, and_(ContactType.workspace_id == Workspace.id, ContactType.key == DEFAULT_TYPE))
        .outerjoin(Stage, Stage.id == funnel.first_stage_id(ContactType.id))
        .outerjoin(Source, and_(Source.workspace_id == Workspace.id, Source.key == bindparam("source_key")))
        .where(Workspace.id == bindparam("workspace_id"))
    )


def _create_context(
    session: Session, workspace_id: str, actor_id: str | None, source_key: str | None
) -> _CreateContext:
    """The workspace, the actor as a member, the default type and first stage, the source and whether the
    workspace defines custom fields: one round trip instead of six.

    Every part is an outer join on a unique key, so there is exactly one row per workspace. What is missing
    comes back as None, and ``_apply`` then resolves it the usual way (and reports it the usual way).
    """
    row = session.execute(
        _create_context_query(),
        {"workspace_id": workspace_id, "actor_id": actor_id or "", "source_key": source_key or MANUAL_SOURCE},
    ).first()
    if row is None:
        raise Unauthenticated("the token's workspace does not exist")
    workspace, member, contact_type, stage, source, has_custom_fields = row
    return _CreateContext(workspace, member, contact_type, stage, source, bool(has_custom_fields))


def _workspace(session: Session, workspace_id: str) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise Unauthenticated("the token's workspace does not exist")
    return workspace


def _new_contact(workspace_id: str, actor_id: str | None) -> Contact:
    return Contact(
        id=new_id(),
        workspace_id=workspace_id,
        name="",
        name_key="",
        status="active",
        stars=0,
        blocked=False,
        location={},
        messengers={},
        custom_fields={},
        version=1,
        created_by=actor_id,
        emails=[],
        phones=[],
        tags=[],
        interests=[],
    )


def _insert(
    uow: UnitOfWork,
    workspace: Workspace,
    values: Mapping[str, Any],
    *,
    actor: Caller | None,
    enforce_required: bool = True,
    known: _CreateContext | None = None,
    created_by: str | None = None,
) -> tuple[Contact, _Applied]:
    """Validate, insert the contact with its ``contacts.contact.created`` event and history entry, and refuse
    it if it duplicates another: shared by create and find-or-create.

    ``created_by`` is the creator when there is no ``actor`` (find-or-create on behalf of another service).
    The writes go to PostgreSQL in one round trip (``UnitOfWork.pipeline``), after the locks on the new emails
    and phones; the duplicate lookup comes after them, leaving the new contact out, so a duplicate rolls the
    whole transaction back. With the locks held, the lookup sees every contact committed by a writer of the
    same values before, exactly as a lookup before the writes did.
    """
    session = uow.session
    values = dict(values)
    if "owner_id" not in values and actor is not None:
        if known is not None:  # the actor's member row was read with the workspace (and is in the session)
            member = known.actor
            is_member = member is not None and member.workspace_id == workspace.id and member.active
        else:
            is_member = _active_member(session, workspace.id, actor.user_id) is not None
        values["owner_id"] = actor.user_id if is_member else None
    actor_id = actor.user_id if actor else created_by
    contact = _new_contact(workspace.id, member_column(actor_id))
    applied = _apply(session, workspace, contact, values, creating=True, enforce_required=enforce_required, known=known)
    emails, phones = [e.address for e in contact.emails], [p.number for p in contact.phones]
    check = not workspace.allow_duplicates and bool(emails or phones)
    with uow.pipeline():
        if check:
            duplicates.lock_values(session, workspace.id, [*emails, *phones])
        _write_new(session, contact)
        _emit_created(uow, contact, applied.type_key, actor_id)
    if check:
        duplicate = duplicates.find_duplicate(
            session, workspace.id, emails=emails, phones=phones, exclude_contact_ids=[contact.id]
        )
        if duplicate is not None:
            raise duplicates.problem(duplicate)
    return contact, applied


_MISSING = object()
_NEW_ROW_MODELS = (Contact, ContactEmail, ContactPhone, ContactTag, Interest)


@functools.cache
def _insert_statements() -> dict[type, Any]:
    """One prebuilt Core INSERT per table of a new contact (compiled once, then executed with parameters).

    Of the table, not of the model: an ORM-enabled insert goes through the ORM's bulk-insert machinery, which
    costs more than the statement."""
    return {model: insert(model.__table__) for model in _NEW_ROW_MODELS}


def _column_values(row: Any) -> dict[str, Any]:
    """The INSERT parameters of a new ORM object, as the ORM's flush sends them: a value that was not set
    (or None, where None means no value) becomes the column's Python default, else NULL. The values are also
    set on the object, as a flush does. (These tables have no server-only defaults; attribute = column key.)"""
    state = row.__dict__
    values = {}
    for column in row.__table__.columns:
        value = state.get(column.key, _MISSING)
        if value is _MISSING or (value is None and not column.type.should_evaluate_none):
            default = column.default
            value = None if default is None else default.arg(None) if default.is_callable else default.arg
            set_committed_value(row, column.key, value)
        values[column.key] = value
    return values


def _write_new(session: Session, contact: Contact) -> None:
    """INSERT a new contact and its emails, phones, tags and interests with Core statements.

    The same rows and values as ``session.add(contact); session.flush()``, one statement per table as the
    flush sent, without the unit of work's bookkeeping, which cost more CPU than everything else a create
    does in the database. The contact stays out of the session (transient): nothing later in the
    transaction changes it, and after the commit it is only read, like the detached object it replaces.
    """
    contact.created_at = contact.updated_at = utcnow()
    statements = _insert_statements()
    connection = session.connection()
    connection.execute(statements[Contact], _column_values(contact))
    for model, rows in (
        (ContactEmail, contact.emails),
        (ContactPhone, contact.phones),
        (ContactTag, contact.tags),
        (Interest, contact.interests),
    ):
        if rows:
            for row in rows:
                row.contact_id = contact.id  # what the relationship fills in at flush
            connection.execute(statements[model], [_column_values(row) for row in rows])


def _emit_created(uow: UnitOfWork, contact: Contact, type_key: str | None, actor_id: str | None) -> None:
    event = contacts_pb2.ContactCreated(
        contact_id=contact.id,
        name=contact.name,
        email=contact.email or "",
        phone=contact.phone or "",
        contact=represent.snapshot(contact, type_key),
    )
    event.created_at.FromDatetime(contact.created_at)
    uow.emit(CREATED, event, workspace_id=contact.workspace_id)
    history.record(
        uow.session,
        workspace_id=contact.workspace_id,
        contact_id=contact.id,
        kind="created",
        actor_id=actor_id,
        data={"name": contact.name, "source_id": contact.source_id},
    )


def create_record(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    values: Mapping[str, Any],
    actor: Caller | None = None,
) -> Record:
    """Create a contact from the record's fields (see ``RECORD_FIELDS``); emits contacts.contact.created."""
    with uow:
        known = _create_context(uow.session, workspace_id, actor.user_id if actor else None, values.get("source_key"))
        contact, applied = _insert(uow, known.workspace, values, actor=actor, known=known)
        uow.commit()
    return Record(contact, applied.type_key)


def create(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    actor: Caller | None = None,
) -> Contact:
    """Create a contact with a name and optionally an email and a phone; emits contacts.contact.created."""
    values: dict[str, Any] = {"name": name}
    if email:
        values["email"] = email
    if phone:
        values["phone"] = phone
    return create_record(uow, workspace_id=workspace_id, values=values, actor=actor).contact


def _check_version(contact: Contact, if_match: str | None) -> None:
    if if_match is None:
        return
    wanted = {tag.strip().removeprefix("W/").strip('"') for tag in if_match.split(",")}
    if "*" not in wanted and str(contact.version) not in wanted:
        raise PreconditionFailed(
            f"the contact is at version {contact.version}, not {if_match}; read it again and retry",
            extra={"current_version": contact.version},
        )


def _snapshot(session: Session, contact: Contact) -> contacts_pb2.ContactSnapshot:
    return represent.snapshot(contact, _type_key(session, contact.type_id))


def announce(
    uow: UnitOfWork,
    contact: Contact,
    event_type: str,
    payload: Message,
    *,
    kind: str,
    actor_id: str | None,
    data: dict[str, Any],
) -> None:
    """Emit an event about the contact and write the matching entry in its history, in the same transaction."""
    uow.emit(event_type, payload, workspace_id=contact.workspace_id)
    history.record(
        uow.session, workspace_id=contact.workspace_id, contact_id=contact.id, kind=kind, actor_id=actor_id, data=data
    )


def record_stage_change(
    uow: UnitOfWork,
    contact: Contact,
    change: tuple[str | None, str | None],
    *,
    type_key: str | None,
    actor_id: str | None,
) -> None:
    """Emit contacts.contact.stage_changed and write ``stage_changed`` {from, to} in the contact's history."""
    from_stage, to_stage = change
    announce(
        uow,
        contact,
        STAGE_CHANGED,
        contacts_pb2.ContactStageChanged(
            contact_id=contact.id,
            from_stage_id=from_stage or "",
            to_stage_id=to_stage or "",
            contact_type=type_key or "",
            actor_id=actor_id or "",
        ),
        kind="stage_changed",
        actor_id=actor_id,
        data={"from": from_stage, "to": to_stage, "type": type_key},
    )


def record_owner_change(
    uow: UnitOfWork, contact: Contact, change: tuple[str | None, str | None], *, actor_id: str | None
) -> None:
    """Emit contacts.contact.owner_changed and write ``owner_changed`` {from, to} in the contact's history."""
    from_owner, to_owner = change
    announce(
        uow,
        contact,
        OWNER_CHANGED,
        contacts_pb2.ContactOwnerChanged(
            contact_id=contact.id, from_owner_id=from_owner or "", to_owner_id=to_owner or "", actor_id=actor_id or ""
        ),
        kind="owner_changed",
        actor_id=actor_id,
        data={"from": from_owner, "to": to_owner},
    )


def record_status_change(
    uow: UnitOfWork, contact: Contact, change: tuple[str, str], *, actor_id: str | None, reason: str | None = None
) -> None:
    """Emit contacts.contact.status_changed and write ``status_changed`` {from, to, reason} in the history."""
    from_status, to_status = change
    announce(
        uow,
        contact,
        STATUS_CHANGED,
        contacts_pb2.ContactStatusChanged(
            contact_id=contact.id,
            from_status=from_status,
            to_status=to_status,
            campaign_eligible=represent.campaign_eligible(contact),
            actor_id=actor_id or "",
        ),
        kind="status_changed",
        actor_id=actor_id,
        data={"from": from_status, "to": to_status, "reason": reason},
    )


def update(
    uow: UnitOfWork, *, caller: Caller, contact_id: str, values: Mapping[str, Any], if_match: str | None = None
) -> Record:
    """Change some fields of a contact the caller sees; emits updated, and stage/owner changed with history."""
    with uow:
        session = uow.session
        workspace = _workspace(session, caller.workspace_id)
        contact = access.visible_contact(session, caller, contact_id)
        _check_version(contact, if_match)
        applied = _apply(session, workspace, contact, values, creating=False)
        if not applied.changed:
            return Record(contact, applied.type_key)
        if not workspace.allow_duplicates:
            duplicates.refuse_duplicates(
                session,
                workspace.id,
                emails=applied.added_emails,
                phones=applied.added_phones,
                exclude_contact_ids=[contact.id],
            )
        contact.version += 1
        session.flush()
        snapshot = represent.snapshot(contact, applied.type_key)
        uow.emit(
            UPDATED,
            contacts_pb2.ContactUpdated(
                contact_id=contact.id, changed_fields=applied.changed, contact=snapshot, actor_id=caller.user_id
            ),
            workspace_id=workspace.id,
        )
        plain = [f for f in applied.changed if f not in ("stage_id", "owner_id")]
        if plain:
            history.record(
                session,
                workspace_id=workspace.id,
                contact_id=contact.id,
                kind="updated",
                actor_id=caller.user_id,
                data={"fields": plain},
            )
        if applied.stage is not None:
            record_stage_change(uow, contact, applied.stage, type_key=applied.type_key, actor_id=caller.user_id)
        if applied.owner is not None:
            record_owner_change(uow, contact, applied.owner, actor_id=caller.user_id)
        uow.commit()
    return Record(contact, applied.type_key)


# --- reads ---------------------------------------------------------------------------------------------------


def get(uow: UnitOfWork, *, workspace_id: str, contact_id: str) -> Contact:
    """One live contact of the workspace (service-to-service reads: no per-member visibility)."""
    with uow:
        contact = get_in_workspace(uow.session, Contact, contact_id, workspace_id=workspace_id, what="contact")
        if contact.deleted_at is not None:
            raise NotFound(f"contact {contact_id} not found")
        return contact


@functools.cache
def _contact_query() -> Any:
    """A contact with its emails, phones and type in one query, and whether it has tags and interests.

    Emails and phones are joined (one row per email and phone pair: a contact has one or two of each, rarely
    more), instead of the relationships' "selectin" loads, which cost a round trip each. Built once.
    """
    return (
        select(
            Contact,
            ContactType,
            exists().where(ContactTag.contact_id == Contact.id).label("has_tags"),
            exists().where(Interest.contact_id == Contact.id).label("has_interests"),
        )
        .outerjoin(ContactType, ContactType.id == Contact.type_id)
        .where(Contact.id == bindparam("contact_id"))
        .options(
            joinedload(Contact.emails),
            joinedload(Contact.phones),
            lazyload(Contact.tags),
            lazyload(Contact.interests),
        )
    )


def _preload(session: Session, contact_id: str) -> Any:
    """Read a contact into the session in one query, so that ``session.get`` (``access.visible_contact``, ...)
    and ``_type_key`` then find it and its type there, without a query each. The caller keeps what this
    returns until then: the session's identity map only holds weak references.

    Its tags and interests are loaded too, each only if it has some (the usual contact has none). The
    visibility rules are not here: the caller applies them to what ``session.get`` returns.
    """
    if not is_uuid(contact_id):
        return None
    row = session.execute(_contact_query(), {"contact_id": contact_id}).unique().first()
    if row is None:
        return row
    contact, _type, has_tags, has_interests = row
    for name, present in (("tags", has_tags), ("interests", has_interests)):
        if present:
            getattr(contact, name)  # loads it now, while the session is open
        else:
            set_committed_value(contact, name, [])
    return row


def _read_only(session: Session) -> None:
    """For a use case that only reads: run its statements outside a transaction, saving the BEGIN and
    ROLLBACK round trips around them. Under READ COMMITTED (the default) every statement of a transaction
    takes its own snapshot anyway, so each statement sees exactly what it saw inside one. Never for writes."""
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


@functools.cache
def _summary_query() -> Any:
    """A live contact of a workspace with its type key, emails and phones: only the columns of a summary.

    Core, not the ORM: other services' reads are the service's hottest path, and building ORM objects costs
    several times the query. One row per email and phone pair (a contact has one or two of each, rarely
    more), in the order the relationships use. Built once.
    """
    contact, kind, email, phone = (model.__table__ for model in (Contact, ContactType, ContactEmail, ContactPhone))
    return (
        select(
            contact.c.name,
            contact.c.stage_id,
            contact.c.status,
            contact.c.owner_id,
            contact.c.blocked,
            contact.c.language,
            contact.c.created_at,
            kind.c.key,
            email.c.id,
            email.c.address,
            email.c.is_primary,
            email.c.status,
            email.c.inactive_reason,
            phone.c.id,
            phone.c.number,
            phone.c.is_primary,
        )
        .select_from(
            contact.outerjoin(kind, kind.c.id == contact.c.type_id)
            .outerjoin(email, email.c.contact_id == contact.c.id)
            .outerjoin(phone, phone.c.contact_id == contact.c.id)
        )
        .where(
            contact.c.id == bindparam("contact_id"),
            contact.c.workspace_id == bindparam("workspace_id"),
            contact.c.deleted_at.is_(None),
        )
        .order_by(email.c.position, phone.c.position)
    )


def get_summary(database: Database, *, workspace_id: str, contact_id: str) -> represent.Summary:
    """One live contact of the workspace as other services see it (no per-member visibility): another
    workspace's, a deleted or an unknown contact is not found. One query, outside a transaction."""
    rows = (
        database.read(_summary_query(), {"contact_id": contact_id, "workspace_id": workspace_id})
        if is_uuid(contact_id)
        else None
    )
    if not rows:
        raise NotFound(f"contact {contact_id} not found")
    emails: dict[str, represent.EmailSummary] = {}
    phones: dict[str, represent.PhoneSummary] = {}
    for *_contact, email_id, address, email_primary, email_status, reason, phone_id, number, phone_primary in rows:
        if email_id is not None and email_id not in emails:
            emails[email_id] = represent.EmailSummary(address, email_primary, email_status, reason)
        if phone_id is not None and phone_id not in phones:
            phones[phone_id] = represent.PhoneSummary(number, phone_primary)
    name, stage_id, status, owner_id, blocked, language, created_at, type_key = rows[0][:8]
    return represent.Summary(
        id=contact_id,
        workspace_id=workspace_id,
        name=name,
        type_key=type_key,
        stage_id=stage_id,
        status=status,
        owner_id=owner_id,
        blocked=blocked,
        language=language,
        created_at=created_at,
        deleted_at=None,
        emails=list(emails.values()),
        phones=list(phones.values()),
    )


def read(uow: UnitOfWork, *, caller: Caller, contact_id: str) -> Record:
    """One contact the caller may see, with its type key."""
    with uow:
        _read_only(uow.session)
        _loaded = _preload(uow.session, contact_id)  # held for session.get below
        contact = access.visible_contact(uow.session, caller, contact_id)
        return Record(contact, _type_key(uow.session, contact.type_id))


def _with_type_keys(session: Session, query: Any) -> list[Record]:
    rows = session.execute(query.add_columns(ContactType.key).outerjoin(ContactType, ContactType.id == Contact.type_id))
    return [Record(contact, key) for contact, key in rows]


def batch_get(uow: UnitOfWork, *, workspace_id: str, contact_ids: Sequence[str]) -> list[Record]:
    """The workspace's live contacts among ``contact_ids``; unknown and deleted ids are left out."""
    ids = [i for i in dict.fromkeys(contact_ids) if is_uuid(i)]
    if not ids:
        return []
    with uow:
        query = select(Contact).where(
            Contact.workspace_id == workspace_id, Contact.id.in_(ids), Contact.deleted_at.is_(None)
        )
        return _with_type_keys(uow.session, query)


def _lookup_address(raw: str) -> str:
    address, error = rules.normalize_email(raw)
    return address if error is None and address else raw.strip().lower()


def _contacts_with_email(session: Session, workspace_id: str, address: str) -> Any:
    return (
        select(Contact)
        .join(ContactEmail, ContactEmail.contact_id == Contact.id)
        .where(ContactEmail.workspace_id == workspace_id, ContactEmail.address == address, Contact.deleted_at.is_(None))
        .order_by(Contact.id)
    )


def find_by_email(uow: UnitOfWork, *, workspace_id: str, address: str) -> list[Record]:
    """Live contacts having this address among any of their emails, oldest first."""
    with uow:
        return _with_type_keys(uow.session, _contacts_with_email(uow.session, workspace_id, _lookup_address(address)))


def find_or_create_by_email(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    address: str,
    name: str = "",
    source_key: str = "",
    actor_id: str | None = None,
) -> tuple[Record, bool]:
    """The oldest live contact with this address, or a new one (default type and source, no owner)."""
    normalized, error = rules.normalize_email(address)
    if error is not None or normalized is None:
        raise InvalidInput("not an email address", errors=[FieldError("address", error.message if error else "")])
    with uow:
        session = uow.session
        known = _create_context(session, workspace_id, None, source_key or "default")
        workspace = known.workspace
        duplicates.lock_values(session, workspace.id, [normalized])  # two inbound mails at once create one contact
        found = _with_type_keys(session, _contacts_with_email(session, workspace_id, normalized).limit(1))
        if found:
            return found[0], False
        values = {
            "name": name.strip() or normalized.split("@", 1)[0],
            "emails": [normalized],
            "source_key": source_key or "default",
            "owner_id": None,
        }
        contact, applied = _insert(
            uow, workspace, values, actor=None, enforce_required=False, known=known, created_by=actor_id
        )
        uow.commit()
    return Record(contact, applied.type_key), True


@dataclass(frozen=True)
class Sendability:
    sendable: bool
    reason: str  # "" when sendable: unknown_address, blocked, inactive:<reason>, lost


def is_email_sendable(uow: UnitOfWork, *, workspace_id: str, address: str, campaign: bool) -> Sendability:
    """Whether mail may go to this address now: refused if any live contact with it is blocked or has it inactive.

    Automatic campaigns also skip the address when every live contact having it is lost.
    """
    wanted = _lookup_address(address)
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
    inactive = next((reason for status, reason, _, _ in rows if status == "inactive"), None)
    if inactive is not None or any(status == "inactive" for status, _, _, _ in rows):
        return Sendability(False, f"inactive:{inactive or 'manual'}")
    if campaign and all(contact_status == "lost" for _, _, _, contact_status in rows):
        return Sendability(False, "lost")
    return Sendability(True, "")


def likely_duplicates(uow: UnitOfWork, *, caller: Caller, contact_id: str) -> list[tuple[Record, list[str]]]:
    """Other contacts the caller sees that share an email or phone, or have a similar name, with the reasons."""
    with uow:
        session = uow.session
        contact = access.visible_contact(session, caller, contact_id)
        found = duplicates.likely_duplicates(session, contact, scope=lambda q: access.scope(q, session, caller))
        keys = {
            t.id: t.key
            for t in session.scalars(select(ContactType).where(ContactType.workspace_id == contact.workspace_id))
        }
        return [(Record(other, keys.get(other.type_id or "")), reasons) for other, reasons in found]


# --- status, blocking, delete ----------------------------------------------------------------------------


def set_status(uow: UnitOfWork, *, caller: Caller, contact_id: str, status: str, reason: str | None = None) -> Record:
    """Win, lose or reopen a contact; emits contacts.contact.status_changed and writes the history."""
    with uow:
        session = uow.session
        contact = access.visible_contact(session, caller, contact_id)
        refusal = rules.status_change_error(contact.status, status)
        if refusal:
            raise Conflict(refusal, extra={"current_status": contact.status})
        previous = contact.status
        contact.status = status
        contact.version += 1
        record_status_change(uow, contact, (previous, status), actor_id=caller.user_id, reason=reason)
        record = Record(contact, _type_key(session, contact.type_id))
        uow.commit()
    return record


def set_blocked(uow: UnitOfWork, *, caller: Caller, contact_id: str, blocked: bool) -> Record:
    """Block (mail and chats are no longer received) or unblock a contact; emits blocked/unblocked."""
    with uow:
        session = uow.session
        contact = access.visible_contact(session, caller, contact_id)
        if contact.blocked == blocked:
            raise Conflict(f"the contact is already {'blocked' if blocked else 'unblocked'}")
        contact.blocked = blocked
        contact.blocked_at = utcnow() if blocked else None
        contact.version += 1
        uow.emit(
            BLOCKED if blocked else UNBLOCKED,
            contacts_pb2.ContactBlockChanged(
                contact_id=contact.id,
                blocked=blocked,
                emails=[e.address for e in contact.emails],
                actor_id=caller.user_id,
            ),
            workspace_id=contact.workspace_id,
        )
        history.record(
            session,
            workspace_id=contact.workspace_id,
            contact_id=contact.id,
            kind="blocked" if blocked else "unblocked",
            actor_id=caller.user_id,
        )
        record = Record(contact, _type_key(session, contact.type_id))
        uow.commit()
    return record


def delete(uow: UnitOfWork, *, caller: Caller, contact_id: str) -> None:
    """Soft-delete a contact (admins, or its owner); it frees its emails and phones; emits contacts.contact.deleted."""
    with uow:
        session = uow.session
        contact = access.visible_contact(session, caller, contact_id)
        if not caller.is_admin and contact.owner_id != caller.user_id:
            raise Forbidden("only admins may delete contacts they do not own")
        contact.deleted_at = utcnow()
        contact.deleted_by = member_column(caller.user_id)
        contact.version += 1
        uow.emit(
            DELETED,
            contacts_pb2.ContactDeleted(contact_id=contact.id, actor_id=caller.user_id),
            workspace_id=contact.workspace_id,
        )
        history.record(
            session,
            workspace_id=contact.workspace_id,
            contact_id=contact.id,
            kind="deleted",
            actor_id=caller.user_id,
            data={"name": contact.name},
        )
        uow.commit()


# --- email address status --------------------------------------------------------------------------------


def _email_row(contact: Contact, address: str) -> ContactEmail:
    wanted = _lookup_address(address)
    row = next((e for e in contact.emails if e.address == wanted), None)
    if row is None:
        raise NotFound(f"the contact has no email {address}")
    return row


def _deactivate(uow: UnitOfWork, contact: Contact, row: ContactEmail, reason: str, actor_id: str | None) -> None:
    row.status, row.inactive_reason, row.inactive_since = "inactive", reason, utcnow()
    contact.version += 1
    uow.emit(
        EMAIL_DEACTIVATED,
        contacts_pb2.EmailStatusChanged(
            contact_id=contact.id, address=row.address, status="inactive", reason=reason, actor_id=actor_id or ""
        ),
        workspace_id=contact.workspace_id,
    )
    history.record(
        uow.session,
        workspace_id=contact.workspace_id,
        contact_id=contact.id,
        kind="email_deactivated",
        actor_id=actor_id,
        data={"address": row.address, "reason": reason},
    )


def deactivate_email(uow: UnitOfWork, *, caller: Caller, contact_id: str, address: str, reason: str) -> Record:
    """Turn an address off by hand (manual, invalid, ...); emits contacts.email.deactivated."""
    if not emailstatus.is_known_reason(reason):
        raise InvalidInput("unknown reason", errors=[FieldError("reason", f"not a reason: {reason!r}", "invalid")])
    with uow:
        contact = access.visible_contact(uow.session, caller, contact_id)
        row = _email_row(contact, address)
        if row.status == "inactive":
            raise Conflict(f"{row.address} is already inactive ({row.inactive_reason})")
        _deactivate(uow, contact, row, reason, caller.user_id)
        record = Record(contact, _type_key(uow.session, contact.type_id))
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
) -> Record:
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
        if row.status == "active":
            raise Conflict(f"{row.address} is already active")
        available_at = emailstatus.reactivation_refusal(row.reactivated_at, now=now)
        if available_at is not None:
            raise Conflict(
                emailstatus.refusal_detail(row.address, available_at),
                extra={"retry_after": available_at.isoformat()},
            )
        previous = row.inactive_reason
        row.status, row.inactive_reason, row.inactive_since = "active", None, None
        row.reactivated_at, row.consent_confirmed_by = now, member_column(caller.user_id)
        contact.version += 1
        uow.emit(
            EMAIL_REACTIVATED,
            contacts_pb2.EmailStatusChanged(
                contact_id=contact.id, address=row.address, status="active", reason="", actor_id=caller.user_id
            ),
            workspace_id=contact.workspace_id,
        )
        history.record(
            uow.session,
            workspace_id=contact.workspace_id,
            contact_id=contact.id,
            kind="email_reactivated",
            actor_id=caller.user_id,
            data={"address": row.address, "previous_reason": previous, "consent_confirmed": True},
        )
        record = Record(contact, _type_key(uow.session, contact.type_id))
        uow.commit()
    return record


def deactivate_address_everywhere(
    uow: UnitOfWork, *, workspace_id: str, address: str, reason: str, actor_id: str
) -> int:
    """Inside an open unit of work (an event handler): turn the address off on every live contact having it.

    Addresses already inactive are left as they are, so a repeated report changes nothing. Returns how many
    addresses were turned off.
    """
    wanted = _lookup_address(address)
    contacts = uow.session.scalars(_contacts_with_email(uow.session, workspace_id, wanted))
    count = 0
    for contact in contacts:
        row = next(e for e in contact.emails if e.address == wanted)
        if row.status == "active":
            _deactivate(uow, contact, row, reason, actor_id)
            count += 1
    return count
