"""The WebSocket endpoint (PROTOCOL.md): authentication, catch-up from a cursor, then live frames from the hub."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any, Protocol

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from crm_conversations.presence.replica import ReplicaPresence
from crm_conversations.realtime import service
from crm_conversations.realtime.feed import RabbitFeed
from crm_conversations.realtime.hub import TOO_SLOW, UNAUTHENTICATED, Client, Hub, error_frame, frame
from crm_conversations.realtime.rules import Audience, parse_cursor
from crm_platform.auth import TokenVerifier
from crm_platform.errors import Unauthenticated
from crm_platform.service import Runtime

log = logging.getLogger(__name__)
# The library's own per-connection lines ("connection open", "connection closed") at INFO would be thousands a
# minute; its warnings and errors still come through.
CONNECTIONS_LOG = logging.getLogger(f"{__name__}.connections")
CONNECTIONS_LOG.setLevel(logging.WARNING)

PATH = "/v1/conversations/realtime"
AUTH_TIMEOUT = 10.0
MAX_FRAME = 4096
CATCH_UP_PAGE = 1000
AUTH_TIMED_OUT, BAD_FRAME = 4002, 4003


class VisitorSession(Protocol):
    @property
    def workspace_id(self) -> str: ...
    @property
    def conversation_id(self) -> str: ...
    @property
    def visitor_id(self) -> str: ...


VisitorVerifier = Callable[[Runtime, str], VisitorSession]


def widget_verifier() -> VisitorVerifier | None:
    """The widget's ``verify_visitor_token`` (crm_conversations.widget.tokens), when the widget is installed."""
    try:
        from crm_conversations.widget.tokens import verify_visitor_token  # type: ignore[import-not-found]
    except ImportError:
        return None
    return verify_visitor_token


class Refused(Exception):
    def __init__(self, close_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.close_code, self.code, self.message = close_code, code, message


@dataclass
class Realtime:
    """One replica's server: the hub, its feed, and the connections' handler."""

    rt: Runtime
    verify_visitor: VisitorVerifier | None = None

    def __post_init__(self) -> None:
        self.tokens = TokenVerifier(self.rt.settings)
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="realtime-db")
        amqp = self.rt.settings.amqp_url
        # Without a broker (all-in-one's local bus) the hub reads the log often instead of when woken.
        self.hub = Hub(self.rt.database, self.executor, self.rt.metrics, poll=1.0 if amqp else 0.05)
        # Which members are connected, for the unread notifications (crm_conversations/notifications).
        self.presence = ReplicaPresence(
            self.rt.database,
            self.executor,
            heartbeat_seconds=float(self.rt.service_settings.presence_heartbeat_seconds),
        )
        self._beat: asyncio.Task[None] | None = None
        self.feed: RabbitFeed | None = None
        self.server: Server | None = None
        self._pump: asyncio.Task[None] | None = None
        self._sweep: asyncio.Task[None] | None = None

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        await self.hub.start()
        if self.rt.settings.amqp_url:
            self.feed = RabbitFeed(self.rt.settings.amqp_url, lambda: loop.call_soon_threadsafe(self.hub.wake))
            self.feed.start()
        self._pump = asyncio.create_task(self.hub.run())
        self._sweep = asyncio.create_task(self.hub.expire_forever())
        self._beat = asyncio.create_task(self.presence.beat_forever())
        self.server = await serve(
            self.handle,
            host,
            port,
            max_size=MAX_FRAME,
            compression=None,  # a deflate context per connection costs more memory than the frames save
            ping_interval=20,
            ping_timeout=20,
            open_timeout=10,
            process_request=self._http,
            logger=CONNECTIONS_LOG,
        )
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()  # 1001 to every client
            await self.server.wait_closed()
        for task in (self._pump, self._sweep, self._beat):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.presence.stop()
        if self.feed is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.feed.close)
        self.executor.shutdown(wait=False)

    def ready(self) -> str | None:
        if self.feed is not None and self.feed.error is not None:
            return self.feed.error
        return None

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            return connection.respond(HTTPStatus.OK, "ok\n")
        if path != PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        return None

    # one connection -----------------------------------------------------------------------------------
    async def handle(self, ws: ServerConnection) -> None:
        try:
            audience, cursor, given = await self._authenticate(ws)
        except Refused as refused:
            await _refuse(ws, refused)
            return
        client = Client(ws, audience, pending=[] if given else None)
        if given:
            await self.hub.current()
        watermark = self.hub.add(client)
        member = audience.conversation_id is None  # a member's socket (not a visitor's): they are connected
        try:
            if member:
                await self.presence.joined(audience.workspace_id, audience.user_id)
            if given:
                await self._catch_up(client, cursor, watermark)
            await ws.send(json.dumps({"type": "ready", "last_event_id": str(max(watermark, client.last_sent))}))
            async for message in ws:
                if isinstance(message, str) and message.startswith("{"):
                    try:
                        kind = json.loads(message).get("type")
                    except (ValueError, AttributeError):
                        continue
                    if kind == "ping":
                        await ws.send('{"type":"pong"}')
        except ConnectionClosed:
            pass
        finally:
            self.hub.remove(client)
            if member:
                await self.presence.left(audience.workspace_id, audience.user_id)

    async def _authenticate(self, ws: ServerConnection) -> tuple[Audience, int | None, bool]:
        try:
            first = await asyncio.wait_for(ws.recv(), AUTH_TIMEOUT)
        except TimeoutError as exc:
            raise Refused(AUTH_TIMED_OUT, "auth_timeout", "no auth frame in time") from exc
        try:
            message = json.loads(first)
        except ValueError as exc:
            raise Refused(BAD_FRAME, "bad_frame", "the first frame must be an auth frame") from exc
        if not isinstance(message, dict) or message.get("type") != "auth" or not isinstance(message.get("token"), str):
            raise Refused(BAD_FRAME, "bad_frame", "the first frame must be an auth frame")
        given = message.get("last_event_id") not in (None, "")
        return await self._audience(message["token"]), parse_cursor(message.get("last_event_id")), given

    async def _audience(self, token: str) -> Audience:
        try:
            caller = self.tokens.verify(token)
        except Unauthenticated:
            pass
        else:
            return Audience(
                workspace_id=caller.workspace_id,
                user_id=caller.user_id,
                is_admin=caller.is_admin,
                expires_at=_expiry(token),
            )
        verify = self.verify_visitor or widget_verifier()
        if verify is None:
            raise Refused(UNAUTHENTICATED, "unauthenticated", "invalid token")
        try:
            session = verify(self.rt, token)
        except Unauthenticated as exc:
            raise Refused(UNAUTHENTICATED, "unauthenticated", "invalid token") from exc
        live = await asyncio.get_running_loop().run_in_executor(
            self.executor,
            lambda: service.conversation_is_live(
                self.rt.database, workspace_id=session.workspace_id, conversation_id=session.conversation_id
            ),
        )
        if not live:
            raise Refused(UNAUTHENTICATED, "unauthenticated", "the conversation is gone")
        expires = getattr(session, "expires_at", None)  # the widget's sessions end (a datetime)
        return Audience(
            workspace_id=session.workspace_id,
            user_id=session.visitor_id,
            conversation_id=session.conversation_id,
            expires_at=expires.timestamp() if isinstance(expires, datetime) else None,
        )

    async def _catch_up(self, client: Client, cursor: int | None, watermark: int) -> None:
        """Send the rows after the client's cursor up to ``watermark``, then what arrived live meanwhile."""
        loop = asyncio.get_running_loop()
        database = self.rt.database
        oldest, _ = await loop.run_in_executor(self.executor, service.bounds, database)
        if cursor is None or cursor > watermark or (oldest and cursor + 1 < oldest):
            await client.ws.send('{"type":"reset"}')
        else:
            position = cursor
            while position < watermark:
                rows = await loop.run_in_executor(
                    self.executor,
                    lambda p=position: service.after(database, p, until=watermark, limit=CATCH_UP_PAGE),  # type: ignore[misc]
                )
                if not rows:
                    break
                for row in rows:
                    data = _data_for(client.audience, row)
                    if data is not None:
                        await client.ws.send(frame(row, data))
                        client.last_sent = row.id
                position = rows[-1].id
        pending, client.pending = client.pending or [], None
        for cursor_id, text in pending:  # later than ``watermark``: in order, none already sent
            if cursor_id > client.last_sent:
                await client.ws.send(text)
                client.last_sent = cursor_id
        if client.dropped:
            raise ConnectionClosed(None, None)


