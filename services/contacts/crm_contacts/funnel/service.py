"""Use cases on contact types and their funnel stages; each one is one transaction."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from crm.events.v1 import contacts_pb2
from crm_contacts.funnel import rules
from crm_contacts.funnel.defaults import DEFAULT_TYPE
from crm_contacts.funnel.models import ContactType, Stage
from crm_contacts.record import history
from crm_contacts.record.models import Contact
from crm_events.contacts import FUNNEL_CHANGED
from crm_platform.db import UnitOfWork, get_in_workspace
from crm_platform.errors import Conflict, FieldError, InvalidInput
from crm_platform.ids import is_uuid, new_id

DEFAULT_FIRST_STAGE = "Contact"
TypeWithStages = tuple[ContactType, list[Stage]]


def stages_of(session: Session, type_id: str) -> list[Stage]:
    """The stages of a type in funnel order."""
    query = select(Stage).where(Stage.type_id == type_id).order_by(Stage.position, Stage.id)
    return list(session.scalars(query))


def _type_by_key_or_id(session: Session, workspace_id: str, key_or_id: str) -> ContactType | None:
    query = select(ContactType).where(ContactType.workspace_id == workspace_id)
    if is_uuid(key_or_id):
        query = query.where(ContactType.id == key_or_id)
    else:
        query = query.where(ContactType.key == key_or_id)
    return session.scalars(query).first()


def first_stage_id(type_id: Any) -> Any:
    """A correlated subquery: the id of the first stage (in funnel order) of the type ``type_id`` refers to."""
    first = aliased(Stage)
    return (
        select(first.id).where(first.type_id == type_id).order_by(first.position, first.id).limit(1).scalar_subquery()
    )


@functools.cache
def _default_type_and_stage_query() -> Any:
    """Built once, on first use: building the statement costs more CPU than running it."""
    return (
        select(ContactType, Stage)
        .outerjoin(Stage, Stage.id == first_stage_id(ContactType.id))
        .where(ContactType.workspace_id == bindparam("workspace_id"), ContactType.key == DEFAULT_TYPE)
    )


def default_type_and_stage(session: Session, workspace_id: str) -> tuple[ContactType | None, Stage | None]:
    """The workspace's default type ("contact") and its first stage, in one query; None where missing."""
    row = session.execute(_default_type_and_stage_query(), {"workspace_id": workspace_id}).first()
    return (row[0], row[1]) if row is not None else (None, None)


def resolve(
    session: Session, workspace_id: str, *, type_key_or_id: str | None = None, stage_id: str | None = None
) -> tuple[ContactType, Stage]:
    """The type and stage a contact goes to: the given ones, the stage's type, or "contact" and its first stage.

    Raises ``InvalidInput`` on field ``type`` for an unknown type and on ``stage_id`` for an unknown stage or a
    stage of another type.
    """
    stage: Stage | None = None
    if stage_id is not None:
        stage = session.get(Stage, stage_id) if is_uuid(stage_id) else None
        if stage is None or stage.workspace_id != workspace_id:
            raise InvalidInput("unknown stage", errors=[FieldError("stage_id", f"no stage {stage_id}", "unknown")])
    if type_key_or_id is not None:
        contact_type = _type_by_key_or_id(session, workspace_id, type_key_or_id)
        if contact_type is None:
            raise InvalidInput(
                "unknown contact type", errors=[FieldError("type", f"no contact type {type_key_or_id!r}", "unknown")]
            )
    elif stage is not None:
        contact_type = session.get(ContactType, stage.type_id)
    else:
        contact_type, stage = default_type_and_stage(session, workspace_id)
        if contact_type is not None and stage is None:
            raise InvalidInput("the type has no stages", errors=[FieldError("type", "the type has no stages")])
    if contact_type is None:  # a workspace without its seeded default type: data broken, say it plainly
        raise InvalidInput("unknown contact type", errors=[FieldError("type", "the workspace has no contact types")])
    if stage is None:
        stage = session.scalars(
            select(Stage).where(Stage.type_id == contact_type.id).order_by(Stage.position, Stage.id).limit(1)
        ).first()
        if stage is None:
            raise InvalidInput("the type has no stages", errors=[FieldError("type", "the type has no stages")])
    elif stage.type_id != contact_type.id:
        raise InvalidInput(
            "the stage is not of the contact's type",
            errors=[
                FieldError("stage_id", f"stage {stage.id} is not a stage of type {contact_type.key!r}", "mismatch")
            ],
        )
    return contact_type, stage


