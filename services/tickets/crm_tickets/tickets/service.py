"""Use cases on tickets; each one is one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from crm.events.v1 import tickets_pb2
from crm_events.tickets import (
    TICKET_ASSIGNED,
    TICKET_MERGED,
    TICKET_OPENED,
    TICKET_PRIORITY_CHANGED,
    TICKET_STATUS_CHANGED,
)
from crm_platform.clients.contacts import ContactDirectory, require_visible_contact
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, get_in_workspace, utcnow
from crm_platform.errors import FieldError, InvalidInput, NotFound, phrase
from crm_platform.ids import new_id
from crm_platform.versioning import check_version
from crm_tickets.comments.models import Comment
from crm_tickets.models import visibility
from crm_tickets.sla import service as sla
from crm_tickets.tickets import rules
from crm_tickets.tickets.models import StatusChange, Ticket, TicketCounter, TicketTag


def next_number(session: Session, workspace_id: str) -> int:
    """The workspace's next ticket number, taken with one upsert (PostgreSQL and SQLite alike): concurrent
    openers queue on the counter's row, a rolled-back ticket leaves a gap, no number is handed out twice."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
    statement = (
        upsert(TicketCounter)
        .values(workspace_id=workspace_id, last_number=1)
        .on_conflict_do_update(
            index_elements=[TicketCounter.workspace_id], set_={"last_number": TicketCounter.last_number + 1}
        )
        .returning(TicketCounter.last_number)
    )
    return int(session.execute(statement).scalar_one())


def _record_change(
    uow: UnitOfWork, ticket: Ticket, from_status: str | None, *, actor_id: str, reason: str | None, at: datetime
) -> None:
    """The history row of the ticket's move from ``from_status`` (None: it was opened) to its status now."""
    uow.session.add(
        StatusChange(
            id=new_id(),
            workspace_id=ticket.workspace_id,
            ticket_id=ticket.id,
            from_status=from_status,
            to_status=ticket.status,
            actor_id=actor_id,
            reason=reason,
            changed_at=at,
        )
    )


def move_status(
    uow: UnitOfWork,
    ticket: Ticket,
    wanted: str,
    *,
    actor_id: str,
    reason: str | None = None,
    reopen: bool = False,
    now: datetime | None = None,
) -> bool:
    """Move a ticket (loaded in ``uow``'s open transaction) to ``wanted`` as ``rules.check_move`` allows:
    the status history row, the timestamps, the version and ``tickets.ticket.status_changed``. Every
    status change goes through here, whoever makes it (a member, a customer's reply, automation).
    False when the ticket already had that status (nothing recorded)."""
    move = rules.check_move(ticket.status, wanted, reopen=reopen)
    if not move.changes:
        return False
    now = now or utcnow()
    ticket.status = move.to_status
    for column, value in rules.timestamps_after(move, now).items():
        setattr(ticket, column, value)
    ticket.version += 1
    ticket.updated_at = now
    _record_change(uow, ticket, move.from_status, actor_id=actor_id, reason=reason, at=now)
    uow.emit(
        TICKET_STATUS_CHANGED,
        tickets_pb2.TicketStatusChanged(
            ticket_id=ticket.id,
            contact_id=ticket.contact_id,
            number=ticket.number,
            from_status=move.from_status,
            to_status=move.to_status,
            actor_id=actor_id,
            reason=reason or "",
            responsible_id=ticket.responsible_id or "",
            priority=ticket.priority,
            sla_outcomes=sla.outcomes(uow.session, ticket) if move.to_status in (rules.SOLVED, rules.CLOSED) else [],
        ),
        workspace_id=ticket.workspace_id,
    )
    return True


def tag_row(ticket: Ticket, tag: str) -> dict[str, Any]:
    """A tag of a ticket as its table holds it: with the ticket's creation time (the tag index's order)."""
    return {"workspace_id": ticket.workspace_id, "ticket_id": ticket.id, "tag": tag, "created_at": ticket.created_at}


