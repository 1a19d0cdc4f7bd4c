"""A CSV import as the worker (or the CLI) runs it: rows checked like single creates, inserted in batches.

Each batch of ``BATCH_SIZE`` rows is one unit of work: its contacts, emails, phones, tags, their
``contacts.contact.created`` events and the job's progress are committed together, so a crash loses no
event and a re-read of the job shows exactly what was inserted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, insert, select

from crm.events.v1 import contacts_pb2
from crm_contacts.bulk import csvio, rules
from crm_contacts.bulk.models import Job
from crm_contacts.bulk.rows import CustomFieldRule, Draft, Lookups, check_row, map_columns
from crm_contacts.bulk.service import caller_of
from crm_contacts.customfields.models import CustomField
from crm_contacts.funnel.defaults import DEFAULT_TYPE
from crm_contacts.funnel.models import ContactType, Stage
from crm_contacts.members.models import Member
from crm_contacts.record.history import HistoryEntry
from crm_contacts.record.models import Contact, ContactEmail, ContactPhone, ContactTag
from crm_contacts.record.workspace import Workspace
from crm_contacts.sources.defaults import MANUAL_SOURCE
from crm_contacts.sources.models import Source
from crm_platform import events
from crm_platform.db import Database, UnitOfWork, utcnow
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.ids import new_id

CREATED = "contacts.contact.created"
BATCH_SIZE = 1_000

Progress = Callable[[int, int | None], None]


@dataclass
class _Batch:
    rows: list[tuple[int, Draft | None, list[FieldError]]] = field(default_factory=list)


@dataclass
class _Seen:
    """Addresses and numbers that earlier rows of the file will create, with the row number of each."""

    emails: dict[str, int] = field(default_factory=dict)
    phones: dict[str, int] = field(default_factory=dict)


def run_import(database: Database, job_id: str, progress: Progress | None = None) -> None:
    """Check every row of the job's file and insert the good ones (or, in a dry run, only say what would happen)."""
    with database.unit_of_work() as uow:
        job = uow.session.get(Job, job_id)
        assert job is not None
        params, workspace_id = dict(job.params), job.workspace_id
        caller = caller_of(job)
        workspace = uow.session.get(Workspace, workspace_id)
        assert workspace is not None
        allow_duplicates = workspace.allow_duplicates
        lookups, member_names = load_lookups(uow.session, workspace)
        lookups.default_owner_id = lookups.members.get(caller.user_id)
    path = Path(params["path"])
    dry_run = bool(params.get("dry_run"))
    try:
        total = csvio.count_records(path)
        with path.open(newline="", encoding="utf-8-sig") as handle:
            records = csvio.records(handle)
            try:
                header = next(records)[1]
            except StopIteration:
                raise InvalidInput(
                    "the file is empty", errors=[FieldError("file", "no header row", "required")]
                ) from None
            columns = map_columns(header, params.get("mapping") or None, list(lookups.custom_fields))
            _set_total(database, job_id, total)
            seen = _Seen()
            type_keys = lookups.type_keys

            def flush(batch: _Batch) -> None:
                _flush(
                    database,
                    job_id,
                    workspace_id,
                    caller.user_id,
                    batch,
                    seen,
                    allow_duplicates,
                    member_names,
                    type_keys,
                    dry_run,
                    progress,
                    total,
                )

            batch = _Batch()
            for row_number, record in records:
                values = {name: (record[pos] if pos < len(record) else "") for pos, name in columns.items()}
                draft, errors = check_row(values, lookups)
                batch.rows.append((row_number, draft, errors))
                if len(batch.rows) >= BATCH_SIZE:
                    flush(batch)
                    batch = _Batch()
            flush(batch)
    finally:
        if not params.get("keep_file"):
            _remove(path)
    with database.unit_of_work() as uow:
        job = uow.session.get(Job, job_id)
        assert job is not None
        job.state, job.finished_at = "done", utcnow()
        job.result = {**(job.result or {}), "dry_run": dry_run}
        uow.commit()


