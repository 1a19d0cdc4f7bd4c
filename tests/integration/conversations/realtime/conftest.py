"""The realtime server running against a real conversations service: on the local bus or fed by RabbitMQ."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from crm_conversations.realtime.server import Embedded
from crm_platform.db import utcnow
from crm_platform.outbox import OutboxRelay
from crm_platform.service import Runtime
from tests.support import infra
from tests.support.stack import ContactsPeer, RunningService, running


@dataclass(frozen=True)
class Session:
    workspace_id: str
    inbox_id: str
    conversation_id: str
    visitor_id: str


def visitor_minter(rt: Runtime) -> Any:
    """Mints visitor tokens as the widget does (crm_conversations.widget.tokens), which the realtime server verifies
    with the widget's own ``verify_visitor_token``."""
    from crm_conversations.widget import tokens

    def mint(session: Session) -> str:
        return tokens.mint_visitor_token(
            tokens.key_of(rt),
            workspace_id=session.workspace_id,
            inbox_id=session.inbox_id,
            conversation_id=session.conversation_id,
            visitor_id=session.visitor_id,
            contact_id=None,
            ttl=timedelta(minutes=10),
            now=utcnow(),
        )

    return mint


@dataclass
class Stream:
    """The conversations API, its realtime server, and (on RabbitMQ) the outbox relay its worker runs."""

    api: RunningService
    server: Embedded
    mint_visitor: Any
    transport: str
    clients: ExitStack = field(default_factory=ExitStack)

    def connect(self, token: str, last_event_id: str | None = None) -> ClientConnection:
        client = self.clients.enter_context(connect(self.server.url, open_timeout=5))
        auth: dict[str, Any] = {"type": "auth", "token": token}
        if last_event_id is not None:
            auth["last_event_id"] = last_event_id
        client.send(json.dumps(auth))
        return client

    def settle(self) -> None:
        """Until the server has handed out every event committed so far (later connections then see only newer
        ones live)."""
        from crm_conversations.realtime import service

        _, newest = service.bounds(self.api.rt.database)
        deadline = time.monotonic() + 5
        while self.server.server.hub.watermark < newest:
            assert time.monotonic() < deadline, "the server never read the log"
            time.sleep(0.01)

    def agent(self, workspace_id: str, user_id: str = "agent-1", role: str = "agent", **kw: Any) -> ClientConnection:
        header = self.api.auth(workspace_id, user_id=user_id, role=role)["Authorization"]
        return self.connect(header.removeprefix("Bearer "), **kw)


def frames_until_ready(client: ClientConnection, timeout: float = 5.0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The frames a client got before ``ready``, and ``ready`` itself."""
    got = []
    while True:
        message = json.loads(client.recv(timeout=timeout))
        if message["type"] == "ready":
            return got, message
        got.append(message)


def next_event(client: ClientConnection, timeout: float = 1.0) -> dict[str, Any]:
    return dict(json.loads(client.recv(timeout=timeout)))


def nothing_within(client: ClientConnection, seconds: float) -> bool:
    try:
        client.recv(timeout=seconds)
    except TimeoutError:
        return True
    return False


@pytest.fixture(params=["local", "rabbitmq"])
def stream(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, contacts_peer_service: ContactsPeer
) -> Iterator[Stream]:
    from crm_conversations.app import SERVICE

    env = {"CRM_CONTACTS_GRPC_TARGET": contacts_peer_service.target}
    vhost = None
    if request.param == "rabbitmq":
        vhost = infra.fresh_vhost()
        env["CRM_AMQP_URL"] = vhost.__enter__()
    stop = threading.Event()
    try:
        with running(SERVICE, database_url, tmp_path, **env) as api:
            mint = visitor_minter(api.rt)
            server = Embedded(api.rt, port=0)  # the widget's verify_visitor_token
            relay = None
            if request.param == "rabbitmq":
                wait_for_queue(server)
                relay = threading.Thread(
                    target=OutboxRelay(api.rt.database, api.rt.connect_bus, api.rt.metrics).run, args=(stop,)
                )
                relay.start()
            running_stream = Stream(api, server, mint, request.param)
            try:
                yield running_stream
            finally:
                running_stream.clients.close()
                stop.set()
                if relay is not None:
                    relay.join(10)
                server.stop()
    finally:
        if vhost is not None:
            vhost.__exit__(None, None, None)


def wait_for_queue(server: Embedded) -> None:
    """Until the replica's queue is bound (else the first events would be unroutable, and wake nobody)."""
    deadline = time.monotonic() + 10
    while server.server.ready() is not None:
        assert time.monotonic() < deadline, server.server.ready()
        time.sleep(0.05)
