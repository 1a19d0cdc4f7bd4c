"""Creating contacts: from the API's fields, or found-or-created by email for another service.

``insert_new`` is the one way a contact is written: its fields through ``fields.apply`` onto a plain draft
(``record/drafts.py``: no ORM objects on the write path), the duplicate locks and lookup, the rows, and
contacts.contact.created with its history entry. Imports use it too.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, event, exists, select
from sqlalchemy.orm import Session

from crm_contacts.contacts import duplicates, fields, reads
from crm_contacts.customfields.models import CustomField
from crm_contacts.funnel import service as funnel
from crm_contacts.funnel.defaults import DEFAULT_TYPE
from crm_contacts.funnel.models import ContactType, Stage
from crm_contacts.members.models import Member
from crm_contacts.record import events, rules
from crm_contacts.record.drafts import DraftContact
from crm_contacts.record.models import ACTIVE, Contact, ContactEmail, ContactPhone, ContactTag, Interest
from crm_contacts.record.workspace import Workspace
from crm_contacts.sources.defaults import MANUAL_SOURCE
from crm_contacts.sources.models import Source
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, utcnow
from crm_platform.errors import FieldError, InvalidInput, Unauthenticated


@dataclass(frozen=True)
class CreateContext:
    """What creating a contact reads besides its body, read in one query by ``create_context``."""

    workspace: Workspace
    actor: Member | None  # the acting member (active or not), if the actor is one of the workspace
    contact_type: ContactType | None  # the default type ("contact") ...
    stage: Stage | None  # ... and its first stage
    source: Source | None  # the source named by ``source_key`` (default: manual)
    has_custom_fields: bool
    # the custom field definitions, when read beforehand for many contacts (an import's batch)
    custom_fields: list[CustomField] | None = None


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


def create_context(session: Session, workspace_id: str, actor_id: str | None, source_key: str | None) -> CreateContext:
    """The workspace, the actor as a member, the default type and first stage, the source and whether the
    workspace defines custom fields: one round trip instead of six.

    Every part is an outer join on a unique key, so there is exactly one row per workspace. What is missing
    comes back as None, and ``fields.apply`` then resolves it the usual way (and reports it the usual way).
    """
    row = session.execute(
        _create_context_query(),
        {"workspace_id": workspace_id, "actor_id": actor_id or "", "source_key": source_key or MANUAL_SOURCE},
    ).first()
    if row is None:
        raise Unauthenticated("the token's workspace does not exist")
    workspace, member, contact_type, stage, source, has_custom_fields = row
    return CreateContext(workspace, member, contact_type, stage, source, bool(has_custom_fields))


# The create's context, cached briefly per process: reading it cost more CPU than the create's INSERTs. A change to
# what it holds (a workspace's settings, a member, the funnel, a source, a custom field) made through this process's
# ORM clears the cache at once; one made by another process is seen within CONTEXT_SECONDS.
CONTEXT_SECONDS = 1.0
_CONTEXTS_KEPT = 1000
_contexts: dict[tuple[int, str, str, str], tuple[float, CreateContext]] = {}
_contexts_lock = threading.Lock()
_generation = [0]  # bumped by every change: a context read meanwhile is not cached


def cached_create_context(
    uow: UnitOfWork, workspace_id: str, actor_id: str | None, source_key: str | None
) -> CreateContext:
    """``create_context``, from the cache when read less than ``CONTEXT_SECONDS`` ago.

    The context's rows are detached and shared between requests: a create only reads them (a card color, which
    writes the workspace's recent colors, reads its own context; see ``create_record``)."""
    key = (id(uow.database), workspace_id, actor_id or "", source_key or MANUAL_SOURCE)
    now = time.monotonic()
    found = _contexts.get(key)
    if found is not None and found[0] > now:
        return found[1]
    generation = _generation[0]
    known = create_context(uow.session, workspace_id, actor_id, source_key)
    with _contexts_lock:
        if generation == _generation[0]:
            if len(_contexts) >= _CONTEXTS_KEPT:
                _contexts.clear()
            _contexts[key] = (now + CONTEXT_SECONDS, known)
    return known


def _forget_contexts(*_args: Any) -> None:
    with _contexts_lock:
        _generation[0] += 1
        _contexts.clear()


_CONTEXT_MODELS = (Workspace, Member, ContactType, Stage, Source, CustomField)
for _model in _CONTEXT_MODELS:  # what a flush changes
    for _change in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _change, _forget_contexts)


def _forget_after_statement(state: Any) -> None:
    """An ORM UPDATE or DELETE statement (``session.execute(update(Workspace)...)``) of what a context holds."""
    if state.is_update or state.is_delete:
        mapper = state.bind_mapper
        if mapper is None or mapper.class_ in _CONTEXT_MODELS:
            _forget_contexts()


event.listen(Session, "do_orm_execute", _forget_after_statement)