def load_lookups(session: Any, workspace: Workspace) -> tuple[Lookups, dict[str, str]]:
    """Types, stages, active members, sources and custom fields of the workspace, keyed as rows name them."""
    workspace_id = workspace.id
    types = list(session.scalars(select(ContactType).where(ContactType.workspace_id == workspace_id)))
    lookups = Lookups(
        region=workspace.default_region,
        default_type_id=next((t.id for t in types if t.key == DEFAULT_TYPE), types[0].id if types else None),
    )
    for contact_type in types:
        lookups.types[contact_type.id] = contact_type.id
        lookups.type_keys[contact_type.id] = contact_type.key
        lookups.types[contact_type.key.lower()] = contact_type.id
        lookups.types.setdefault(contact_type.name.lower(), contact_type.id)
    for stage in session.scalars(
        select(Stage).where(Stage.workspace_id == workspace_id).order_by(Stage.type_id, Stage.position)
    ):
        lookups.first_stage.setdefault(stage.type_id, stage.id)
        named = lookups.stages.setdefault(stage.type_id, {})
        named[stage.id] = stage.id
        named.setdefault(stage.name.lower(), stage.id)
    member_names: dict[str, str] = {}
    for member in session.scalars(select(Member).where(Member.workspace_id == workspace_id)):
        member_names[member.id] = member.name
        if member.active:
            lookups.members[member.id] = member.id
            lookups.members[member.email.lower()] = member.id
    for source in session.scalars(select(Source).where(Source.workspace_id == workspace_id)):
        lookups.sources[source.id] = source.id
        if source.key:
            lookups.sources[source.key.lower()] = source.id
        lookups.sources.setdefault(source.name_en.lower(), source.id)
        lookups.sources.setdefault(source.name_es.lower(), source.id)
    for custom in session.scalars(select(CustomField).where(CustomField.workspace_id == workspace_id)):
        lookups.custom_fields[custom.key] = CustomFieldRule(
            custom.key, custom.kind, list(custom.options or []), custom.required
        )
    lookups.default_source_id = lookups.sources.get(MANUAL_SOURCE)
    return lookups, member_names


def _set_total(database: Database, job_id: str, total: int) -> None:
    with database.unit_of_work() as uow:
        job = uow.session.get(Job, job_id)
        assert job is not None
        job.total = total
        uow.commit()


def _flush(
    database: Database,
    job_id: str,
    workspace_id: str,
    actor_id: str,
    batch: _Batch,
    seen: _Seen,
    allow_duplicates: bool,
    member_names: dict[str, str],
    type_keys: dict[str, str],
    dry_run: bool,
    progress: Progress | None,
    total: int,
) -> None:
    if not batch.rows:
        return
    with database.unit_of_work() as uow:
        session = uow.session
        if not allow_duplicates:
            _refuse_duplicates(session, workspace_id, batch, seen, member_names)
        good = [(row, draft) for row, draft, errors in batch.rows if draft is not None and not errors]
        if not dry_run and good:
            _insert(uow, workspace_id, actor_id, [draft for _row, draft in good], type_keys)
        job = session.get(Job, job_id)
        assert job is not None
        kept = list(job.errors or [])
        for row, _draft, errors in batch.rows:
            for error in errors:
                rules.keep_error(kept, {"row": row, "field": error.field, "message": error.message})
        job.errors = kept
        job.processed += len(batch.rows)
        job.heartbeat_at = utcnow()
        job.succeeded += len(good)
        job.failed += len(batch.rows) - len(good)
        key = "would_create" if dry_run else "created"
        job.result = {**(job.result or {}), key: int((job.result or {}).get(key, 0)) + len(good)}
        processed = job.processed
        uow.commit()
    if progress:
        progress(processed, total)


def _refuse_duplicates(
    session: Any, workspace_id: str, batch: _Batch, seen: _Seen, member_names: dict[str, str]
) -> None:
    """With duplicates off, a row whose email or phone another contact (or an earlier row) has is an error."""
    emails = {e for _r, draft, errs in batch.rows if draft and not errs for e in draft.emails}
    phones = {p for _r, draft, errs in batch.rows if draft and not errs for p in draft.phones}
    taken_emails = _owners_of(session, workspace_id, ContactEmail.address, emails) if emails else {}
    taken_phones = _owners_of(session, workspace_id, ContactPhone.number, phones) if phones else {}
    for row, draft, errors in batch.rows:
        if draft is None or errors:
            continue
        for label, values, taken, earlier in (
            ("email", draft.emails, taken_emails, seen.emails),
            ("phone", draft.phones, taken_phones, seen.phones),
        ):
            for value in values:
                if value in taken:
                    contact_id, name, owner_id = taken[value]
                    owner = member_names.get(owner_id or "", "nobody")
                    errors.append(
                        FieldError(
                            label,
                            f"{label.capitalize()} {value} in use by: {name} ({contact_id}); Responsible: {owner}",
                            "duplicate",
                        )
                    )
                elif value in earlier:
                    errors.append(
                        FieldError(
                            label, f"{label.capitalize()} {value} is already in row {earlier[value]}", "duplicate"
                        )
                    )
        if not errors:
            seen.emails.update(dict.fromkeys(draft.emails, row))
            seen.phones.update(dict.fromkeys(draft.phones, row))


