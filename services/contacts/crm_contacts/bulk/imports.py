"""A CSV import as the worker (or the CLI) runs it: rows read into the API's fields, created in batches.

Each batch of ``BATCH_SIZE`` rows is one unit of work through ``contacts.create.insert_many``, the API's
creation path (its field rules, duplicate locks and lookup, rows and created events with their history
entries), and the job's progress is committed with it: a crash loses no event, and a re-read of the job
shows exactly what was inserted. A row that fails a rule or duplicates a contact is a per-row error.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crm_contacts.bulk import csvio, rules
from crm_contacts.bulk.models import Job
from crm_contacts.bulk.rows import CustomFieldRule, Draft, Lookups, check_row, map_columns
from crm_contacts.bulk.service import caller_of
from crm_contacts.contacts import create
from crm_contacts.contacts.create import NewContact
from crm_contacts.customfields import service as custom_fields
from crm_contacts.customfields.models import CustomField
from crm_contacts.funnel.defaults import DEFAULT_TYPE
from crm_contacts.funnel.models import ContactType, Stage
from crm_contacts.members.models import Member
from crm_contacts.record.workspace import Workspace
from crm_contacts.sources.defaults import MANUAL_SOURCE
from crm_contacts.sources.models import Source
from crm_platform.context import Caller
from crm_platform.db import Database, utcnow
from crm_platform.errors import FieldError, InvalidInput

BATCH_SIZE = 1_000

Progress = Callable[[int, int | None], None]


@dataclass
class _Batch:
    rows: list[tuple[int, Draft | None, list[FieldError]]] = field(default_factory=list)


def run_import(database: Database, job_id: str, progress: Progress | None = None) -> None:
    """Check every row of the job's file and insert the good ones (or, in a dry run, only say what would happen)."""
    with database.unit_of_work() as uow:
        job = uow.session.get(Job, job_id)
        assert job is not None
        params, workspace_id = dict(job.params), job.workspace_id
        caller = caller_of(job)
        workspace = uow.session.get(Workspace, workspace_id)
        assert workspace is not None
        lookups = load_lookups(uow.session, workspace)
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
            claimed: dict[str, int] = {}  # emails and phones that earlier rows create -> their row

            def flush(batch: _Batch) -> None:
                _flush(database, job_id, workspace_id, caller, batch, claimed, dry_run, progress, total)

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


def load_lookups(session: Any, workspace: Workspace) -> Lookups:
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
    for member in session.scalars(select(Member).where(Member.workspace_id == workspace_id)):
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
    return lookups


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
    caller: Caller,
    batch: _Batch,
    claimed: dict[str, int],
    dry_run: bool,
    progress: Progress | None,
    total: int,
) -> None:
    if not batch.rows:
        return
    with database.unit_of_work() as uow:
        session = uow.session
        new = [NewContact(row, _values(d), d.status) for row, d, errors in batch.rows if d is not None and not errors]
        if new:
            known = create.create_context(session, workspace_id, caller.user_id, None)
            definitions = custom_fields.definitions(session, workspace_id) if known.has_custom_fields else []
            known = replace(known, custom_fields=definitions)
            held = _hold_lookups(session, workspace_id)
            created, refused = create.insert_many(
                uow, known, new, actor=caller, claimed=claimed, write=not dry_run, via="import"
            )
            del held
        else:
            created, refused = [], {}
        job = session.get(Job, job_id)
        assert job is not None
        kept = list(job.errors or [])
        for row, _draft, errors in batch.rows:
            for error in [*errors, *refused.get(row, [])]:
                rules.keep_error(kept, {"row": row, "field": error.field, "message": error.message})
        job.errors = kept
        job.processed += len(batch.rows)
        job.heartbeat_at = utcnow()
        job.succeeded += len(created)
        job.failed += len(batch.rows) - len(created)
        key = "would_create" if dry_run else "created"
        job.result = {**(job.result or {}), key: int((job.result or {}).get(key, 0)) + len(created)}
        processed = job.processed
        uow.commit()
    if progress:
        progress(processed, total)


def _values(draft: Draft) -> dict[str, Any]:
    """A checked row as the fields ``POST /v1/contacts`` takes; what the row leaves empty is left out."""
    values: dict[str, Any] = {
        "name": draft.name,
        "emails": draft.emails,
        "phones": draft.phones,
        "owner_id": draft.owner_id,
        "tags": draft.tags,
        "stars": draft.stars,
        "location": draft.location,
        "messengers": draft.messengers,
        "custom_fields": draft.custom_fields,
    }
    if draft.stage_id is not None:  # a stage of the row's type: the type comes with it, found in the session
        values["stage_id"] = draft.stage_id
    elif draft.type_id is not None:
        values["type"] = draft.type_id
    for name, value in (
        ("source_id", draft.source_id),
        ("language", draft.language),
        ("color", draft.color),
        ("emoji", draft.emoji),
    ):
        if value is not None:
            values[name] = value
    return values


def _hold_lookups(session: Any, workspace_id: str) -> list[Any]:
    """The workspace's types, stages, sources and members, read once per batch into the session: the rows'
    checks look each one up by id (``session.get``), which then finds it there instead of querying. The
    caller keeps the list until the batch is written: the session's identity map only holds weak references."""
    held: list[Any] = []
    for model in (ContactType, Stage, Source, Member):
        held.extend(session.scalars(select(model).where(model.workspace_id == workspace_id)))
    return held


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
