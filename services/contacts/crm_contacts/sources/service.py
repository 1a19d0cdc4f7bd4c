"""Use cases on contact sources; each public function that takes a unit of work is one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.events.v1 import contacts_pb2
from crm_contacts.record.models import Contact
from crm_contacts.sources import rules
from crm_contacts.sources.defaults import MANUAL_SOURCE
from crm_contacts.sources.models import Source
from crm_events.contacts import SOURCES_CHANGED
from crm_platform.db import UnitOfWork, get_in_workspace
from crm_platform.errors import Conflict, FieldError, InvalidInput
from crm_platform.ids import is_uuid, new_id


def resolve(session: Session, workspace_id: str, *, source_id: str | None = None, key: str | None = None) -> Source:
    """The given source (by id, else by key), or the built-in "manual" one; unknown ones are ``InvalidInput``."""
    source: Source | None
    if source_id is not None:
        source = session.get(Source, source_id) if is_uuid(source_id) else None
        if source is None or source.workspace_id != workspace_id:
            raise InvalidInput("unknown source", errors=[FieldError("source_id", f"no source {source_id}", "unknown")])
        return source
    wanted = key or MANUAL_SOURCE
    source = session.scalars(select(Source).where(Source.workspace_id == workspace_id, Source.key == wanted)).first()
    if source is None:
        raise InvalidInput("unknown source", errors=[FieldError("source_id", f"no source {wanted!r}", "unknown")])
    return source


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in fields.items():
        error: FieldError | None = None
        if key in ("name_es", "name_en"):
            if value is None:
                error = FieldError(key, "must not be null", "required")
            else:
                cleaned[key], error = rules.check_name(value, field=key)
        elif key == "icon_url":
            cleaned[key], error = rules.check_icon_url(value) if value is not None else (None, None)
        if error is not None:
            errors.append(error)
    if errors:
        raise InvalidInput("the source has invalid fields", errors=errors)
    return cleaned


def _in_order(session: Session, workspace_id: str) -> list[Source]:
    query = select(Source).where(Source.workspace_id == workspace_id).order_by(Source.builtin.desc(), Source.id)
    return list(session.scalars(query))


def announce_sources(uow: UnitOfWork, workspace_id: str, *, actor_id: str | None) -> None:
    """Emit contacts.sources.changed with every source of the workspace as it now is in ``uow``'s transaction,
    both names each (a consumer replaces what it knew). Adding, renaming and deleting a source call it, and so
    does workspace creation (the built-in ones); an icon is not in it, so a new icon alone announces nothing."""
    uow.session.flush()
    uow.emit(
        SOURCES_CHANGED,
        contacts_pb2.SourcesChanged(
            sources=[
                contacts_pb2.SourceName(
                    id=source.id,
                    key=source.key or "",
                    name_es=source.name_es,
                    name_en=source.name_en,
                    builtin=source.builtin,
                )
                for source in _in_order(uow.session, workspace_id)
            ],
            actor_id=actor_id or "",
        ),
        workspace_id=workspace_id,
    )


def list_all(uow: UnitOfWork, *, workspace_id: str) -> list[Source]:
    """The workspace's sources: built-in ones first, then its own in the order they were added."""
    with uow:
        return _in_order(uow.session, workspace_id)


def get(uow: UnitOfWork, *, workspace_id: str, source_id: str) -> Source:
    """One source of the workspace (with its uploaded icon, if any)."""
    with uow:
        return get_in_workspace(uow.session, Source, source_id, workspace_id=workspace_id, what="source")


def create(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    name_es: str,
    name_en: str,
    icon_url: str | None = None,
    actor_id: str | None = None,
) -> Source:
    """Add a custom source, named in Spanish and English, with an optional icon URL."""
    cleaned = _clean({"name_es": name_es, "name_en": name_en, "icon_url": icon_url})
    with uow:
        source = Source(id=new_id(), workspace_id=workspace_id, key=None, builtin=False, **cleaned)
        uow.session.add(source)
        announce_sources(uow, workspace_id, actor_id=actor_id)
        uow.commit()
        return source


def update(
    uow: UnitOfWork, *, workspace_id: str, source_id: str, changes: dict[str, Any], actor_id: str | None = None
) -> Source:
    """Rename a custom source or change its icon URL (which replaces an uploaded icon); built-ins are fixed."""
    cleaned = _clean(changes)
    with uow:
        source = _custom(uow.session, workspace_id, source_id, "renamed")
        renamed = any(getattr(source, key) != cleaned[key] for key in ("name_es", "name_en") if key in cleaned)
        for key, value in cleaned.items():
            setattr(source, key, value)
        if cleaned.get("icon_url"):
            source.icon, source.icon_content_type = None, None
        if renamed:
            announce_sources(uow, workspace_id, actor_id=actor_id)
        uow.commit()
        return source


def set_icon(uow: UnitOfWork, *, workspace_id: str, source_id: str, data: bytes) -> Source:
    """Store an uploaded icon after checking, by its bytes alone, that it is a 22x22 image."""
    content_type, error = rules.check_icon(data)
    with uow:
        source = _custom(uow.session, workspace_id, source_id, "changed")
        if error is not None:
            raise InvalidInput("the icon is not acceptable", errors=[error])
        source.icon, source.icon_content_type, source.icon_url = data, content_type, None
        uow.commit()
        return source


def delete(uow: UnitOfWork, *, workspace_id: str, source_id: str, actor_id: str | None = None) -> None:
    """Delete a custom source no contact comes from (deleted contacts included: they may be restored)."""
    with uow:
        source = _custom(uow.session, workspace_id, source_id, "deleted")
        used = uow.session.scalar(
            select(func.count())
            .select_from(Contact)
            .where(Contact.workspace_id == workspace_id, Contact.source_id == source.id)
        )
        if used:
            raise Conflict(
                f"{used} contact{'s come' if used != 1 else ' comes'} from this source; change their source first",
                extra={"contacts": used},
            )
        uow.session.delete(source)
        try:
            announce_sources(uow, workspace_id, actor_id=actor_id)
            uow.commit()
        except IntegrityError as exc:  # a contact got this source meanwhile
            raise Conflict("contacts came from this source meanwhile; try again") from exc


def _custom(session: Session, workspace_id: str, source_id: str, verb: str) -> Source:
    source = get_in_workspace(session, Source, source_id, workspace_id=workspace_id, what="source")
    if source.builtin:
        raise Conflict(f"built-in sources cannot be {verb}", extra={"source_key": source.key})
    return source
