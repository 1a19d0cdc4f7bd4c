"""Merging duplicate contacts into one survivor: which value of each field wins, and the use case itself.

Everything attached to the merged contacts (emails, phones, tags, interests, notes, tasks, files, history)
moves to the survivor; the merged contacts are soft-deleted and point at it (``merged_into``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import update

from crm.events.v1 import contacts_pb2
from crm_contacts.contacts.reads import Record
from crm_contacts.files.models import ContactFile
from crm_contacts.funnel.models import ContactType
from crm_contacts.notes.models import Note
from crm_contacts.record import access, events, represent, rules
from crm_contacts.record.history import HistoryEntry
from crm_contacts.record.models import EMAIL_ACTIVE, EMAIL_INACTIVE, Contact
from crm_contacts.tasks.models import Task
from crm_events.contacts import CONTACT_MERGED
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, utcnow
from crm_platform.errors import FieldError, Forbidden, InvalidInput

# Fields whose winner can be chosen: the value is taken from the chosen contact. "type" and "stage_id" go
# together (a stage belongs to its type); "email" and "phone" choose whose primary stays primary.
SCALAR_FIELDS = (
    "name",
    "status",
    "owner_id",
    "source_id",
    "language",
    "location",
    "messengers",
    "custom_fields",
    "stars",
    "color",
    "emoji",
)
CHOOSABLE_FIELDS = (*SCALAR_FIELDS, "type", "stage_id", "email", "phone")


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def choose_values(
    values_by_contact: Mapping[str, Mapping[str, Any]],
    *,
    survivor_id: str,
    merged_ids: Sequence[str],
    fields: Mapping[str, str],
) -> tuple[dict[str, str], list[FieldError]]:
    """Whose value each field takes: ``{field: contact_id}``.

    A chosen field takes the chosen contact's value. Otherwise the survivor keeps its value, unless it is
    empty and a merged contact (in the order given) has one. ``type``/``stage_id`` always come together.
    """
    involved = [survivor_id, *merged_ids]
    errors = []
    for name, contact_id in fields.items():
        if name not in CHOOSABLE_FIELDS:
            errors.append(FieldError(f"fields.{name}", f"one of {', '.join(CHOOSABLE_FIELDS)}", "unknown_field"))
        elif contact_id not in involved:
            errors.append(FieldError(f"fields.{name}", "must be the survivor or one of merged_ids", "not_involved"))
    if errors:
        return {}, errors
    chosen: dict[str, str] = {}
    for name in (*SCALAR_FIELDS, "email", "phone"):
        if name in fields:
            chosen[name] = fields[name]
            continue
        survivor_value = values_by_contact[survivor_id].get(name)
        donor = next(
            (cid for cid in merged_ids if _empty(survivor_value) and not _empty(values_by_contact[cid].get(name))),
            survivor_id,
        )
        chosen[name] = donor
    funnel_choice = fields.get("stage_id") or fields.get("type")
    if fields.get("stage_id") and fields.get("type") and fields["stage_id"] != fields["type"]:
        errors.append(FieldError("fields.stage_id", "type and stage_id must come from the same contact", "mismatch"))
    chosen["type"] = chosen["stage_id"] = funnel_choice or survivor_id
    return chosen, errors


def _values(contact: Contact) -> dict[str, Any]:
    values = {name: getattr(contact, name) for name in SCALAR_FIELDS}
    values["email"], values["phone"] = represent.primary_email(contact), represent.primary_phone(contact)
    return values


def merge(
    uow: UnitOfWork, *, caller: Caller, survivor_id: str, merged_ids: Sequence[str], fields: Mapping[str, str]
) -> Record:
    """Merge contacts into the survivor (admins, or the owner of them all); emits contacts.contact.merged."""
    merged_ids = list(dict.fromkeys(merged_ids))
    if not merged_ids or survivor_id in merged_ids:
        raise InvalidInput(
            "name one or more contacts to merge into the survivor",
            errors=[FieldError("merged_ids", "one or more contacts other than the survivor", "invalid")],
        )
    with uow:
        session = uow.session
        survivor = access.visible_contact(session, caller, survivor_id)
        others = [access.visible_contact(session, caller, contact_id) for contact_id in merged_ids]
        if not caller.is_admin and any(c.owner_id != caller.user_id for c in (survivor, *others)):
            raise Forbidden("only admins may merge contacts they do not own")
        by_id = {c.id: c for c in (survivor, *others)}
        chosen, errors = choose_values(
            {c.id: _values(c) for c in by_id.values()}, survivor_id=survivor.id, merged_ids=merged_ids, fields=fields
        )
        if errors:
            raise InvalidInput("the merge has invalid fields", errors=errors)
        before = _comparable(survivor)
        primary_email = represent.primary_email(by_id[chosen["email"]])
        primary_phone = represent.primary_phone(by_id[chosen["phone"]])
        for name in SCALAR_FIELDS:
            value = getattr(by_id[chosen[name]], name)
            setattr(survivor, name, dict(value) if isinstance(value, dict) else value)
        survivor.name_key = rules.search_key(survivor.name)
        funnel_source = by_id[chosen["type"]]
        survivor.type_id, survivor.stage_id = funnel_source.type_id, funnel_source.stage_id
        # blocking is not chosen: if any of them was blocked, the survivor is (mail from them stays refused)
        survivor.blocked = survivor.blocked or any(c.blocked for c in others)

        for other in others:
            _move_reachability(survivor, other)
            _move_tags_and_interests(survivor, other)
            other.deleted_at, other.deleted_by = utcnow(), rules.member_column(caller.user_id)
            other.merged_into = survivor.id
            other.email = other.phone = None  # its addresses now belong to the survivor
            other.version += 1
        _set_primaries(survivor, primary_email, primary_phone)
        for model in (Note, Task, ContactFile, HistoryEntry):
            session.execute(
                update(model)
                .where(model.workspace_id == survivor.workspace_id, model.contact_id.in_(merged_ids))
                .values(contact_id=survivor.id)
                .execution_options(synchronize_session=False)
            )
        survivor.version += 1
        session.flush()
        events.announce(
            uow,
            survivor,
            CONTACT_MERGED,
            contacts_pb2.ContactsMerged(survivor_id=survivor.id, merged_ids=merged_ids, actor_id=caller.user_id),
            kind="merged",
            actor_id=caller.user_id,
            data={"merged": [{"id": c.id, "name": c.name} for c in others], "fields": dict(fields)},
        )
        contact_type = session.get(ContactType, survivor.type_id) if survivor.type_id else None
        type_key = contact_type.key if contact_type else None
        after = _comparable(survivor)
        changed = [name for name in after if after[name] != before[name]]
        if changed:
            # no ``updated`` entry: the ``merged`` entry tells what happened
            events.announce_updated(
                uow, survivor, changed, type_key=type_key, actor_id=caller.user_id, with_entry=False
            )
        if before["stage_id"] != after["stage_id"]:
            events.record_stage_change(
                uow, survivor, (before["stage_id"], after["stage_id"]), type_key=type_key, actor_id=caller.user_id
            )
        if before["owner_id"] != after["owner_id"]:
            events.record_owner_change(uow, survivor, (before["owner_id"], after["owner_id"]), actor_id=caller.user_id)
        if before["status"] != after["status"]:
            events.record_status_change(
                uow, survivor, (before["status"], after["status"]), type_key=type_key, actor_id=caller.user_id
            )
        uow.commit()
    return Record(survivor, type_key)


def _comparable(contact: Contact) -> dict[str, Any]:
    """The survivor's values before and after, to tell what the merge changed."""
    values = {name: getattr(contact, name) for name in SCALAR_FIELDS}
    values = {name: dict(v) if isinstance(v, dict) else v for name, v in values.items()}
    values.update(
        type=contact.type_id,
        stage_id=contact.stage_id,
        blocked=contact.blocked,
        emails=[(e.address, e.is_primary, e.status) for e in contact.emails],
        phones=[(p.number, p.is_primary) for p in contact.phones],
        tags=sorted(t.tag for t in contact.tags),
        interests=[i.id for i in contact.interests],
    )
    return values


