"""Presence rows: a replica records members joining and leaving, refreshes its heartbeat, and anyone asks who is
connected. Each call is its own short transaction (the realtime server calls them from its executor)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from crm_conversations.presence import rules
from crm_conversations.presence.models import MemberPresence
from crm_platform import upserts
from crm_platform.db import Database, utcnow


def joined(database: Database, *, replica_id: str, workspace_id: str, member_id: str) -> None:
    """The member opened a socket on this replica."""
    now = utcnow()
    with database.unit_of_work() as uow:
        statement = upserts.insert(uow.session, MemberPresence).values(
            workspace_id=workspace_id, member_id=member_id, replica_id=replica_id, connections=1, last_seen_at=now
        )
        uow.session.execute(
            statement.on_conflict_do_update(
                index_elements=[MemberPresence.workspace_id, MemberPresence.member_id, MemberPresence.replica_id],
                set_={"connections": MemberPresence.connections + 1, "last_seen_at": now},
            )
        )
        uow.commit()


def left(database: Database, *, replica_id: str, workspace_id: str, member_id: str) -> None:
    """The member closed a socket on this replica; their row goes with their last one."""
    key = (
        MemberPresence.workspace_id == workspace_id,
        MemberPresence.member_id == member_id,
        MemberPresence.replica_id == replica_id,
    )
    with database.unit_of_work() as uow:
        uow.session.execute(update(MemberPresence).where(*key).values(connections=MemberPresence.connections - 1))
        uow.session.execute(delete(MemberPresence).where(*key, MemberPresence.connections <= 0))
        uow.commit()


def heartbeat(database: Database, *, replica_id: str) -> None:
    """This replica is alive: every member connected here is still connected."""
    with database.unit_of_work() as uow:
        uow.session.execute(
            update(MemberPresence).where(MemberPresence.replica_id == replica_id).values(last_seen_at=utcnow())
        )
        uow.commit()


def forget_replica(database: Database, *, replica_id: str) -> None:
    """The replica stops: its members' sockets are closed."""
    with database.unit_of_work() as uow:
        uow.session.execute(delete(MemberPresence).where(MemberPresence.replica_id == replica_id))
        uow.commit()


def forget_stale(database: Database, *, now: datetime, heartbeat_seconds: float) -> int:
    """Rows of replicas that died without a word (their heartbeat long stale) go; how many."""
    cutoff = now - rules.freshness(heartbeat_seconds) * 10
    with database.unit_of_work() as uow:
        gone = uow.session.execute(delete(MemberPresence).where(MemberPresence.last_seen_at < cutoff)).rowcount
        uow.commit()
    return int(gone or 0)


def connected(
    session: Session, *, workspace_id: str, member_ids: Iterable[str], now: datetime, heartbeat_seconds: float
) -> set[str]:
    """Of ``member_ids``, those connected at ``now`` on any replica."""
    wanted = set(member_ids)
    if not wanted:
        return set()
    rows = session.execute(
        select(MemberPresence.member_id, MemberPresence.last_seen_at).where(
            MemberPresence.workspace_id == workspace_id,
            MemberPresence.member_id.in_(wanted),
            MemberPresence.last_seen_at >= now - rules.freshness(heartbeat_seconds),
        )
    )
    seen: dict[str, list[datetime]] = {}
    for member_id, last_seen_at in rows:
        seen.setdefault(member_id, []).append(last_seen_at)
    return {m for m, beats in seen.items() if rules.is_connected(beats, now=now, heartbeat_seconds=heartbeat_seconds)}