def _expiry(token: str) -> float | None:
    """The ``exp`` of a bearer token already verified (its claims are read again, not trusted otherwise)."""
    import jwt

    expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return float(expires) if isinstance(expires, int | float) else None


def _data_for(audience: Audience, row: service.Logged) -> dict[str, Any] | None:
    from crm_conversations.realtime.rules import agent_may_see

    if row.workspace_id != audience.workspace_id:
        return None
    if audience.conversation_id is not None:
        return row.visitor_data if row.conversation_id == audience.conversation_id else None
    if row.agents_see_all:
        return row.data
    allowed = agent_may_see(audience, agents_see_all=False, owner_id=row.owner_id, deleted=row.contact_deleted)
    return row.data if allowed else None


async def _refuse(ws: ServerConnection, refused: Refused) -> None:
    try:
        await ws.send(error_frame(refused.code, refused.message))
        await ws.close(refused.close_code, refused.code)
    except ConnectionClosed:
        pass


# process types ------------------------------------------------------------------------------------------
def _port(rt: Runtime) -> int:
    return int(rt.service_settings.realtime_port)


def run_realtime(rt: Runtime) -> None:
    """``crm serve conversations realtime``: until SIGTERM; /healthz, /readyz and /metrics on the metrics port."""
    from crm_platform.processes import serve_ops

    server = Realtime(rt)
    ops = serve_ops(rt.settings.metrics_port, lambda: server.ready() or _database(rt), host=rt.settings.listen_host)

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        port = await server.start(rt.settings.listen_host, _port(rt))
        log.info("realtime of conversations listening on %s:%d", rt.settings.listen_host, port)
        await stopping.wait()
        await server.stop()

    try:
        asyncio.run(main())
    finally:
        ops.shutdown()


def _database(rt: Runtime) -> str | None:
    try:
        rt.database.ping()
    except Exception as exc:  # noqa: BLE001
        return f"database: {exc.__class__.__name__}"
    return None


class Embedded:
    """The server on its own event loop in a thread: all-in-one mode, and the tests."""

    def __init__(self, rt: Runtime, *, host: str = "127.0.0.1", port: int | None = None, **options: Any) -> None:
        self.server = Realtime(rt, **options)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="realtime", daemon=True)
        self.thread.start()
        started = asyncio.run_coroutine_threadsafe(
            self.server.start(host, _port(rt) if port is None else port), self.loop
        )
        self.port = started.result(15)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{PATH}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def embed(rt: Runtime) -> Callable[[], None]:
    """All-in-one mode: the server on loopback. A port in use is logged, not fatal: the rest still serves."""
    try:
        embedded = Embedded(rt)
    except Exception as exc:  # noqa: BLE001 - e.g. another `crm run` holds the port
        log.warning("realtime server not started: %r", exc)
        return lambda: None
    log.info("realtime on %s", embedded.url)
    return embedded.stop


__all__ = ["TOO_SLOW", "Embedded", "Realtime", "embed", "run_realtime"]