def _move_reachability(survivor: Contact, other: Contact) -> None:
    """Emails and phones move to the survivor without duplicates; an inactive status travels with its address."""
    kept_emails = {e.address: e for e in survivor.emails}
    for row in list(other.emails):
        other.emails.remove(row)
        same = kept_emails.get(row.address)
        if same is None:
            row.is_primary, row.position = False, len(survivor.emails)
            survivor.emails.append(row)
            kept_emails[row.address] = row
        elif same.status == EMAIL_ACTIVE and row.status == EMAIL_INACTIVE:
            same.status, same.inactive_reason, same.inactive_since = (
                EMAIL_INACTIVE,
                row.inactive_reason,
                row.inactive_since,
            )
    kept_phones = {p.number for p in survivor.phones}
    for phone in list(other.phones):
        other.phones.remove(phone)
        if phone.number not in kept_phones:
            phone.is_primary, phone.position = False, len(survivor.phones)
            survivor.phones.append(phone)
            kept_phones.add(phone.number)


def _move_tags_and_interests(survivor: Contact, other: Contact) -> None:
    present = {t.tag for t in survivor.tags}
    for tag in list(other.tags):
        other.tags.remove(tag)
        if tag.tag not in present:
            survivor.tags.append(type(tag)(tag=tag.tag, workspace_id=tag.workspace_id))
            present.add(tag.tag)
    for interest in list(other.interests):
        other.interests.remove(interest)
        survivor.interests.append(interest)


def _set_primaries(survivor: Contact, email: str | None, phone: str | None) -> None:
    email = email if any(e.address == email for e in survivor.emails) else None
    email = email or next((e.address for e in survivor.emails), None)
    for row in survivor.emails:
        row.is_primary = row.address == email
    phone = phone if any(p.number == phone for p in survivor.phones) else None
    phone = phone or next((p.number for p in survivor.phones), None)
    for number in survivor.phones:
        number.is_primary = number.number == phone
    survivor.email, survivor.phone = email, phone