# --- use cases of the funnel's configuration --------------------------------------------------------------


def _types_with_stages(session: Session, workspace_id: str) -> list[TypeWithStages]:
    types = session.scalars(
        select(ContactType)
        .where(ContactType.workspace_id == workspace_id)
        .order_by(ContactType.position, ContactType.id)
    ).all()
    stages = session.scalars(
        select(Stage).where(Stage.workspace_id == workspace_id).order_by(Stage.position, Stage.id)
    ).all()
    by_type: dict[str, list[Stage]] = {contact_type.id: [] for contact_type in types}
    for stage in stages:
        by_type.setdefault(stage.type_id, []).append(stage)
    return [(contact_type, by_type[contact_type.id]) for contact_type in types]


def announce_funnel(uow: UnitOfWork, workspace_id: str, *, actor_id: str | None) -> None:
    """Emit contacts.funnel.changed with the workspace's funnel as it now is in ``uow``'s transaction: every
    type with its stages, names and positions, whole (a consumer replaces what it knew). Each write path of
    types and stages calls it, and so does workspace creation (the default funnel)."""
    uow.session.flush()
    funnel = contacts_pb2.FunnelChanged(actor_id=actor_id or "")
    for contact_type, stages in _types_with_stages(uow.session, workspace_id):
        funnel.types.append(
            contacts_pb2.FunnelType(
                id=contact_type.id,
                key=contact_type.key,
                name=contact_type.name,
                position=contact_type.position,
                stages=[contacts_pb2.FunnelStage(id=s.id, name=s.name, position=s.position) for s in stages],
            )
        )
    uow.emit(FUNNEL_CHANGED, funnel, workspace_id=workspace_id)


def list_types(uow: UnitOfWork, *, workspace_id: str) -> list[TypeWithStages]:
    """Every contact type of the workspace with its stages, both in order."""
    with uow:
        return _types_with_stages(uow.session, workspace_id)


def get_type(uow: UnitOfWork, *, workspace_id: str, type_id: str) -> TypeWithStages:
    """One contact type with its stages in order."""
    with uow:
        contact_type = _type(uow.session, workspace_id, type_id)
        return contact_type, stages_of(uow.session, contact_type.id)


def create_type(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    name: str,
    key: str | None = None,
    stages: Sequence[str] | None = None,
    actor_id: str | None = None,
) -> TypeWithStages:
    """Add a contact type; its key is the slug of its name unless given, and it starts with at least one stage."""
    clean_name, name_error = rules.clean_name(name)
    errors = [name_error] if name_error else []
    type_key = rules.slugify(key if key is not None else clean_name)
    if key is not None and type_key != key:
        errors.append(
            FieldError("key", f"use lower-case letters, digits and hyphens, e.g. {type_key!r}", "invalid_key")
        )
    elif not type_key and not name_error:
        errors.append(FieldError("key" if key is not None else "name", "needs at least one letter or digit", "invalid"))
    stage_names = list(stages) if stages else [DEFAULT_FIRST_STAGE]
    cleaned_stages = []
    for index, stage_name in enumerate(stage_names):
        cleaned, error = rules.clean_name(stage_name, field=f"stages.{index}")
        errors.extend([error] if error else [])
        cleaned_stages.append(cleaned)
    if errors:
        raise InvalidInput("the contact type has invalid fields", errors=errors)
    duplicate = rules.first_duplicate(cleaned_stages)
    if duplicate is not None:
        raise Conflict(
            f"two stages are named {duplicate!r}", errors=[FieldError("stages", "names repeat", "duplicate")]
        )
    with uow:
        taken = uow.session.scalars(
            select(ContactType.id).where(ContactType.workspace_id == workspace_id, ContactType.key == type_key)
        ).first()
        if taken is not None:
            raise Conflict(
                f"a contact type with key {type_key!r} already exists",
                errors=[FieldError("key", "already used by another type of the workspace", "taken")],
            )
        last = uow.session.scalar(
            select(func.max(ContactType.position)).where(ContactType.workspace_id == workspace_id)
        )
        contact_type = ContactType(
            id=new_id(),
            workspace_id=workspace_id,
            key=type_key,
            name=clean_name,
            position=(last if last is not None else -1) + 1,
            builtin=False,
        )
        uow.session.add(contact_type)
        uow.session.flush()
        created = [
            Stage(id=new_id(), workspace_id=workspace_id, type_id=contact_type.id, name=stage_name, position=position)
            for position, stage_name in enumerate(cleaned_stages)
        ]
        uow.session.add_all(created)
        _commit(uow, workspace_id, actor_id=actor_id, what="contact type")
        return contact_type, created