def insert_new(
    uow: UnitOfWork,
    workspace: Workspace,
    values: Mapping[str, Any],
    *,
    actor: Caller | None,
    enforce_required: bool = True,
    known: CreateContext | None = None,
    created_by: str | None = None,
) -> tuple[DraftContact, fields.Applied]:
    """Validate, insert the contact with its ``contacts.contact.created`` event and history entry, and refuse
    it if it duplicates another: shared by create and find-or-create.

    ``created_by`` is the creator when there is no ``actor`` (find-or-create on behalf of another service).
    The writes go to PostgreSQL in one round trip (``UnitOfWork.pipeline``), after the locks on the new emails
    and phones; the duplicate lookup comes after them, leaving the new contact out, so a duplicate rolls the
    whole transaction back. With the locks held, the lookup sees every contact committed by a writer of the
    same values before, exactly as a lookup before the writes did.
    """
    session = uow.session
    actor_id = actor.user_id if actor else created_by
    contact, applied = _build(session, workspace, values, actor, actor_id, known, enforce_required)
    emails, phones = [e.address for e in contact.emails], [p.number for p in contact.phones]
    check = not workspace.allow_duplicates and bool(emails or phones)
    if check and uow.database.on_driver:  # PostgreSQL: the locks, the writes and the lookup in one round trip
        with uow.cursor() as locks, uow.cursor() as lookup:
            with uow.pipeline():
                duplicates.send_lock(locks, workspace.id, [*emails, *phones])
                _write_new(uow, [contact])
                events.announce_created(uow, contact, type_key=applied.type_key, actor_id=actor_id)
                duplicates.send_lookup(
                    lookup, workspace.id, emails=emails, phones=phones, exclude_contact_ids=[contact.id]
                )
            duplicate = duplicates.lookup_result(session, workspace.id, lookup)
    else:
        with uow.pipeline():
            if check:
                duplicates.lock_values(session, workspace.id, [*emails, *phones])
            _write_new(uow, [contact])
            events.announce_created(uow, contact, type_key=applied.type_key, actor_id=actor_id)
        duplicate = (
            duplicates.find_duplicate(
                session, workspace.id, emails=emails, phones=phones, exclude_contact_ids=[contact.id]
            )
            if check
            else None
        )
    if duplicate is not None:
        raise duplicates.problem(duplicate)
    return contact, applied


def _build(
    session: Session,
    workspace: Workspace,
    values: Mapping[str, Any],
    actor: Caller | None,
    actor_id: str | None,
    known: CreateContext | None,
    enforce_required: bool,
) -> tuple[DraftContact, fields.Applied]:
    """A new contact (not written yet) with ``values`` checked and applied; the owner is the acting member
    unless ``values`` names one."""
    values = dict(values)
    if "owner_id" not in values and actor is not None:
        if known is not None:  # the actor's member row was read with the workspace (and is in the session)
            member = known.actor
            is_member = member is not None and member.workspace_id == workspace.id and member.active
        else:
            is_member = fields.active_member(session, workspace.id, actor.user_id) is not None
        values["owner_id"] = actor.user_id if is_member else None
    contact = DraftContact(workspace_id=workspace.id, created_by=rules.member_column(actor_id))
    applied = fields.apply(
        session, workspace, contact, values, creating=True, enforce_required=enforce_required, known=known
    )
    return contact, applied


@dataclass(frozen=True)
class NewContact:
    """One contact of a batch (an import's row): its fields, its status, and the row number errors name."""

    row: int
    values: Mapping[str, Any]
    status: str = ACTIVE


def insert_many(
    uow: UnitOfWork,
    known: CreateContext,
    batch: Sequence[NewContact],
    *,
    actor: Caller,
    claimed: dict[str, int],
    write: bool = True,
    via: str | None = None,
) -> tuple[list[DraftContact], dict[int, list[FieldError]]]:
    """``insert_new`` for many contacts in the caller's transaction: each one checked by the same field rules,
    the duplicate locks taken for all at once, one duplicate lookup for all, the rows written together and
    each contact's created event and history entry through ``events.announce_created``.

    A contact that fails its rules or duplicates another (or one earlier in the batch, or a value in
    ``claimed``: value -> row number, filled in here) is left out with its field errors, instead of failing
    the batch. ``write`` False (a dry run) checks everything and writes nothing.
    """
    session, workspace = uow.session, known.workspace
    built: list[tuple[NewContact, DraftContact, fields.Applied]] = []
    errors: dict[int, list[FieldError]] = {}
    for item in batch:
        try:
            contact, applied = _build(session, workspace, item.values, actor, actor.user_id, known, True)
        except InvalidInput as invalid:
            errors[item.row] = list(invalid.errors)
            continue
        contact.status = item.status
        built.append((item, contact, applied))
    if not workspace.allow_duplicates:
        built = _without_duplicates(session, workspace.id, built, claimed, errors, lock=write)
    contacts = [contact for _item, contact, _applied in built]
    if write and contacts:
        with uow.pipeline():
            _write_new(uow, contacts)
            for _item, contact, applied in built:
                events.announce_created(uow, contact, type_key=applied.type_key, actor_id=actor.user_id, via=via)
    return contacts, errors


