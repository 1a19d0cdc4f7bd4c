"""CSV export of a filter, streamed: keyset batches of ``BATCH_SIZE`` contacts, so memory stays flat at any size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from crm_contacts.bulk import csvio
from crm_contacts.customfields.models import CustomField
from crm_contacts.filters import query as sql
from crm_contacts.filters import service as filters
from crm_contacts.filters.rules import split_list
from crm_contacts.funnel.models import ContactType, Stage
from crm_contacts.members.models import Member
from crm_contacts.record.models import Contact, ContactEmail, ContactPhone, ContactTag
from crm_contacts.sources.models import Source
from crm_platform.context import Caller
from crm_platform.db import Database, UnitOfWork
from crm_platform.errors import FieldError, InvalidInput

BATCH_SIZE = 2_000
COLUMNS = (
    Contact.id,
    Contact.name,
    Contact.email,
    Contact.phone,
    Contact.type_id,
    Contact.stage_id,
    Contact.status,
    Contact.owner_id,
    Contact.source_id,
    Contact.stars,
    Contact.created_at,
    Contact.custom_fields,
)


@dataclass(frozen=True)
class ExportPlan:
    """Everything the stream needs, resolved before the first byte so a bad filter is still a 422."""

    workspace_id: str
    query: Select[Any]
    columns: list[str]
    types: dict[str, str]
    stages: dict[str, str]
    owners: dict[str, str]
    sources: dict[str, str]


def plan(uow: UnitOfWork, *, caller: Caller, params: Mapping[str, Any]) -> ExportPlan:
    """Check the filter and the chosen columns; read the names the rows will show (types, stages, members, ...)."""
    with uow:
        session = uow.session
        contact_filter = filters.resolve(session, caller, params)
        workspace_id = caller.workspace_id
        custom_keys = list(
            session.scalars(
                select(CustomField.key).where(CustomField.workspace_id == workspace_id).order_by(CustomField.position)
            )
        )
        chosen = split_list(str(params["fields"])) if params.get("fields") else None
        if chosen and (unknown := csvio.unknown_columns(custom_keys, chosen)):
            raise InvalidInput(
                "unknown export columns",
                errors=[FieldError("fields", f"unknown: {', '.join(unknown)}", "unknown_field")],
            )
        return ExportPlan(
            workspace_id=workspace_id,
            query=sql.contacts(session, caller, contact_filter, *COLUMNS),
            columns=csvio.export_columns(custom_keys, chosen),
            types=_names(session, ContactType.id, ContactType.key, ContactType.workspace_id == workspace_id),
            stages=_names(session, Stage.id, Stage.name, Stage.workspace_id == workspace_id),
            owners=_names(session, Member.id, Member.email, Member.workspace_id == workspace_id),
            sources={
                row.id: row.key or row.name_en
                for row in session.execute(
                    select(Source.id, Source.key, Source.name_en).where(Source.workspace_id == workspace_id)
                )
            },
        )


def count(database: Database, export: ExportPlan) -> int:
    with database.unit_of_work() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(export.query.subquery())) or 0)


def stream(database: Database, export: ExportPlan, progress: Callable[[int], None] | None = None) -> Iterator[str]:
    """The CSV text: the header, then one chunk per batch, read after the last id of the one before."""
    yield csvio.text_of([export.columns])
    with database.unit_of_work() as uow:
        session = uow.session
        if session.get_bind().dialect.name == "postgresql":
            # one snapshot for the whole export, however long it takes to stream
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        session.info["export_workspace"] = export.workspace_id
        after = ""
        while True:
            rows = session.execute(export.query.where(Contact.id > after).order_by(Contact.id).limit(BATCH_SIZE)).all()
            if not rows:
                break
            after = rows[-1].id
            yield csvio.text_of(_lines(session, export, rows))
            if progress:
                progress(len(rows))
            if len(rows) < BATCH_SIZE:
                break


def _lines(session: Session, export: ExportPlan, rows: list[Any]) -> list[list[str]]:
    ids = [row.id for row in rows]
    wanted = set(export.columns)
    emails = (
        _grouped(session, ContactEmail, ContactEmail.address, ids, ContactEmail.position)
        if ("emails" in wanted)
        else {}
    )
    phones = (
        _grouped(session, ContactPhone, ContactPhone.number, ids, ContactPhone.position) if ("phones" in wanted) else {}
    )
    tags = _grouped(session, ContactTag, ContactTag.tag, ids, ContactTag.tag) if "tags" in wanted else {}
    lines = []
    cell = csvio.cell
    columns = [(c.startswith("cf."), c[3:] if c.startswith("cf.") else c) for c in export.columns]
    for row in rows:
        values: dict[str, Any] = {
            "id": row.id,
            "name": row.name,
            "email": row.email,
            "phone": row.phone,
            "emails": emails.get(row.id, []),
            "phones": phones.get(row.id, []),
            "type": export.types.get(row.type_id or ""),
            "stage": export.stages.get(row.stage_id or ""),
            "status": row.status,
            "owner": export.owners.get(row.owner_id or "", row.owner_id),
            "source": export.sources.get(row.source_id or ""),
            "tags": tags.get(row.id, []),
            "stars": row.stars,
            "created_at": row.created_at.isoformat(),
        }
        custom = row.custom_fields or {}
        lines.append([cell(custom.get(key)) if is_custom else cell(values[key]) for is_custom, key in columns])
    return lines


def _grouped(session: Session, model: Any, value: Any, ids: list[str], order: Any) -> dict[str, list[str]]:
    """Values of a child table per contact of the batch, read by the batch's id range (ids come sorted).

    A range keeps the statement small and cached; ``IN`` with 2,000 parameters cost more than the rows.
    """
    wanted = set(ids)
    grouped: dict[str, list[str]] = defaultdict(list)
    query = (
        select(model.contact_id, value)
        .where(model.contact_id >= ids[0], model.contact_id <= ids[-1], model.workspace_id == bindparam("workspace"))
        .order_by(model.contact_id, order)
    )
    for contact_id, item in session.execute(query, {"workspace": session.info["export_workspace"]}):
        if contact_id in wanted:
            grouped[contact_id].append(item)
    return grouped


def _names(session: Session, key: Any, value: Any, *where: Any) -> dict[str, str]:
    return {row[0]: row[1] for row in session.execute(select(key, value).where(*where))}
