"""Use cases on tickets; each one is one transaction."""

from __future__ import annotations

from sqlalchemy import select

from crm.events.v1 import tickets_pb2
from crm_platform.clients.contacts import ContactDirectory, require_contact
from crm_platform.db import UnitOfWork, get_in_workspace
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.ids import new_id
from crm_tickets.tickets.models import Comment, Ticket

OPENED = "tickets.ticket.opened"
PUBLIC_COMMENT_ADDED = "tickets.comment.public_added"
PRIVATE_COMMENT_ADDED = "tickets.comment.private_added"


def open_ticket(
    uow: UnitOfWork, contacts: ContactDirectory, *, workspace_id: str, user_id: str, subject: str, contact_id: str
) -> Ticket:
    """Open a ticket for a contact of the workspace; emits tickets.ticket.opened."""
    subject = " ".join(subject.split())
    if not subject:
        raise InvalidInput(
            "the ticket has invalid fields", errors=[FieldError("subject", "must not be empty", "required")]
        )
    require_contact(contacts, contact_id, what="ticket")
    with uow:
        ticket = Ticket(
            id=new_id(), workspace_id=workspace_id, contact_id=contact_id, subject=subject, opened_by=user_id
        )
        uow.session.add(ticket)
        uow.emit(
            OPENED,
            tickets_pb2.TicketOpened(ticket_id=ticket.id, contact_id=contact_id, subject=subject, opened_by=user_id),
            workspace_id=workspace_id,
        )
        uow.commit()
    return ticket


def _get(uow: UnitOfWork, workspace_id: str, ticket_id: str) -> Ticket:
    return get_in_workspace(uow.session, Ticket, ticket_id, workspace_id=workspace_id, what="ticket")


def get(uow: UnitOfWork, *, workspace_id: str, ticket_id: str) -> Ticket:
    """One ticket of the workspace."""
    with uow:
        return _get(uow, workspace_id, ticket_id)


def list_page(
    uow: UnitOfWork, *, workspace_id: str, limit: int, after_id: str | None, contact_id: str | None
) -> list[Ticket]:
    """A page of the workspace's tickets, newest first; one row more than ``limit`` says a next page exists."""
    query = select(Ticket).where(Ticket.workspace_id == workspace_id)
    if contact_id:
        query = query.where(Ticket.contact_id == contact_id)
    if after_id:
        query = query.where(Ticket.id < after_id)
    with uow:
        return list(uow.session.scalars(query.order_by(Ticket.id.desc()).limit(limit + 1)))


def add_comment(
    uow: UnitOfWork, *, workspace_id: str, user_id: str, ticket_id: str, body: str, public: bool
) -> Comment:
    """Comment on a ticket: a public comment goes to the contact by email, a private note stays inside."""
    if not body.strip():
        raise InvalidInput(
            "the comment has invalid fields", errors=[FieldError("body", "must not be empty", "required")]
        )
    with uow:
        ticket = _get(uow, workspace_id, ticket_id)
        comment = Comment(
            id=new_id(), workspace_id=workspace_id, ticket_id=ticket.id, body=body, public=public, author_id=user_id
        )
        uow.session.add(comment)
        uow.emit(
            PUBLIC_COMMENT_ADDED if public else PRIVATE_COMMENT_ADDED,
            tickets_pb2.CommentAdded(
                ticket_id=ticket.id,
                comment_id=comment.id,
                contact_id=ticket.contact_id,
                ticket_subject=ticket.subject,
                body=body,
                author_id=user_id,
                public=public,
            ),
            workspace_id=workspace_id,
        )
        uow.commit()
    return comment


def list_comments(uow: UnitOfWork, *, workspace_id: str, ticket_id: str) -> list[Comment]:
    """The ticket's comments, oldest first."""
    with uow:
        ticket = _get(uow, workspace_id, ticket_id)
        query = select(Comment).where(Comment.workspace_id == workspace_id, Comment.ticket_id == ticket.id)
        return list(uow.session.scalars(query.order_by(Comment.id)))