def _owners_of(
    session: Any, workspace_id: str, column: Any, values: set[str]
) -> dict[str, tuple[str, str, str | None]]:
    model = column.class_
    rows = session.execute(
        select(column, Contact.id, Contact.name, Contact.owner_id)
        .join(Contact, Contact.id == model.contact_id)
        .where(model.workspace_id == workspace_id, column.in_(sorted(values)), Contact.deleted_at.is_(None))
    )
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def _insert(uow: UnitOfWork, workspace_id: str, actor_id: str, drafts: list[Draft], type_keys: dict[str, str]) -> None:
    """Contacts, emails, phones and tags as multi-row inserts, and one created event per contact."""
    now = utcnow()
    contacts, emails, phones, tags, outbox, timeline = [], [], [], [], [], []
    producer = uow.database.service
    for draft in drafts:
        contact_id = new_id()
        contacts.append(
            {
                "id": contact_id,
                "workspace_id": workspace_id,
                "name": draft.name,
                "name_key": draft.name_key,
                "email": draft.emails[0] if draft.emails else None,
                "phone": draft.phones[0] if draft.phones else None,
                "type_id": draft.type_id,
                "stage_id": draft.stage_id,
                "status": draft.status,
                "stars": draft.stars,
                "color": draft.color,
                "emoji": draft.emoji,
                "owner_id": draft.owner_id,
                "source_id": draft.source_id,
                "language": draft.language,
                "location": draft.location,
                "messengers": draft.messengers,
                "custom_fields": draft.custom_fields,
                "blocked": False,
                "created_by": actor_id,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        email_rows = [
            {
                "id": new_id(),
                "workspace_id": workspace_id,
                "contact_id": contact_id,
                "address": address,
                "is_primary": position == 0,
                "position": position,
                "status": "active",
            }
            for position, address in enumerate(draft.emails)
        ]
        phone_rows = [
            {
                "id": new_id(),
                "workspace_id": workspace_id,
                "contact_id": contact_id,
                "number": number,
                "is_primary": position == 0,
                "position": position,
            }
            for position, number in enumerate(draft.phones)
        ]
        emails.extend(email_rows)
        phones.extend(phone_rows)
        tags.extend({"contact_id": contact_id, "tag": tag, "workspace_id": workspace_id} for tag in draft.tags)
        timeline.append(
            {
                "id": new_id(),
                "workspace_id": workspace_id,
                "contact_id": contact_id,
                "kind": "created",
                "actor_id": actor_id,
                "data": {"name": draft.name, "source_id": draft.source_id, "via": "import"},
                "created_at": now,
            }
        )
        type_key = type_keys.get(draft.type_id or "")
        outbox.append(
            _created_event(workspace_id, producer, contacts[-1], email_rows, phone_rows, draft.tags, type_key, now)
        )
    session = uow.session
    tables = (
        (Contact.__table__, contacts),
        (ContactEmail.__table__, emails),
        (ContactPhone.__table__, phones),
        (ContactTag.__table__, tags),
        (HistoryEntry.__table__, timeline),
        (uow.database.outbox, outbox),
    )
    if session.get_bind().dialect.name == "postgresql":
        # COPY inside the unit of work's transaction: a batch commits (or rolls back) with its job progress
        driver = session.connection().connection.driver_connection
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            for table, rows in tables:
                _copy(cursor, table, rows)
        return
    for table, rows in tables:  # SQLite: Core executemany, no ORM objects
        if rows:
            session.execute(insert(table), rows)


def _copy(cursor: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    names = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[n]) if n in json_columns else row[n] for n in names])


def _created_event(
    workspace_id: str,
    producer: str,
    row: dict[str, Any],
    email_rows: list[dict[str, Any]],
    phone_rows: list[dict[str, Any]],
    tags: list[str],
    type_key: str | None,
    now: Any,
) -> dict[str, Any]:
    """The outbox row of contacts.contact.created, as ``UnitOfWork.emit`` writes it (here many at once).

    The snapshot is built from the inserted values rather than through ``represent.snapshot`` on ORM objects:
    constructing those costs a millisecond a row, most of an import's time. A new contact is never deleted or
    blocked, so it is campaign-eligible unless imported as lost (``represent.campaign_eligible``).
    """
    snapshot = contacts_pb2.ContactSnapshot(
        id=row["id"],
        name=row["name"],
        type=type_key or "",
        stage_id=row["stage_id"] or "",
        status=row["status"],
        owner_id=row["owner_id"] or "",
        source_id=row["source_id"] or "",
        emails=[
            contacts_pb2.ContactEmail(address=e["address"], primary=e["is_primary"], status="active")
            for e in email_rows
        ],
        phones=[p["number"] for p in phone_rows],
        tags=sorted(tags),
        blocked=False,
        stars=row["stars"],
        campaign_eligible=row["status"] != "lost",
        language=row["language"] or "",
    )
    payload = contacts_pb2.ContactCreated(
        contact_id=row["id"], name=row["name"], email=row["email"] or "", phone=row["phone"] or "", contact=snapshot
    )
    payload.created_at.FromDatetime(now)
    outgoing = events.pack(CREATED, payload, workspace_id=workspace_id, producer=producer)
    return {
        "event_id": outgoing.event_id,
        "event_type": CREATED,
        "workspace_id": workspace_id,
        "body": outgoing.body,
        "created_at": now,
        "unroutable": False,
    }


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
