"""Use cases on a ticket's comments; each one is one transaction.

A member's comment is public (mailed to the contact: ``tickets.comment.public_added``, what the mailer consumes)
or a private note (``tickets.comment.private_added``, which nothing outside the team consumes). The contact's
reply by mail (``mailer.inbound.received`` routed to a ticket) lands as a customer comment. The mailer's facts
about a public comment's mail (sent, suppressed, bounced) are kept on the comment as its delivery status."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from crm.events.v1 import mailer_pb2, tickets_pb2
from crm_events.tickets import COMMENT_PRIVATE_ADDED, COMMENT_PUBLIC_ADDED, MEMBER_MENTIONED, TICKET_CUSTOMER_REPLIED
from crm_platform import mentions
from crm_platform.clients.contacts import ContactDirectory
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, utcnow
from crm_platform.errors import FieldError, InvalidInput, NotFound
from crm_platform.ids import new_id
from crm_tickets.automation import rules as automation
from crm_tickets.automation.service import policy_for
from crm_tickets.comments import rules
from crm_tickets.comments.models import Comment
from crm_tickets.tickets import service as tickets
from crm_tickets.tickets.models import Ticket
from crm_tickets.tickets.rules import CLOSED, SYSTEM

log = logging.getLogger(__name__)
MAX_MENTIONS = 20


def _check_mentions(contacts: ContactDirectory, text: str) -> list[str]:
    """The distinct members ``text`` mentions, each one a member of the workspace (else the body is refused)."""
    wanted = mentions.mentioned_ids(text)
    if len(wanted) > MAX_MENTIONS:
        raise InvalidInput(
            "the comment has invalid fields",
            errors=[FieldError("body", f"at most {MAX_MENTIONS} members mentioned", "too_many_mentions")],
        )
    unknown = [member_id for member_id in wanted if contacts.member(member_id) is None]
    if unknown:
        raise InvalidInput(
            "the comment has invalid fields",
            errors=[FieldError("body", f"mentions no member of the workspace: {', '.join(unknown)}", "unknown_member")],
        )
    return wanted


def add_comment(
    uow: UnitOfWork,
    contacts: ContactDirectory,
    *,
    caller: Caller,
    ticket_id: str,
    body: str | None,
    public: bool,
    body_html: str | None = None,
    with_signature: bool = False,
    now: datetime | None = None,
) -> Comment:
    """Comment on a ticket. A public comment goes to the contact by email (queued until the mailer says more),
    sets the ticket's first response and last agent reply, and moves its status as the workspace's automation
    says (``after_agent_public_reply``); a private note stays inside. Each member mentioned gets
    ``tickets.member.mentioned``."""
    text, clean_html = rules.clean_body(body, body_html)
    mentioned = _check_mentions(contacts, text) if "@[" in text else []
    workspace_id = caller.workspace_id
    now = now or utcnow()
    with uow:
        ticket = tickets.get_for_update(uow, caller, ticket_id)
        comment = Comment(
            id=new_id(),
            workspace_id=workspace_id,
            ticket_id=ticket.id,
            body=text,
            body_html=clean_html,
            public=public,
            author_id=caller.user_id,
            author_kind=rules.MEMBER,
            with_signature=with_signature and public,
            delivery_status=rules.QUEUED if public else None,
            created_at=now,
        )
        uow.session.add(comment)
        event_id = uow.emit(
            COMMENT_PUBLIC_ADDED if public else COMMENT_PRIVATE_ADDED,
            tickets_pb2.CommentAdded(
                ticket_id=ticket.id,
                comment_id=comment.id,
                contact_id=ticket.contact_id,
                ticket_subject=ticket.subject,
                body=text,
                author_id=caller.user_id,
                public=public,
                ticket_number=ticket.number,
                body_html=clean_html or "",
                with_signature=comment.with_signature,
                # Only members write comments through here; a customer's mailed reply is a customer comment
                # with tickets.ticket.customer_replied, and automation writes none (it only moves statuses).
                author_type=rules.MEMBER,
                automatic=False,
                responsible_id=ticket.responsible_id or "",
            ),
            workspace_id=workspace_id,
        )
        if public:
            comment.mail_event_id = event_id  # the mailer's source_event_id: its facts find the comment by it
            ticket.first_response_at = ticket.first_response_at or now
            ticket.last_agent_reply_at = now
            ticket.updated_at = now
            wanted = automation.after_agent_public_reply(ticket.status, policy=policy_for(uow.session, workspace_id))
            if wanted is None or not tickets.move_status(
                uow, ticket, wanted, actor_id=SYSTEM, reason="agent_reply", now=now
            ):
                ticket.version += 1
        for member_id in mentioned:
            uow.emit(
                MEMBER_MENTIONED,
                tickets_pb2.TicketMemberMentioned(
                    ticket_id=ticket.id,
                    comment_id=comment.id,
                    member_id=member_id,
                    author_id=caller.user_id,
                    number=ticket.number,
                    public=public,
                    excerpt=rules.excerpt(mentions.plain_text(text)),
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


def append_customer_reply(
    uow: UnitOfWork, *, workspace_id: str, event_id: str, received: mailer_pb2.InboundReceived, now: datetime
) -> Comment | None:
    """The contact's mail (routed to a ticket by the mailer) as a customer comment, in the consumer's open
    transaction: the ticket's last customer reply, its status as the workspace's automation says
    (``after_customer_reply``: reopen, or a follow-up ticket linking the closed one), and
    ``tickets.ticket.customer_replied``. Once per event (a redelivery finds its comment); None when the ticket is
    not there (deleted, or another workspace's id)."""
    if uow.session.scalar(select(Comment.id).where(Comment.source_event_id == event_id)) is not None:
        return None
    try:
        ticket = tickets.get_in_workspace_for_update(uow, workspace_id, received.routing.ticket_id)
    except NotFound:
        log.warning(
            "inbound %s names ticket %s, not in workspace %s",
            received.inbound_id,
            received.routing.ticket_id,
            workspace_id,
        )
        return None
    if ticket.merged_into_id:
        try:
            ticket = tickets.get_in_workspace_for_update(uow, workspace_id, ticket.merged_into_id)
        except NotFound:
            pass
    decision = automation.after_customer_reply(
        ticket.status, closed_at=ticket.closed_at, now=now, policy=policy_for(uow.session, workspace_id)
    )
    target: Ticket = ticket
    if decision.new_ticket:
        target = tickets.open_followup(uow, ticket, now=now)
    status_before = target.status
    comment = Comment(
        id=new_id(),
        workspace_id=workspace_id,
        ticket_id=target.id,
        body=received.reply_text,
        public=True,
        author_id=received.contact_id or target.contact_id,
        author_kind=rules.CUSTOMER,
        sender=received.sender or None,
        sender_name=(received.sender_name or None) and received.sender_name[:200],
        inbound_id=received.inbound_id or None,
        raw_url=(received.raw_url or None) and received.raw_url[:500],
        rfc822_message_id=(received.rfc822_message_id or None) and received.rfc822_message_id[:300],
        source_event_id=event_id,
        notice=rules.sender_notice(received.sender, received.contact_id, target.contact_id),
        created_at=now,
    )
    uow.session.add(comment)
    target.last_customer_reply_at = now
    target.updated_at = now
    moved = decision.to_status is not None and tickets.move_status(
        uow,
        target,
        decision.to_status,
        actor_id=SYSTEM,
        reason="customer_reply",
        reopen=target.status == CLOSED,
        now=now,
    )
    if not moved:
        target.version += 1
    uow.emit(
        TICKET_CUSTOMER_REPLIED,
        tickets_pb2.CustomerReplied(
            ticket_id=target.id,
            contact_id=target.contact_id,
            number=target.number,
            comment_id=comment.id,
            inbound_id=received.inbound_id,
            status_before=status_before,
            status_after=target.status,
            followup_of=ticket.id if decision.new_ticket else "",
        ),
        workspace_id=workspace_id,
    )
    return comment


def record_delivery(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    status: str,
    mail_event_id: str | None = None,
    rfc822_message_id: str | None = None,
    detail: str | None = None,
) -> Comment | None:
    """What the mailer reported about a public comment's mail, kept on the comment (found by the event that
    asked for the mail, or by the mail's Message-ID for a bounce); None when the mail was not a comment's."""
    query = select(Comment).where(Comment.workspace_id == workspace_id, Comment.author_kind == rules.MEMBER)
    if mail_event_id:
        query = query.where(Comment.mail_event_id == mail_event_id)
    elif rfc822_message_id:
        query = query.where(Comment.rfc822_message_id == rfc822_message_id)
    else:
        return None
    comment = uow.session.scalars(query.limit(1)).first()
    if comment is None:
        return None
    comment.delivery_status = rules.next_delivery_status(comment.delivery_status, status)
    if rfc822_message_id and not comment.rfc822_message_id:
        comment.rfc822_message_id = rfc822_message_id[:300]
    if detail and comment.delivery_status == status:
        comment.delivery_detail = detail[:500]
    return comment