def _record_opening(uow: UnitOfWork, ticket: Ticket, *, tags: Sequence[str], reason: str) -> None:
    """What opening a ticket writes, whoever opens it: the row, its tags, the first history row (from nothing to
    its status) and tickets.ticket.opened."""
    uow.session.add(ticket)
    uow.session.flush()
    if tags:
        uow.session.execute(
            insert(TicketTag),
            [tag_row(ticket, tag) for tag in tags],
        )
    _record_change(uow, ticket, None, actor_id=ticket.opened_by, reason=reason, at=ticket.created_at)
    uow.emit(
        TICKET_OPENED,
        tickets_pb2.TicketOpened(
            ticket_id=ticket.id,
            contact_id=ticket.contact_id,
            subject=ticket.subject,
            opened_by=ticket.opened_by,
            number=ticket.number,
            status=ticket.status,
            priority=ticket.priority,
            responsible_id=ticket.responsible_id or "",
            channel=ticket.channel,
        ),
        workspace_id=ticket.workspace_id,
    )


def open_ticket(
    uow: UnitOfWork,
    contacts: ContactDirectory,
    *,
    caller: Caller,
    subject: str,
    contact_id: str,
    priority: str = rules.NORMAL,
    responsible_id: str | None = None,
    tags: Sequence[str] = (),
) -> Ticket:
    """Open a ticket for a contact the caller may see; emits tickets.ticket.opened."""
    subject = rules.clean_subject(subject)
    priority = rules.check_priority(priority)
    tags = rules.clean_tags(tags)
    asked_at = utcnow()
    access = require_visible_contact(contacts, contact_id, what="ticket")
    card = contacts.get(contact_id)  # the snapshot: a deleted contact's tickets still say who they were for
    if responsible_id is not None:
        require_member(contacts, responsible_id)
    workspace_id = caller.workspace_id
    with uow:
        # What contacts just said is recorded with the ticket, so the opener sees it at once.
        visibility.record_owner(
            uow.session, workspace_id=workspace_id, contact_id=contact_id, owner_id=access.owner_id, as_of=asked_at
        )
        visibility.record_setting(
            uow.session, workspace_id=workspace_id, agents_see_all=access.agents_see_all, as_of=asked_at
        )
        ticket = Ticket(
            id=new_id(),
            workspace_id=workspace_id,
            number=next_number(uow.session, workspace_id),
            contact_id=contact_id,
            contact_name=card.name[:300] or None,
            contact_email=(card.email or "")[:320] or None,
            subject=subject,
            status=rules.NEW,
            priority=priority,
            responsible_id=responsible_id,
            opened_by=caller.user_id,
            channel="api",
            version=1,
            created_at=asked_at,
            updated_at=asked_at,
        )
        _record_opening(uow, ticket, tags=tags, reason="opened")
        uow.commit()
    return ticket


def require_member(contacts: ContactDirectory, member_id: str) -> None:
    """A responsible must be a member of the caller's workspace (asked of contacts, which owns members)."""
    if contacts.member(member_id) is None:
        raise InvalidInput(
            "the ticket has invalid fields",
            errors=[
                FieldError(
                    "responsible_id", phrase("no member {id} in this workspace", id=member_id[:100]), "unknown_member"
                )
            ],
        )


def _get(uow: UnitOfWork, caller: Caller, ticket_id: str) -> Ticket:
    """The ticket, if the caller may see its contact; otherwise not found, as for another workspace."""
    ticket = get_in_workspace(uow.session, Ticket, ticket_id, workspace_id=caller.workspace_id, what="ticket")
    visibility.require(uow.session, caller, ticket.contact_id, not_found=f"ticket {ticket_id} not found")
    return ticket


def get_visible(uow: UnitOfWork, caller: Caller, ticket_id: str) -> Ticket:
    """The ticket in ``uow``'s open transaction, if the caller may see its contact (for the other features
    of this service, e.g. comments); otherwise not found, as for another workspace."""
    return _get(uow, caller, ticket_id)