def rename_type(
    uow: UnitOfWork, *, workspace_id: str, type_id: str, name: str, actor_id: str | None = None
) -> TypeWithStages:
    """Rename a contact type; its key (what contacts and integrations refer to) stays."""
    clean_name, error = rules.clean_name(name)
    if error:
        raise InvalidInput("invalid name", errors=[error])
    with uow:
        contact_type = _type(uow.session, workspace_id, type_id)
        contact_type.name = clean_name
        announce_funnel(uow, workspace_id, actor_id=actor_id)
        uow.commit()
        return contact_type, stages_of(uow.session, contact_type.id)


def delete_type(uow: UnitOfWork, *, workspace_id: str, type_id: str, actor_id: str) -> None:
    """Delete a custom type nobody uses; deleted contacts of it move to the default type's first stage."""
    with uow:
        contact_type = _type(uow.session, workspace_id, type_id)
        if contact_type.builtin:
            raise Conflict(f"built-in type {contact_type.key!r} cannot be deleted")
        in_use = _count_live(uow.session, workspace_id, Contact.type_id == contact_type.id)
        if in_use:
            raise Conflict(
                f"{in_use} contact{'s are' if in_use != 1 else ' is'} of type {contact_type.name!r}; "
                "change their type first",
                extra={"contacts": in_use},
            )
        default_type, default_stage = resolve(uow.session, workspace_id)
        for contact in _deleted_contacts(uow.session, workspace_id, Contact.type_id == contact_type.id):
            _move(uow, contact, default_stage, actor_id=actor_id, reason="type deleted", to_type=default_type)
        uow.session.flush()
        for stage in stages_of(uow.session, contact_type.id):
            uow.session.delete(stage)
        uow.session.flush()
        uow.session.delete(contact_type)
        _commit(uow, workspace_id, actor_id=actor_id, what="contact type")


def add_stage(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    type_id: str,
    name: str,
    position: int | None = None,
    actor_id: str | None = None,
) -> Stage:
    """Add a stage to a type's funnel at ``position`` (0 is first), or at its end."""
    clean_name, error = rules.clean_name(name)
    if error:
        raise InvalidInput("invalid name", errors=[error])
    with uow:
        contact_type = _type(uow.session, workspace_id, type_id)
        stages = stages_of(uow.session, contact_type.id)
        _refuse_repeated_name(stages, clean_name)
        stage = Stage(id=new_id(), workspace_id=workspace_id, type_id=contact_type.id, name=clean_name)
        stages.insert(rules.insert_position(len(stages), position), stage)
        uow.session.add(stage)
        _renumber(stages)
        announce_funnel(uow, workspace_id, actor_id=actor_id)
        uow.commit()
        return stage


def rename_stage(uow: UnitOfWork, *, workspace_id: str, stage_id: str, name: str, actor_id: str | None = None) -> Stage:
    """Rename a stage; contacts in it stay in it."""
    clean_name, error = rules.clean_name(name)
    if error:
        raise InvalidInput("invalid name", errors=[error])
    with uow:
        stage = get_in_workspace(uow.session, Stage, stage_id, workspace_id=workspace_id, what="stage")
        _refuse_repeated_name([s for s in stages_of(uow.session, stage.type_id) if s.id != stage.id], clean_name)
        stage.name = clean_name
        announce_funnel(uow, workspace_id, actor_id=actor_id)
        uow.commit()
        return stage


