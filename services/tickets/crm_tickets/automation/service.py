"""A workspace's automation policy as the use cases read it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm_tickets.automation.rules import Policy


def policy_for(session: Session, workspace_id: str) -> Policy:
    """The workspace's policy. Until workspaces can change it (automation settings), every one has the
    defaults."""
    del session, workspace_id
    return Policy()
