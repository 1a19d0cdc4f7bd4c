"""Factories of the tickets service's data: tickets and comments through its API, and the event a public
comment publishes (what the mailer and reports consume)."""

from __future__ import annotations

from typing import Any

from crm.events.v1 import tickets_pb2
from crm_events.tickets import COMMENT_PUBLIC_ADDED
from crm_platform.events import pack
from crm_platform.ids import new_id


def open_ticket(api: Any, headers: dict[str, str], contact_id: str, subject: str = "Printer on fire") -> Any:
    """``POST /v1/tickets`` as the caller of ``headers``; the answer as the test client got it."""
    return api.client.post("/v1/tickets", json={"subject": subject, "contact_id": contact_id}, headers=headers)


def comment(api: Any, headers: dict[str, str], ticket_id: str, body: str = "note", *, public: bool) -> Any:
    return api.client.post(f"/v1/tickets/{ticket_id}/comments", json={"body": body, "public": public}, headers=headers)


def public_comment_added(
    workspace_id: str,
    contact_id: str,
    *,
    ticket_id: str | None = None,
    body: str = "We are on it.",
    author_id: str = "agent-1",
) -> bytes:
    """A ``tickets.comment.public_added`` envelope as the tickets relay publishes it."""
    comment_added = tickets_pb2.CommentAdded(
        ticket_id=ticket_id or new_id(),
        comment_id=new_id(),
        contact_id=contact_id,
        ticket_subject="Printer on fire",
        body=body,
        author_id=author_id,
        public=True,
    )
    return pack(COMMENT_PUBLIC_ADDED, comment_added, workspace_id=workspace_id, producer="tickets").body