def reorder_stages(
    uow: UnitOfWork, *, workspace_id: str, type_id: str, stage_ids: Sequence[str], actor_id: str | None = None
) -> TypeWithStages:
    """Put a type's stages in the given order, which must list each of them exactly once."""
    with uow:
        contact_type = _type(uow.session, workspace_id, type_id)
        stages = stages_of(uow.session, contact_type.id)
        error = rules.check_new_order([s.id for s in stages], stage_ids)
        if error:
            raise InvalidInput("the new order must list exactly the type's stages", errors=[error])
        by_id = {stage.id: stage for stage in stages}
        ordered = [by_id[stage_id] for stage_id in stage_ids]
        _renumber(ordered)
        announce_funnel(uow, workspace_id, actor_id=actor_id)
        uow.commit()
        return contact_type, ordered


def delete_stage(uow: UnitOfWork, *, workspace_id: str, stage_id: str, actor_id: str) -> None:
    """Delete a stage no contact is in; a type keeps at least one stage."""
    with uow:
        stage = get_in_workspace(uow.session, Stage, stage_id, workspace_id=workspace_id, what="stage")
        in_use = _count_live(uow.session, workspace_id, Contact.stage_id == stage.id)
        if in_use:
            raise Conflict(
                f"{in_use} contact{'s are' if in_use != 1 else ' is'} in stage {stage.name!r}; move them first",
                extra={"contacts": in_use},
            )
        remaining = [s for s in stages_of(uow.session, stage.type_id) if s.id != stage.id]
        if not remaining:
            raise Conflict("a contact type keeps at least one stage")
        # deleted contacts keep a valid stage, so restoring one puts it back in the funnel
        for contact in _deleted_contacts(uow.session, workspace_id, Contact.stage_id == stage.id):
            _move(uow, contact, remaining[0], actor_id=actor_id, reason="stage deleted")
        uow.session.flush()
        uow.session.delete(stage)
        _renumber(remaining)
        _commit(uow, workspace_id, actor_id=actor_id, what="stage")


def _type(session: Session, workspace_id: str, type_id: str) -> ContactType:
    return get_in_workspace(session, ContactType, type_id, workspace_id=workspace_id, what="contact type")


def _renumber(stages: Sequence[Stage]) -> None:
    for position, stage in enumerate(stages):
        stage.position = position


def _refuse_repeated_name(stages: Sequence[Stage], name: str) -> None:
    if rules.first_duplicate([s.name for s in stages] + [name]) is not None:
        raise Conflict(
            f"this type already has a stage named {name!r}",
            errors=[FieldError("name", "already used by another stage of the type", "taken")],
        )


def _count_live(session: Session, workspace_id: str, condition: ColumnElement[bool]) -> int:
    query = (
        select(func.count())
        .select_from(Contact)
        .where(Contact.workspace_id == workspace_id, condition, Contact.deleted_at.is_(None))
    )
    return session.scalar(query) or 0


def _deleted_contacts(session: Session, workspace_id: str, condition: ColumnElement[bool]) -> list[Contact]:
    query = select(Contact).where(
        Contact.workspace_id == workspace_id,
        condition,
        Contact.deleted_at.is_not(None),
    )
    return list(session.scalars(query))


def _move(
    uow: UnitOfWork,
    contact: Contact,
    stage: Stage,
    *,
    actor_id: str,
    reason: str,
    to_type: ContactType | None = None,
) -> None:
    data = {"from_stage_id": contact.stage_id, "to_stage_id": stage.id, "reason": reason}
    if to_type is not None:
        data.update({"from_type_id": contact.type_id, "to_type_id": to_type.id})
        contact.type_id = to_type.id
    contact.stage_id = stage.id
    history.record(
        uow,
        workspace_id=contact.workspace_id,
        contact_id=contact.id,
        kind="stage_changed",
        actor_id=actor_id,
        data=data,
    )


def _commit(uow: UnitOfWork, workspace_id: str, *, actor_id: str | None, what: str) -> None:
    """Announce the funnel as it now is and commit (the announcement's flush is where a concurrent write shows)."""
    try:
        announce_funnel(uow, workspace_id, actor_id=actor_id)
        uow.commit()
    except IntegrityError as exc:  # a concurrent write took the key or put a contact in what we delete
        raise Conflict(f"the {what} changed meanwhile; try again") from exc