def get_for_update(uow: UnitOfWork, caller: Caller, ticket_id: str) -> Ticket:
    """As ``get_visible``, with the ticket's row locked until the transaction ends (PostgreSQL), for a
    feature that changes it (a comment moving its status and reply timestamps)."""
    ticket = _get(uow, caller, ticket_id)
    uow.session.refresh(ticket, with_for_update=True)
    return ticket


def get_in_workspace_for_update(uow: UnitOfWork, workspace_id: str, ticket_id: str) -> Ticket:
    """A ticket of the workspace, locked until the transaction ends, for what the system does on its own (a
    customer's reply by mail); no caller's visibility applies. NotFound for another workspace's id."""
    ticket = get_in_workspace(uow.session, Ticket, ticket_id, workspace_id=workspace_id, what="ticket")
    uow.session.refresh(ticket, with_for_update=True)
    return ticket


def open_followup(uow: UnitOfWork, closed: Ticket, *, now: datetime | None = None) -> Ticket:
    """A new ticket following up a closed one (its contact, subject and priority; ``followup_of_id`` links it),
    opened by the system in the caller's open transaction when a customer replies to a closed ticket and the
    workspace's automation says so; emits tickets.ticket.opened."""
    now = now or utcnow()
    ticket = Ticket(
        id=new_id(),
        workspace_id=closed.workspace_id,
        number=next_number(uow.session, closed.workspace_id),
        contact_id=closed.contact_id,
        contact_name=closed.contact_name,
        contact_email=closed.contact_email,
        subject=closed.subject,
        status=rules.NEW,
        priority=closed.priority,
        responsible_id=closed.responsible_id,
        opened_by=rules.SYSTEM,
        channel="email",
        followup_of_id=closed.id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    _record_opening(uow, ticket, tags=(), reason=f"follow-up of #{closed.number}")
    return ticket


# Changing a ticket ------------------------------------------------------------------------------------------
def _tags_of(session: Session, ticket: Ticket) -> list[str]:
    return list(
        session.scalars(
            select(TicketTag.tag)
            .where(TicketTag.workspace_id == ticket.workspace_id, TicketTag.ticket_id == ticket.id)
            .order_by(TicketTag.tag)
        )
    )


@dataclass(frozen=True)
class Shown:
    """A ticket with its tags, as the API shows it."""

    ticket: Ticket
    tags: list[str]


def get_shown(uow: UnitOfWork, *, caller: Caller, ticket_id: str) -> Shown:
    """One ticket the caller may see, with its tags."""
    with uow:
        ticket = _get(uow, caller, ticket_id)
        return Shown(ticket, _tags_of(uow.session, ticket))


def update(
    uow: UnitOfWork,
    contacts: ContactDirectory,
    *,
    caller: Caller,
    ticket_id: str,
    changes: Mapping[str, Any],
    if_match: str | None = None,
) -> Shown:
    """Change a ticket's subject, status (``reopen``, ``reason``), priority, responsible (None: unassign) or
    tags (replaced), in one transaction: the version once, tickets.ticket.status_changed (``move_status``),
    assigned and priority_changed. ``If-Match`` naming another version is a 412 before anything changes."""
    rules.check_change(changes)
    subject = rules.clean_subject(changes["subject"]) if "subject" in changes else None
    priority = rules.check_priority(changes["priority"]) if "priority" in changes else None
    tags = rules.clean_tags(changes["tags"]) if changes.get("tags") is not None else None
    responsible_given = "responsible_id" in changes
    responsible_id = changes.get("responsible_id") or None
    with uow:
        session = uow.session
        ticket = _get(uow, caller, ticket_id)
        check_version(ticket.version, if_match, what="ticket")
        now = utcnow()
        version_before = ticket.version
        changed = False
        if subject is not None and subject != ticket.subject:
            ticket.subject, changed = subject, True
        if priority is not None and priority != ticket.priority:
            before, ticket.priority, changed = ticket.priority, priority, True
            uow.emit(
                TICKET_PRIORITY_CHANGED,
                tickets_pb2.TicketPriorityChanged(
                    ticket_id=ticket.id,
                    contact_id=ticket.contact_id,
                    number=ticket.number,
                    from_priority=before,
                    to_priority=priority,
                    actor_id=caller.user_id,
                ),
                workspace_id=ticket.workspace_id,
            )
        if responsible_given and responsible_id != ticket.responsible_id:
            if responsible_id is not None:
                require_member(contacts, responsible_id)
            before_id, ticket.responsible_id, changed = ticket.responsible_id, responsible_id, True
            uow.emit(
                TICKET_ASSIGNED,
                tickets_pb2.TicketAssigned(
                    ticket_id=ticket.id,
                    contact_id=ticket.contact_id,
                    number=ticket.number,
                    from_responsible_id=before_id or "",
                    to_responsible_id=responsible_id or "",
                    actor_id=caller.user_id,
                ),
                workspace_id=ticket.workspace_id,
            )
        # the status last: its event tells the responsible and priority this same change gave the ticket
        if "status" in changes and changes["status"] is not None:
            changed |= move_status(
                uow,
                ticket,
                changes["status"],
                actor_id=caller.user_id,
                reason=changes.get("reason"),
                reopen=bool(changes.get("reopen")),
                now=now,
            )
        current_tags = _tags_of(session, ticket)
        if tags is not None and sorted(tags) != current_tags:
            session.execute(
                delete(TicketTag).where(TicketTag.workspace_id == ticket.workspace_id, TicketTag.ticket_id == ticket.id)
            )
            if tags:
                session.execute(
                    insert(TicketTag),
                    [tag_row(ticket, tag) for tag in tags],
                )
            current_tags, changed = sorted(tags), True
        if not changed:
            return Shown(ticket, current_tags)
        ticket.version = version_before + 1  # once per change, even when the status moved too
        ticket.updated_at = now
        uow.commit()
    return Shown(ticket, current_tags)


def history(uow: UnitOfWork, *, caller: Caller, ticket_id: str) -> list[StatusChange]:
    """A ticket's status changes, oldest first (at most MAX_HISTORY: a ticket's life is short)."""
    with uow:
        ticket = _get(uow, caller, ticket_id)
        return list(
            uow.session.scalars(
                select(StatusChange)
                .where(StatusChange.workspace_id == ticket.workspace_id, StatusChange.ticket_id == ticket.id)
                .order_by(StatusChange.changed_at, StatusChange.id)
                .limit(MAX_HISTORY)
            )
        )


MAX_HISTORY = 1000


def merge(uow: UnitOfWork, *, caller: Caller, ticket_id: str, into_ticket_id: str) -> Shown:
    """Merge a ticket into another of the workspace (any contact, as Zammad): it closes (reason "merged") with
    ``merged_into_id``, its comments move to the target, tickets.ticket.merged. Both must be visible."""
    with uow:
        session = uow.session
        source = _get(uow, caller, ticket_id)
        try:
            target = _get(uow, caller, into_ticket_id)
        except NotFound:
            raise NotFound(f"ticket {into_ticket_id} not found") from None
        rules.check_merge(
            source_id=source.id,
            source_merged_into=source.merged_into_id,
            target_id=target.id,
            target_status=target.status,
            target_merged_into=target.merged_into_id,
        )
        now = utcnow()
        # A ticket already closed stays so (no second move); any other closes now, as merged.
        if not move_status(uow, source, rules.CLOSED, actor_id=caller.user_id, reason=rules.MERGED_REASON, now=now):
            source.version += 1
            source.updated_at = now
        source.merged_into_id = target.id
        moved = session.execute(
            update_rows(Comment)
            .where(Comment.workspace_id == source.workspace_id, Comment.ticket_id == source.id)
            .values(ticket_id=target.id)
        ).rowcount  # type: ignore[attr-defined]
        target.version += 1
        target.updated_at = now
        uow.emit(
            TICKET_MERGED,
            tickets_pb2.TicketMerged(
                ticket_id=source.id,
                into_ticket_id=target.id,
                contact_id=source.contact_id,
                number=source.number,
                into_number=target.number,
                comments_moved=moved or 0,
                actor_id=caller.user_id,
            ),
            workspace_id=source.workspace_id,
        )
        uow.commit()
        return Shown(target, _tags_of(session, target))
