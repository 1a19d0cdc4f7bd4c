"""The views' counts (live conversations per status and assignee), kept in ``conversation_view_counts``.

Counting a workspace's hundred thousand conversations on every request cannot answer in a few milliseconds; a
row per (workspace, status, assignee) can. Each row also counts the conversations without any message yet,
which are never unread, so that the unread figure of a view is its count less those and less the
conversations the caller has read to the end (a join over the caller's own read markers only).

Every change of a conversation's status, assignee or deletion, and every new conversation, adds its deltas
to those rows in the same transaction: a flush hook sees them in the session, whichever code made them
(``move_status``, the PATCH, a reopening message, the widget), so no write path can forget. A write that
bypasses the ORM calls ``add`` itself: ``messages.service.record``'s Core UPDATE, when a conversation gets
its first message (``first_message``). Counters of one workspace's rows serialize its concurrent writers of
the same view, as tickets' counters do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from crm_conversations.conversations.models import Conversation, ViewCount
from crm_conversations.conversations.rules import OPEN
from crm_platform import upserts

UNASSIGNED = ""  # the assignee of an unassigned conversation in the counter's key

Key = tuple[str, str, str, str]  # workspace, status, assignee ("" unassigned), "conversations" or "empty"


def add(session: Session, deltas: Counter[Key]) -> None:
    """Add ``deltas`` to the counters, one upsert per (workspace, status, assignee) that changes."""
    merged: dict[tuple[str, str, str], dict[str, int]] = {}
    for (ws, status, who, column), delta in deltas.items():
        if delta:
            merged.setdefault((ws, status, who), {"conversations": 0, "empty": 0})[column] += delta
    rows = [
        {"workspace_id": ws, "status": status, "assignee_id": who, **values}
        for (ws, status, who), values in merged.items()
    ]
    upserts.add_to_counts(
        session, ViewCount.__table__, ("workspace_id", "status", "assignee_id"), rows, ("conversations", "empty")
    )


def first_message(session: Session, workspace_id: str, status: str, assignee_id: str | None) -> None:
    """A live conversation got its first message through a Core UPDATE: it is no longer an empty one."""
    add(session, Counter({(workspace_id, status, assignee_id or UNASSIGNED, "empty"): -1}))


def read(session: Session, workspace_id: str, statuses: Iterable[str]) -> dict[str | None, tuple[int, int]]:
    """Per assignee (None: unassigned), the live conversations of these statuses and how many have no message."""
    found: dict[str | None, tuple[int, int]] = {}
    for who, n, empty in session.execute(
        select(ViewCount.assignee_id, ViewCount.conversations, ViewCount.empty).where(
            ViewCount.workspace_id == workspace_id, ViewCount.status.in_(list(statuses)), ViewCount.conversations != 0
        )
    ):
        key = who or None
        before = found.get(key, (0, 0))
        found[key] = (before[0] + int(n), before[1] + int(empty))
    return found


def _before(conversation: Conversation, attribute: str) -> Any:
    history = inspect(conversation).attrs[attribute].history
    if history.deleted:  # active history: the value replaced, None included
        return history.deleted[0]
    return getattr(conversation, attribute)


def _counted(conversation: Conversation, *, before: bool) -> Counter[Key]:
    """The counter deltas of one conversation as it was (``before``) or is now: nothing if deleted."""
    value = _before if before else getattr
    if value(conversation, "deleted_at") is not None:
        return Counter()
    ws = conversation.workspace_id
    status, who = value(conversation, "status") or OPEN, value(conversation, "assignee_id") or UNASSIGNED
    empty = 1 if not (conversation.message_count or 0) else 0
    return Counter({(ws, status, who, "conversations"): 1, (ws, status, who, "empty"): empty})


def deltas_of(new: Iterable[Any], dirty: Iterable[Any], deleted: Iterable[Any]) -> Counter[Key]:
    """What a flush of these objects changes in the counters (only conversations count)."""
    deltas: Counter[Key] = Counter()
    for conversation in new:
        if isinstance(conversation, Conversation):
            deltas.update(_counted(conversation, before=False))
    for conversation in dirty:
        if not isinstance(conversation, Conversation):
            continue
        state = inspect(conversation).attrs
        if not any(state[name].history.has_changes() for name in ("status", "assignee_id", "deleted_at")):
            continue
        deltas.subtract(_counted(conversation, before=True))
        deltas.update(_counted(conversation, before=False))
    for conversation in deleted:
        if isinstance(conversation, Conversation):
            deltas.subtract(_counted(conversation, before=True))
    return deltas


@event.listens_for(Session, "before_flush")
def _count_changes(session: Session, _context: Any, _instances: Any) -> None:
    if not any(isinstance(o, Conversation) for o in (*session.new, *session.dirty, *session.deleted)):
        return
    add(session, deltas_of(session.new, session.dirty, session.deleted))
