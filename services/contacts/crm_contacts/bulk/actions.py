"""A bulk action as the worker runs it: batches of contacts, each one unit of work with its events and history."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.events.v1 import contacts_pb2
from crm_contacts.bulk import rules
from crm_contacts.bulk.models import Job
from crm_contacts.bulk.service import caller_of, check_value_exists
from crm_contacts.filters import query as sql
from crm_contacts.filters import service as filters
from crm_contacts.filters.rules import ContactFilter
from crm_contacts.funnel.models import Stage
from crm_contacts.record import events, represent
from crm_contacts.record import rules as contact_rules
from crm_contacts.record.models import Contact, ContactTag
from crm_events.contacts import CONTACT_OWNER_CHANGED, CONTACT_STAGE_CHANGED, CONTACT_STATUS_CHANGED, CONTACT_UPDATED
from crm_platform.context import Caller
from crm_platform.db import Database, UnitOfWork, utcnow
from crm_platform.errors import DomainError

# which Contact attribute each action sets
ATTRIBUTE = {
    "set_owner": "owner_id",
    "set_stage": "stage_id",
    "set_status": "status",
    "set_color": "color",
    "set_emoji": "emoji",
    "set_source": "source_id",
}

Progress = Callable[[int, int | None], None]


def run_bulk_update(database: Database, job_id: str, progress: Progress | None = None) -> None:
    """Apply a queued bulk action to every selected contact the job's author may see, ``BATCH_SIZE`` at a time."""
    with database.unit_of_work() as uow:
        job = uow.session.get(Job, job_id)
        assert job is not None
        caller, params = caller_of(job), dict(job.params)
        check_value_exists(uow.session, job.workspace_id, params["action"], params["value"])
        selection = _selection(uow.session, caller, params)
        job.total = (
            len(params["ids"])
            if params["ids"] is not None
            else uow.session.scalar(select(func.count()).select_from(selection.subquery()))
        )
        total = job.total
        uow.commit()
    after = ""
    pending_ids = sorted(params["ids"]) if params["ids"] is not None else None
    while True:
        with database.unit_of_work() as uow:
            session = uow.session
            if pending_ids is not None:
                batch_ids, pending_ids = pending_ids[: rules.BATCH_SIZE], pending_ids[rules.BATCH_SIZE :]
                visible = set(session.scalars(_selection(session, caller, params).where(Contact.id.in_(batch_ids))))
                missing = [i for i in batch_ids if i not in visible]
                ids = [i for i in batch_ids if i in visible]
            else:
                ids = list(
                    session.scalars(
                        _selection(session, caller, params)
                        .where(Contact.id > after)
                        .order_by(Contact.id)
                        .limit(rules.BATCH_SIZE)
                    )
                )
                batch_ids, missing = ids, []
            if not batch_ids:
                break
            after = batch_ids[-1]
            job = session.get(Job, job_id)
            assert job is not None
            errors = list(job.errors or [])
            outcome = _apply(uow, caller, job_id, params["action"], params["value"], ids)
            for contact_id in missing:
                rules.keep_error(errors, {"contact_id": contact_id, "field": "id", "message": "contact not found"})
            for contact_id, message in outcome["errors"]:
                rules.keep_error(errors, {"contact_id": contact_id, "field": "value", "message": message})
            job.processed += len(batch_ids)
            job.heartbeat_at = utcnow()
            job.failed += len(missing) + len(outcome["errors"])
            job.succeeded += outcome["changed"] + outcome["unchanged"]
            job.errors = errors
            job.result = {
                "changed": int((job.result or {}).get("changed", 0)) + outcome["changed"],
                "unchanged": int((job.result or {}).get("unchanged", 0)) + outcome["unchanged"],
            }
            processed = job.processed
            uow.commit()
        if progress:
            progress(processed, total)
        if pending_ids is not None and not pending_ids:
            break
    with database.unit_of_work() as uow:
        job = uow.session.get(Job, job_id)
        assert job is not None
        job.state, job.finished_at = "done", utcnow()
        uow.commit()


def _selection(session: Session, caller: Caller, params: dict[str, Any]) -> Any:
    contact_filter = (
        filters.resolve(session, caller, params["filter"]) if params.get("filter") is not None else ContactFilter()
    )
    return sql.contacts(session, caller, contact_filter, Contact.id)


