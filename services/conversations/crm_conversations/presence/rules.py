"""When a member counts as connected: while any replica's heartbeat for them is fresh."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

MISSED_HEARTBEATS = 3  # a replica that missed this many heartbeats is taken for dead


def freshness(heartbeat_seconds: float) -> timedelta:
    """How old a heartbeat may be and still count."""
    return timedelta(seconds=heartbeat_seconds * MISSED_HEARTBEATS)


def is_fresh(last_seen_at: datetime, *, now: datetime, heartbeat_seconds: float) -> bool:
    """True when a heartbeat seen at ``last_seen_at`` still counts at ``now``."""
    return now - last_seen_at <= freshness(heartbeat_seconds)


def is_connected(heartbeats: Iterable[datetime], *, now: datetime, heartbeat_seconds: float) -> bool:
    """A member with these heartbeats (one per replica holding their sockets) is connected at ``now``."""
    return any(is_fresh(seen, now=now, heartbeat_seconds=heartbeat_seconds) for seen in heartbeats)
