"""The fan-out: reads the log in id order and writes each row's frame to the connections allowed to see it.

The log's ids are assigned at insert, so on PostgreSQL a row may commit after a higher one: the hub hands
rows out only in id order and holds a row behind a missing id until that one commits or GAP_WAIT passes (a
transaction rolled back leaves its id unused for good). So a client's cursor never jumps over an event that
is then delivered later, and a reconnect from it misses nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.connection import broadcast
from websockets.asyncio.server import ServerConnection

from crm_conversations.realtime import rules, service
from crm_conversations.realtime.rules import Audience
from crm_conversations.realtime.service import Logged
from crm_platform.db import Database
from crm_platform.metrics import ServiceMetrics

log = logging.getLogger(__name__)

GAP_WAIT = 2.0  # seconds a missing id holds back the rows behind it
GAP_POLL = 0.01  # how often the log is read again meanwhile
MAX_BUFFERED = 1 << 20  # bytes written to a client but not yet taken by it, beyond which it is dropped
MAX_PENDING = 2000  # live frames held for a client still catching up
PRUNE_EVERY = 600.0

TOO_SLOW = 4004
UNAUTHENTICATED = 4001


@dataclass(eq=False)
class Client:
    """One authenticated connection."""

    ws: ServerConnection
    audience: Audience
    last_sent: int = 0
    pending: list[tuple[int, str]] | None = None  # live frames while its catch-up is read; None: live
    dropped: bool = field(default=False)


def frame(row: Logged, data: dict[str, Any]) -> str:
    return json.dumps(
        {
            "id": str(row.id),
            "type": row.event_type,
            "conversation_id": row.conversation_id,
            "occurred_at": row.occurred_at.isoformat(),
            "data": data,
        },
        separators=(",", ":"),
    )


def error_frame(code: str, message: str) -> str:
    return json.dumps({"type": "error", "code": code, "message": message})


class Hub:
    def __init__(self, database: Database, executor: Executor, metrics: ServiceMetrics, *, poll: float) -> None:
        self.database = database
        # Connections open = opened - closed; frames written; clients dropped, by why.
        self.opened = metrics.counter("realtime_connections_opened_total", "Realtime connections authenticated.")
        self.closed = metrics.counter("realtime_connections_closed_total", "Realtime connections ended.")
        self.frames = metrics.counter("realtime_frames_sent_total", "Realtime event frames written to clients.")
        self.dropped = metrics.counter("realtime_clients_dropped_total", "Realtime clients dropped.", ("reason",))
        for reason in ("too_slow", "unauthenticated"):
            self.dropped.labels(reason)
        self.executor = executor
        self.poll = poll  # seconds between reads of the log when nothing woke the hub
        self.watermark = 0  # every row up to it has been handed out (or given up on)
        self.agents: dict[str, set[Client]] = defaultdict(set)  # by workspace
        self.visitors: dict[str, set[Client]] = defaultdict(set)  # by conversation
        self._woken = asyncio.Event()
        self._closing: set[asyncio.Future[None]] = set()
        self._cycles = 0  # reads of the log completed
        self._reading = False
        self._cycled = asyncio.Condition()
        self._gap_since: float | None = None
        self._last_prune = 0.0
        self.on_delivered: Callable[[Logged], None] | None = None  # the benchmark's hook

    # connections ------------------------------------------------------------------------------------
    def add(self, client: Client) -> int:
        """Register a client; returns the watermark at that instant: every later row reaches it live."""
        audience = client.audience
        if audience.conversation_id is not None:
            self.visitors[audience.conversation_id].add(client)
        else:
            self.agents[audience.workspace_id].add(client)
        self.opened.inc()
        return self.watermark

    def remove(self, client: Client) -> None:
        audience = client.audience
        index, key = (
            (self.visitors, audience.conversation_id)
            if audience.conversation_id is not None
            else (self.agents, audience.workspace_id)
        )
        members = index.get(key or "")
        if members is not None and client in members:
            self.closed.inc()
            members.discard(client)
            if not members:
                del index[key or ""]

    def count(self) -> int:
        return sum(len(c) for c in self.agents.values()) + sum(len(c) for c in self.visitors.values())

    async def expire_forever(self, every: float = 15.0) -> None:
        """Close the streams whose token (an agent's bearer token, a visitor's) expired: it is checked once, at
        connect."""
        while True:
            await asyncio.sleep(every)
            self.expire(time.time())

    def expire(self, now: float) -> None:
        for clients in [*self.agents.values(), *self.visitors.values()]:
            for client in list(clients):
                expires = client.audience.expires_at
                if expires is not None and expires < now:
                    self.drop(client, UNAUTHENTICATED, "unauthenticated", "the token expired")

    # the pump ---------------------------------------------------------------------------------------
    def wake(self) -> None:
        """Called on the event loop (feed threads use ``loop.call_soon_threadsafe``)."""
        self._woken.set()

    async def current(self, timeout: float = 2.0) -> None:
        """Until a read of the log that began after this call has ended: what was committed before is handed out
        (a connecting client's catch-up then covers it), but for rows behind a gap."""
        async with self._cycled:
            target = self._cycles + (2 if self._reading else 1)  # a read under way may have begun before the call
            self.wake()
            try:
                await asyncio.wait_for(self._cycled.wait_for(lambda: self._cycles >= target), timeout)
            except TimeoutError:
                pass

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        _, self.watermark = await loop.run_in_executor(self.executor, service.bounds, self.database)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            timeout = GAP_POLL if self._gap_since is not None else self.poll
            try:
                await asyncio.wait_for(self._woken.wait(), timeout)
            except TimeoutError:
                pass
            self._woken.clear()
            self._reading = True
            try:
                while await self._pump_once(loop):
                    pass
                async with self._cycled:
                    self._cycles += 1
                    self._reading = False
                    self._cycled.notify_all()
                if time.monotonic() - self._last_prune > PRUNE_EVERY:
                    self._last_prune = time.monotonic()
                    await loop.run_in_executor(self.executor, service.prune, self.database)
            except Exception:
                log.exception("realtime hub could not read the log")
                self._reading = False
                await asyncio.sleep(1.0)

    async def _pump_once(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Hand out the next rows in id order; True when a full page came (read again at once)."""
        limit = 1000
        rows = await loop.run_in_executor(
            self.executor, lambda: service.after(self.database, self.watermark, limit=limit)
        )
        ready: list[Logged] = []
        expected = self.watermark + 1
        for row in rows:
            if row.id != expected:
                now = time.monotonic()
                if self._gap_since is None:
                    self._gap_since = now
                if now - self._gap_since < GAP_WAIT:
                    break
                log.info("realtime: ids %d..%d never committed, skipped", expected, row.id - 1)
            self._gap_since = None
            ready.append(row)
            expected = row.id + 1
        if not ready:
            return False
        for row in ready:  # no await in between: a client added meanwhile gets these live or in its catch-up
            self.watermark = row.id
            self.dispatch(row)
        return len(rows) == limit and len(ready) == len(rows)

    # fan-out ----------------------------------------------------------------------------------------
    def dispatch(self, row: Logged) -> None:
        agents = self.agents.get(row.workspace_id)
        if agents:
            text = frame(row, row.data)
            if row.agents_see_all:
                self.send_many(agents, row.id, text)
            else:
                allowed = [
                    c
                    for c in agents
                    if rules.agent_may_see(
                        c.audience, agents_see_all=False, owner_id=row.owner_id, deleted=row.contact_deleted
                    )
                ]
                self.send_many(allowed, row.id, text)
        visitors = self.visitors.get(row.conversation_id)
        if visitors:
            mine = [c for c in visitors if c.audience.workspace_id == row.workspace_id]
            if row.visitor_data is not None:
                self.send_many(mine, row.id, frame(row, row.visitor_data))
            if row.ends_visitor_stream:
                for client in mine:
                    self.drop(client, UNAUTHENTICATED, "unauthenticated", "the conversation was deleted")
        if self.on_delivered is not None:
            self.on_delivered(row)

    def send_many(self, clients: Any, cursor: int, text: str) -> None:
        live = []
        for client in list(clients):
            if client.dropped or cursor <= client.last_sent:
                continue
            if client.pending is not None:
                client.pending.append((cursor, text))
                if len(client.pending) > MAX_PENDING:
                    self.drop(client, TOO_SLOW, "too_slow", "too many events while catching up")
                continue
            transport = client.ws.transport
            if transport is not None and transport.get_write_buffer_size() > MAX_BUFFERED:
                self.drop(client, TOO_SLOW, "too_slow", "the client does not read its frames")
                continue
            client.last_sent = cursor
            live.append(client.ws)
        if live:
            broadcast(live, text)
            self.frames.inc(len(live))

    def drop(self, client: Client, code: int, error: str, message: str) -> None:
        """Close a client without waiting for it: a slow one must not hold the fan-out up."""
        client.dropped = True
        self.dropped.labels(error).inc()
        self.remove(client)
        transport = client.ws.transport
        if transport is not None and transport.get_write_buffer_size() > MAX_BUFFERED:
            transport.abort()  # nothing more fits: the close frame would queue behind what it never read
            return
        broadcast([client.ws], error_frame(error, message))
        closing = asyncio.ensure_future(client.ws.close(code, error))
        self._closing.add(closing)  # held until done: the loop keeps only weak references to tasks
        closing.add_done_callback(self._closing.discard)
