"""A contact's timeline as members read it and comment in it (features write entries through ``record.history``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.events.v1 import contacts_pb2
from crm_contacts.history import rules
from crm_contacts.members.models import Member
from crm_contacts.record.access import visible_contact
from crm_contacts.record.history import HistoryEntry, record
from crm_events.contacts import MEMBER_MENTIONED
from crm_platform import mentions
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork
from crm_platform.errors import FieldError, InvalidInput


def list_page(
    uow: UnitOfWork, *, caller: Caller, contact_id: str, kinds: Sequence[str], limit: int, after_id: str | None
) -> list[HistoryEntry]:
    """Up to ``limit + 1`` entries of a contact's timeline, newest first, after the cursor's entry."""
    with uow:
        visible_contact(uow.session, caller, contact_id)
        query = select(HistoryEntry).where(
            HistoryEntry.workspace_id == caller.workspace_id, HistoryEntry.contact_id == contact_id
        )
        if kinds:
            query = query.where(HistoryEntry.kind.in_(kinds))
        if after_id is not None:
            query = query.where(HistoryEntry.id < after_id)
        return list(uow.session.scalars(query.order_by(HistoryEntry.id.desc()).limit(limit + 1)))


def comment(uow: UnitOfWork, *, caller: Caller, contact_id: str, body: str) -> HistoryEntry:
    """Comment in the contact's timeline; each distinct active member mentioned gets contacts.member.mentioned."""
    text = body.strip()
    if not text:
        raise InvalidInput("the comment is empty", errors=[FieldError("body", "must not be empty", "required")])
    if len(text) > rules.MAX_COMMENT_CHARS:
        raise InvalidInput(
            "the comment is too long",
            errors=[FieldError("body", f"at most {rules.MAX_COMMENT_CHARS} characters", "too_long")],
        )
    mentioned = mentions.mentioned_ids(text)
    with uow:
        visible_contact(uow.session, caller, contact_id)
        _require_active_members(uow.session, caller.workspace_id, mentioned)
        entry = record(
            uow,
            workspace_id=caller.workspace_id,
            contact_id=contact_id,
            kind="comment",
            actor_id=caller.user_id,
            data={"body": text, "mentions": mentioned},
        )
        uow.session.flush()
        summary = rules.excerpt(text)
        for member_id in mentioned:
            event = contacts_pb2.MemberMentioned(
                member_id=member_id,
                contact_id=contact_id,
                comment_id=entry.id,
                author_id=caller.user_id,
                excerpt=summary,
            )
            uow.emit(MEMBER_MENTIONED, event, workspace_id=caller.workspace_id)
        uow.commit()
    return entry


def _require_active_members(session: Session, workspace_id: str, member_ids: Sequence[str]) -> None:
    if not member_ids:
        return
    query = select(Member.id).where(
        Member.workspace_id == workspace_id, Member.id.in_(member_ids), Member.active.is_(True)
    )
    known = set(session.scalars(query))
    unknown = [member_id for member_id in member_ids if member_id not in known]
    if unknown:
        raise InvalidInput(
            "a comment can only mention active members of the workspace",
            errors=[FieldError("body", f"not an active member: {', '.join(unknown)}", "unknown_member")],
        )