def _apply(uow: UnitOfWork, caller: Caller, job_id: str, action: str, value: Any, ids: Sequence[str]) -> dict[str, Any]:
    session = uow.session
    if not ids:
        return {"changed": 0, "unchanged": 0, "errors": []}
    contacts = list(session.scalars(select(Contact).where(Contact.id.in_(ids)).order_by(Contact.id)))
    type_keys = filters.type_keys_of(session, caller.workspace_id)
    stage_type = session.scalar(select(Stage.type_id).where(Stage.id == value)) if action == "set_stage" else None
    changed = unchanged = 0
    errors: list[tuple[str, str]] = []
    for contact in contacts:
        if action == "set_stage" and contact.type_id != stage_type:
            errors.append((contact.id, "the stage belongs to another contact type"))
            continue
        if action == "set_status" and contact.status != value:
            refusal = contact_rules.status_change_error(contact.status, value)
            if refusal:
                errors.append((contact.id, refusal))
                continue
        try:
            did_change = _change(session, contact, action, value)
        except DomainError as error:
            errors.append((contact.id, error.detail))
            continue
        if not did_change:
            unchanged += 1
            continue
        changed += 1
        contact.version += 1
        contact.updated_at = utcnow()
        _record(uow, caller, job_id, contact, action, did_change, type_keys.get(contact.type_id or ""))
    return {"changed": changed, "unchanged": unchanged, "errors": errors}


def _change(session: Session, contact: Contact, action: str, value: Any) -> tuple[Any, Any] | None:
    """Set the value on the contact; the (before, after) pair when something changed."""
    if action in ATTRIBUTE:
        before = getattr(contact, ATTRIBUTE[action])
        if before == value:
            return None
        setattr(contact, ATTRIBUTE[action], value)
        return before, value
    present = {t.tag for t in contact.tags}
    if action == "add_tags":
        added = [t for t in value if t not in present]
        for tag in added:
            contact.tags.append(ContactTag(tag=tag, workspace_id=contact.workspace_id))
        return (sorted(present), sorted(present | set(added))) if added else None
    removed = [t for t in contact.tags if t.tag in value]
    for tag_row in removed:
        contact.tags.remove(tag_row)
    return (sorted(present), sorted(present - set(value))) if removed else None


def _record(
    uow: UnitOfWork,
    caller: Caller,
    job_id: str,
    contact: Contact,
    action: str,
    change: tuple[Any, Any],
    type_key: str | None,
) -> None:
    """The events and history entries a single change of this kind writes, as the API's change writes them
    (``record.events``); each entry also names the bulk job."""
    before, after = change
    actor = caller.user_id
    field = ATTRIBUTE.get(action, "tags")
    job = {"bulk_job_id": job_id}

    if action == "set_status":  # like POST /v1/contacts/{id}/status: the status event and its history only
        events.announce(
            uow,
            contact,
            CONTACT_STATUS_CHANGED,
            events.status_changed(contact, change, type_key=type_key, actor_id=actor),
            kind="status_changed",
            actor_id=actor,
            data={"from": before, "to": after, **job},
        )
        return
    own_entry = action in ("set_owner", "set_stage")  # the owner and stage changes have entries of their own
    events.announce(
        uow,
        contact,
        CONTACT_UPDATED,
        contacts_pb2.ContactUpdated(
            contact_id=contact.id, changed_fields=[field], contact=represent.snapshot(contact, type_key), actor_id=actor
        ),
        kind=None if own_entry else "updated",
        actor_id=actor,
        data={"fields": [field], **job},
    )
    if action == "set_owner":
        events.announce(
            uow,
            contact,
            CONTACT_OWNER_CHANGED,
            events.owner_changed(contact, change, actor_id=actor),
            kind="owner_changed",
            actor_id=actor,
            data={"from": before, "to": after, **job},
        )
    elif action == "set_stage":
        events.announce(
            uow,
            contact,
            CONTACT_STAGE_CHANGED,
            events.stage_changed(contact, change, type_key=type_key, actor_id=actor),
            kind="stage_changed",
            actor_id=actor,
            data={"from": before, "to": after, "type": type_key, **job},
        )
