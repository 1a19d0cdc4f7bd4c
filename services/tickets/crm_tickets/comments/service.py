"""Use cases on a ticket's comments; each one is one transaction."""

from __future__ import annotations

from sqlalchemy import select

from crm.events.v1 import tickets_pb2
from crm_events.tickets import COMMENT_PRIVATE_ADDED, COMMENT_PUBLIC_ADDED
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork
from crm_platform.ids import new_id
from crm_tickets.comments import rules
from crm_tickets.comments.models import Comment
from crm_tickets.tickets import service as tickets


def add_comment(uow: UnitOfWork, *, caller: Caller, ticket_id: str, body: str, public: bool) -> Comment:
    """Comment on a ticket: a public comment goes to the contact by email, a private note stays inside."""
    rules.check_comment_body(body)
    workspace_id = caller.workspace_id
    with uow:
        ticket = tickets.get_for_update(uow, caller, ticket_id)
        comment = Comment(
            id=new_id(),
            workspace_id=workspace_id,
            ticket_id=ticket.id,
            body=body,
            public=public,
            author_id=caller.user_id,
        )
        uow.session.add(comment)
        uow.emit(
            COMMENT_PUBLIC_ADDED if public else COMMENT_PRIVATE_ADDED,
            tickets_pb2.CommentAdded(
                ticket_id=ticket.id,
                comment_id=comment.id,
                contact_id=ticket.contact_id,
                ticket_subject=ticket.subject,
                body=body,
                author_id=caller.user_id,
                public=public,
                ticket_number=ticket.number,
            ),
            workspace_id=workspace_id,
        )
        uow.commit()
    return comment


def list_comments(
    uow: UnitOfWork, *, caller: Caller, ticket_id: str, limit: int, after_id: str | None
) -> list[Comment]:
    """A page of the comments of a ticket the caller may see, oldest first; one row more than ``limit`` says a
    next page exists."""
    with uow:
        ticket = tickets.get_visible(uow, caller, ticket_id)
        query = select(Comment).where(Comment.workspace_id == caller.workspace_id, Comment.ticket_id == ticket.id)
        if after_id:
            query = query.where(Comment.id > after_id)
        return list(uow.session.scalars(query.order_by(Comment.id).limit(limit + 1)))
