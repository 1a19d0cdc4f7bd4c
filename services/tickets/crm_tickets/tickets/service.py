"""Use cases on tickets; each one is one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from crm.events.v1 import tickets_pb2
from crm_events.tickets import TICKET_OPENED, TICKET_STATUS_CHANGED
from crm_platform.clients.contacts import ContactDirectory, require_visible_contact
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, get_in_workspace, utcnow
from crm_platform.ids import new_id
from crm_tickets.models import visibility
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
    uow.session.add(
        StatusChange(
            id=new_id(),
            workspace_id=ticket.workspace_id,
            ticket_id=ticket.id,
            from_status=move.from_status,
            to_status=move.to_status,
            actor_id=actor_id,
            reason=reason,
            changed_at=now,
        )
    )
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
        ),
        workspace_id=ticket.workspace_id,
    )
    return True


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
            subject=subject,
            status=rules.NEW,
            priority=priority,
            responsible_id=responsible_id,
            opened_by=caller.user_id,
            version=1,
            created_at=asked_at,
            updated_at=asked_at,
        )
        uow.session.add(ticket)
        uow.session.flush()
        if tags:
            uow.session.execute(
                insert(TicketTag), [{"workspace_id": workspace_id, "ticket_id": ticket.id, "tag": tag} for tag in tags]
            )
        uow.session.add(
            StatusChange(
                id=new_id(),
                workspace_id=workspace_id,
                ticket_id=ticket.id,
                from_status=None,
                to_status=rules.NEW,
                actor_id=caller.user_id,
                reason="opened",
                changed_at=asked_at,
            )
        )
        uow.emit(
            TICKET_OPENED,
            tickets_pb2.TicketOpened(
                ticket_id=ticket.id,
                contact_id=contact_id,
                subject=subject,
                opened_by=caller.user_id,
                number=ticket.number,
                status=ticket.status,
                priority=priority,
                responsible_id=responsible_id or "",
                channel=ticket.channel,
            ),
            workspace_id=workspace_id,
        )
        uow.commit()
    return ticket


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


def get(uow: UnitOfWork, *, caller: Caller, ticket_id: str) -> Ticket:
    """One ticket the caller may see."""
    with uow:
        return _get(uow, caller, ticket_id)


def list_page(
    uow: UnitOfWork, *, caller: Caller, limit: int, after_id: str | None, contact_id: str | None
) -> list[Ticket]:
    """A page of the tickets the caller may see, newest first; one row more than ``limit`` says a next page exists."""
    query = select(Ticket).where(Ticket.workspace_id == caller.workspace_id)
    if contact_id:
        query = query.where(Ticket.contact_id == contact_id)
    if after_id:
        query = query.where(Ticket.id < after_id)
    with uow:
        query = visibility.restrict(query, uow.session, caller, Ticket.contact_id)
        return list(uow.session.scalars(query.order_by(Ticket.id.desc()).limit(limit + 1)))


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
    uow.session.add(ticket)
    uow.session.flush()
    uow.session.add(
        StatusChange(
            id=new_id(),
            workspace_id=ticket.workspace_id,
            ticket_id=ticket.id,
            from_status=None,
            to_status=rules.NEW,
            actor_id=rules.SYSTEM,
            reason=f"follow-up of #{closed.number}",
            changed_at=now,
        )
    )
    uow.emit(
        TICKET_OPENED,
        tickets_pb2.TicketOpened(
            ticket_id=ticket.id,
            contact_id=ticket.contact_id,
            subject=ticket.subject,
            opened_by=rules.SYSTEM,
            number=ticket.number,
            status=ticket.status,
            priority=ticket.priority,
            responsible_id=ticket.responsible_id or "",
            channel=ticket.channel,
        ),
        workspace_id=ticket.workspace_id,
    )
    return ticket
