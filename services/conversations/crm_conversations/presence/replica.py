"""A realtime replica's side of presence: it records its members' sockets opening and closing, and beats."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor

from crm_conversations.presence import service
from crm_platform.db import Database
from crm_platform.ids import new_id

log = logging.getLogger(__name__)


class ReplicaPresence:
    """Presence rows of one replica (its own id), written from the server's database executor."""

    def __init__(self, database: Database, executor: Executor, *, heartbeat_seconds: float) -> None:
        self.database, self.executor, self.heartbeat_seconds = database, executor, heartbeat_seconds
        self.replica_id = new_id()

    async def _run(self, what: str, call, **arguments: str) -> None:  # type: ignore[no-untyped-def]
        try:
            await asyncio.get_running_loop().run_in_executor(
                self.executor, lambda: call(self.database, replica_id=self.replica_id, **arguments)
            )
        except Exception:  # a database hiccup must not close the socket; the next heartbeat or join mends it
            log.exception("recording presence (%s) failed", what)

    async def joined(self, workspace_id: str, member_id: str) -> None:
        await self._run("joined", service.joined, workspace_id=workspace_id, member_id=member_id)

    async def left(self, workspace_id: str, member_id: str) -> None:
        await self._run("left", service.left, workspace_id=workspace_id, member_id=member_id)

    async def beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            await self._run("heartbeat", service.heartbeat)

    async def stop(self) -> None:
        await self._run("stop", service.forget_replica)
