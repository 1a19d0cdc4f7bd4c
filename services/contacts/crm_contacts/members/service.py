"""Use cases on a workspace's team members; each public function is one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.events.v1 import contacts_pb2
from crm_contacts.members import rules
from crm_contacts.members.models import Member
from crm_contacts.record.rules import normalize_email
from crm_events import EventType
from crm_events.contacts import MEMBER_ADDED, MEMBER_UPDATED
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, get_in_workspace
from crm_platform.errors import Conflict, FieldError, InvalidInput
from crm_platform.ids import new_id


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields in their stored form; raises ``InvalidInput`` with every field error."""
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in fields.items():
        error: FieldError | None = None
        if value is None:
            error = FieldError(key, "must not be null", "required")
        elif key == "name":
            cleaned[key], error = rules.check_name(value)
        elif key == "email":
            email, error = normalize_email(value)
            cleaned[key] = email
        elif key == "role":
            cleaned[key], error = value, rules.check_role(value)
        elif key == "signature":
            cleaned[key], error = value, rules.check_signature(value)
        else:
            cleaned[key] = value
        if error is not None:
            errors.append(error)
    if errors:
        raise InvalidInput("the member has invalid fields", errors=errors)
    return cleaned


def _email_taken(session: Session, workspace_id: str, email: str, *, other_than: str | None = None) -> None:
    query = select(Member.id).where(Member.workspace_id == workspace_id, Member.email == email)
    if other_than is not None:
        query = query.where(Member.id != other_than)
    if session.scalars(query).first() is not None:
        raise Conflict(
            f"a member with email {email} already exists",
            errors=[FieldError("email", "already used by another member of the workspace", "taken")],
        )


def _active_admin_ids(session: Session, workspace_id: str) -> list[str]:
    query = select(Member.id).where(Member.workspace_id == workspace_id, Member.role == "admin", Member.active)
    return list(session.scalars(query))


def announce(
    uow: UnitOfWork, member: Member, event_type: EventType[contacts_pb2.MemberChanged], *, actor_id: str | None
) -> None:
    """Emit contacts.member.added or contacts.member.updated with the member as others may show them."""
    uow.emit(
        event_type,
        contacts_pb2.MemberChanged(
            member_id=member.id,
            name=member.name,
            email=member.email,
            role=member.role,
            active=member.active,
            actor_id=actor_id or "",
        ),
        workspace_id=member.workspace_id,
    )


def add(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    name: str,
    email: str,
    role: str,
    signature: str = "",
    actor_id: str | None = None,
) -> Member:
    """Add a member inside the caller's open transaction (workspace creation uses it for the first admin);
    emits contacts.member.added."""
    cleaned = _clean({"name": name, "email": email, "role": role, "signature": signature})
    _email_taken(uow.session, workspace_id, cleaned["email"])
    member = Member(id=new_id(), workspace_id=workspace_id, active=True, **cleaned)
    uow.session.add(member)
    uow.session.flush()
    announce(uow, member, MEMBER_ADDED, actor_id=actor_id)
    return member


def _commit(uow: UnitOfWork) -> None:
    try:
        uow.commit()
    except IntegrityError as exc:  # another request took the email between our check and the insert
        raise Conflict(
            "a member with this email already exists",
            errors=[FieldError("email", "already used by another member of the workspace", "taken")],
        ) from exc


def create(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    name: str,
    email: str,
    role: str,
    signature: str = "",
    actor_id: str | None = None,
) -> Member:
    """Add a member to the workspace; the email (lower-cased) is unique within it."""
    with uow:
        member = add(
            uow,
            workspace_id=workspace_id,
            name=name,
            email=email,
            role=role,
            signature=signature,
            actor_id=actor_id,
        )
        _commit(uow)
        return member


def get(uow: UnitOfWork, *, workspace_id: str, member_id: str) -> Member:
    """One member of the workspace, active or not; another workspace's member is not found."""
    with uow:
        return get_in_workspace(uow.session, Member, member_id, workspace_id=workspace_id, what="member")


def get_by_email(uow: UnitOfWork, *, workspace_id: str, email: str) -> Member | None:
    """The workspace's member with this email (any case), if any."""
    normalized, error = normalize_email(email)
    if error is not None:
        raise InvalidInput("invalid email", errors=[error])
    with uow:
        query = select(Member).where(Member.workspace_id == workspace_id, Member.email == normalized)
        return uow.session.scalars(query).first()


def list_page(
    uow: UnitOfWork, *, workspace_id: str, limit: int, after_id: str | None, active: bool | None = None
) -> list[Member]:
    """Up to ``limit + 1`` members in the order they were added, after the cursor's member."""
    query = select(Member).where(Member.workspace_id == workspace_id)
    if active is not None:
        query = query.where(Member.active == active)
    if after_id:
        query = query.where(Member.id > after_id)
    with uow:
        return list(uow.session.scalars(query.order_by(Member.id).limit(limit + 1)))


def list_active(uow: UnitOfWork, *, workspace_id: str) -> list[Member]:
    """Every active member of the workspace, in the order they were added."""
    query = select(Member).where(Member.workspace_id == workspace_id, Member.active).order_by(Member.id)
    with uow:
        return list(uow.session.scalars(query))


def update(uow: UnitOfWork, *, caller: Caller, member_id: str, changes: dict[str, Any]) -> Member:
    """Change a member: admins change anything, a member their own name and signature."""
    with uow:
        member = get_in_workspace(uow.session, Member, member_id, workspace_id=caller.workspace_id, what="member")
        rules.check_may_edit(caller, member.id, changes)
        cleaned = _clean(changes)
        if "email" in cleaned:
            _email_taken(uow.session, member.workspace_id, cleaned["email"], other_than=member.id)
        still_admin = cleaned.get("role", member.role) == "admin" and cleaned.get("active", member.active)
        if member.active and member.role == "admin" and not still_admin:
            _refuse_losing_last_admin(uow.session, member)
        if any(getattr(member, key) != value for key, value in cleaned.items()):
            for key, value in cleaned.items():
                setattr(member, key, value)
            announce(uow, member, MEMBER_UPDATED, actor_id=caller.user_id)
        _commit(uow)
        return member


def deactivate(uow: UnitOfWork, *, workspace_id: str, member_id: str, actor_id: str | None = None) -> Member:
    """Deactivate a member (the row stays, for the contacts and tasks it is named on); never the last admin."""
    with uow:
        member = get_in_workspace(uow.session, Member, member_id, workspace_id=workspace_id, what="member")
        if member.active and member.role == "admin":
            _refuse_losing_last_admin(uow.session, member)
        if member.active:
            member.active = False
            announce(uow, member, MEMBER_UPDATED, actor_id=actor_id)
        uow.commit()
        return member


def _refuse_losing_last_admin(session: Session, member: Member) -> None:
    admins = _active_admin_ids(session, member.workspace_id)
    if rules.leaves_no_admin(active_admin_ids=admins, member_id=member.id, still_admin=False):
        raise Conflict("the workspace must keep at least one active admin", extra={"member_id": member.id})