def _without_duplicates(
    session: Session,
    workspace_id: str,
    built: list[tuple[NewContact, DraftContact, fields.Applied]],
    claimed: dict[str, int],
    errors: dict[int, list[FieldError]],
    *,
    lock: bool,
) -> list[tuple[NewContact, DraftContact, fields.Applied]]:
    """The contacts whose emails and phones no other contact uses (nor an earlier one of the batch), after
    taking the same locks as a single create, for all of them at once; the others get their errors."""
    emails = [e.address for _i, contact, _a in built for e in contact.emails]
    phones = [p.number for _i, contact, _a in built for p in contact.phones]
    if not emails and not phones:
        return built
    if lock:
        duplicates.lock_values(session, workspace_id, [*emails, *phones])
    taken = duplicates.find_duplicates(session, workspace_id, emails=emails, phones=phones)
    kept = []
    for item, contact, applied in built:
        found: list[FieldError] = []
        values = [("email", e.address) for e in contact.emails] + [("phone", p.number) for p in contact.phones]
        for field, value in values:
            if value in taken:
                found.append(duplicates.row_error(taken[value]))
            elif value in claimed:
                found.append(
                    FieldError(field, f"{field.capitalize()} {value} is already in row {claimed[value]}", "duplicate")
                )
        if found:
            errors[item.row] = found
            continue
        claimed.update(dict.fromkeys((value for _field, value in values), item.row))
        kept.append((item, contact, applied))
    return kept


_CHILD_ROWS = ((ContactEmail, "emails"), (ContactPhone, "phones"), (ContactTag, "tags"), (Interest, "interests"))


def _write_new(uow: UnitOfWork, contacts: Sequence[DraftContact]) -> None:
    """INSERT new contacts and their emails, phones, tags and interests: one multi-row INSERT per table
    (``UnitOfWork.insert``) of the drafts' plain values, each statement compiled once."""
    now = utcnow()
    rows = []
    for contact in contacts:
        contact.created_at = contact.updated_at = now
        rows.append(contact.row())
    uow.insert(Contact, rows)
    for model, collection in _CHILD_ROWS:
        rows = []
        for contact in contacts:
            for child in getattr(contact, collection):
                child.contact_id = contact.id
                if model is Interest:  # one clock reading each, as a flush gives them: their order
                    child.created_at = utcnow()
                rows.append(child.row())
        uow.insert(model, rows)


def create_record(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    values: Mapping[str, Any],
    actor: Caller | None = None,
) -> reads.Record:
    """Create a contact from the record's fields (see ``RECORD_FIELDS``); emits contacts.contact.created."""
    contact, type_key = _create_draft(uow, workspace_id=workspace_id, values=values, actor=actor)
    return reads.Record(contact, type_key)


def _create_draft(
    uow: UnitOfWork, *, workspace_id: str, values: Mapping[str, Any], actor: Caller | None
) -> tuple[DraftContact, str | None]:
    """``create_record``: the contact written, as the draft it was written from, and its type key."""
    with uow:
        actor_id, source_key = (actor.user_id if actor else None), values.get("source_key")
        if "color" in values:  # writes the workspace's recent colors: its own rows, in this session
            known = create_context(uow.session, workspace_id, actor_id, source_key)
        else:
            known = cached_create_context(uow, workspace_id, actor_id, source_key)
        contact, applied = insert_new(uow, known.workspace, values, actor=actor, known=known)
        uow.commit()
    return contact, applied.type_key


def create(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    actor: Caller | None = None,
) -> DraftContact:
    """Create a contact with a name and optionally an email and a phone; emits contacts.contact.created."""
    values: dict[str, Any] = {"name": name}
    if email:
        values["email"] = email
    if phone:
        values["phone"] = phone
    contact, _type_key = _create_draft(uow, workspace_id=workspace_id, values=values, actor=actor)
    return contact


def find_or_create_by_email(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    address: str,
    name: str = "",
    source_key: str = "",
    actor_id: str | None = None,
) -> tuple[reads.Record, bool]:
    """The oldest live contact with this address, or a new one (default type and source, no owner)."""
    normalized, error = rules.normalize_email(address)
    if error is not None or normalized is None:
        raise InvalidInput("not an email address", errors=[FieldError("address", error.message if error else "")])
    with uow:
        session = uow.session
        known = create_context(session, workspace_id, None, source_key or "default")
        workspace = known.workspace
        duplicates.lock_values(session, workspace.id, [normalized])  # two inbound mails at once create one contact
        found = reads.with_type_keys(session, reads.contacts_with_email(session, workspace_id, normalized).limit(1))
        if found:
            return found[0], False
        values = {
            "name": name.strip() or normalized.split("@", 1)[0],
            "emails": [normalized],
            "source_key": source_key or "default",
            "owner_id": None,
        }
        contact, applied = insert_new(
            uow, workspace, values, actor=None, enforce_required=False, known=known, created_by=actor_id
        )
        uow.commit()
    return reads.Record(contact, applied.type_key), True
