"""The realtime stream at scale (not part of CI; ``make bench-realtime``): connections held, RSS, delivery latency.

On a fresh PostgreSQL database and RabbitMQ virtual host it creates 10 workspaces, each with 450 web-chat
conversations, then, for each server in turn, in this one run:

- starts it in a process of its own: ``realtime`` (the service's server: ``crm_conversations.realtime``, fed
  by its own queue, reading the log) or ``baseline`` (a minimal broadcast server on the same library, fed
  the same way: its own exclusive queue on ``crm.events``, each message's body broadcast to the workspace's
  agents and the conversation's visitor, no authentication, no log, no scoping);
- opens 5,000 authenticated connections from a client process (per workspace 50 agents, 450 visitors);
- posts 50 messages a second through the service layer (``messages.service.add``, one transaction with the
  outbox and the log), the outbox relay (as the worker runs it) publishing them to RabbitMQ;
- measures, per frame received, the delivery latency: from just before the API call to the frame received
  (each message's body carries its send time), and the server process's RSS with every client connected.

It prints each figure next to its target and the ratio of realtime's p99 against the baseline's.
``--scale 0.2`` divides the connections by five. Run: ``.venv/bin/python bench/realtime_scale.py``.
The contacts service is stood in for by a directory that knows each member (the bench measures the fan-out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

JWT_SECRET = "realtime-scale-bench-secret-0123456789abcdef"
WORKSPACES, AGENTS, PER_WORKSPACE = 10, 50, 500
TARGET_RSS_MB, TARGET_P99_MS = 500, 250
POSTERS = 4


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def more_files() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def env_of(database_url: str, amqp_url: str) -> dict[str, str]:
    return {
        "CONVERSATIONS_DATABASE_URL": database_url,
        "CRM_AMQP_URL": amqp_url,
        "CRM_JWT_SECRET": JWT_SECRET,
        "CRM_ENV": "test",
        "CRM_LOG_LEVEL": "WARNING",
    }


# --- visitor tokens: the widget's own (crm_conversations.widget.tokens), which the server verifies ---------------
def mint_visitor(rt: Any, workspace_id: str, conversation_id: str) -> str:
    from crm_conversations.widget import tokens
    from crm_platform.db import utcnow

    return tokens.mint_visitor_token(
        tokens.key_of(rt),
        workspace_id=workspace_id,
        inbox_id="inbox",
        conversation_id=conversation_id,
        visitor_id=f"visitor-{conversation_id[:8]}",
        contact_id=None,
        ttl=timedelta(hours=2),
        now=utcnow(),
    )


# --- the servers, each in a process of its own -------------------------------------------------------------
def serve_realtime(port: int) -> None:
    from crm_conversations.app import SERVICE
    from crm_conversations.realtime.server import Realtime
    from crm_platform.service import bootstrap
    from crm_platform.settings import load

    rt = bootstrap(SERVICE, load("conversations", dict(os.environ)))

    async def main() -> None:
        server = Realtime(rt)  # the widget's verify_visitor_token
        await server.start("127.0.0.1", port)
        print("LISTENING", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_baseline(port: int) -> None:
    """A minimal broadcast server on websockets, fed by its own exclusive RabbitMQ queue."""
    import pika
    from websockets.asyncio.server import broadcast, serve

    from crm.events.v1 import conversations_pb2
    from crm_platform.events import unpack

    agents: dict[str, set[Any]] = {}
    visitors: dict[str, set[Any]] = {}

    async def handler(ws: Any) -> None:
        auth = json.loads(await ws.recv())
        workspace_id, conversation_id = auth["token"].split(":")
        index, key = (visitors, conversation_id) if conversation_id else (agents, workspace_id)
        index.setdefault(key, set()).add(ws)
        await ws.send('{"type":"ready"}')
        try:
            await ws.wait_closed()
        finally:
            index[key].discard(ws)

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def deliver(body: bytes) -> None:
            envelope = unpack(body)
            payload = conversations_pb2.ConversationMessageAdded.FromString(envelope.payload.value)
            text = json.dumps({"type": envelope.type, "data": {"body": payload.body}})
            broadcast(agents.get(envelope.workspace_id, ()), text)
            broadcast(visitors.get(payload.conversation_id, ()), text)

        def consume() -> None:
            connection = pika.BlockingConnection(pika.URLParameters(os.environ["CRM_AMQP_URL"]))
            channel = connection.channel()
            queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
            channel.queue_bind(queue, "crm.events", routing_key="conversations.message.added")
            channel.basic_consume(queue, lambda _c, _m, _p, body: loop.call_soon_threadsafe(deliver, body), True)
            channel.start_consuming()

        threading.Thread(target=consume, daemon=True).start()
        async with serve(handler, "127.0.0.1", port, compression=None, max_size=4096):
            print("LISTENING", flush=True)
            await asyncio.Event().wait()

    asyncio.run(main())


# --- the clients -------------------------------------------------------------------------------------------
def run_fleet(url: str, tokens_file: str, seconds: float) -> None:
    """Connect every token, say READY, collect latencies for ``seconds``, print them as JSON."""
    from websockets.asyncio.client import connect

    tokens = json.loads(Path(tokens_file).read_text())
    latencies: list[float] = []
    from_log: list[float] = []  # from the log row's insert (in the API's transaction, before its commit)
    failed = 0
    ready = 0

    async def client(token: str, gate: asyncio.Semaphore, all_ready: asyncio.Event, done: asyncio.Event) -> None:
        nonlocal failed, ready
        try:
            async with gate:
                ws = await connect(url, open_timeout=60, compression=None, max_size=1 << 20)
                await ws.send(json.dumps({"type": "auth", "token": token}))
                while json.loads(await ws.recv()).get("type") != "ready":
                    pass
            ready += 1
            if ready == len(tokens):
                all_ready.set()
            async for message in ws:
                if done.is_set():
                    break
                frame = json.loads(message)
                body = frame.get("data", {}).get("body", "")
                if body.startswith("t="):
                    now = time.time()
                    latencies.append(now - float(body[2:]))
                    if "occurred_at" in frame:
                        from_log.append(now - datetime.fromisoformat(frame["occurred_at"]).timestamp())
            await ws.close()
        except Exception:  # noqa: BLE001 - counted, reported
            failed += 1
            if ready + failed == len(tokens):
                all_ready.set()

    async def main() -> None:
        gate, all_ready, done = asyncio.Semaphore(200), asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(client(t, gate, all_ready, done)) for t in tokens]
        await all_ready.wait()
        print(f"READY {ready} {failed}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # the posts are over
        await asyncio.sleep(seconds)
        done.set()
        print(json.dumps({"latencies": latencies, "from_log": from_log, "failed": failed, "ready": ready}), flush=True)
        for task in tasks:
            task.cancel()

    asyncio.run(main())


# --- the driver --------------------------------------------------------------------------------------------
def child(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def seed(database_url: str, per_workspace: int) -> tuple[list[str], dict[str, list[str]]]:
    """Workspaces and their web-chat conversations, inserted set-based (not what is measured)."""
    from sqlalchemy import create_engine, insert

    from crm_conversations.conversations.models import Conversation
    from crm_platform.db import utcnow

    workspaces = [str(uuid.uuid4()) for _ in range(WORKSPACES)]
    conversations: dict[str, list[str]] = {ws: [str(uuid.uuid4()) for _ in range(per_workspace)] for ws in workspaces}
    now = utcnow()
    rows = [
        {
            "id": cid,
            "workspace_id": ws,
            "contact_id": str(uuid.uuid4()),
            "subject": "Chat",
            "channel": "web_chat",
            "status": "open",
            "message_count": 0,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "last_activity_at": now,
        }
        for ws, ids in conversations.items()
        for cid in ids
    ]
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(insert(Conversation.__table__), rows)
    engine.dispose()
    return workspaces, conversations


class Members:
    """Stands in for the contacts service: every member exists, without a signature."""

    def member(self, member_id: str) -> Any:
        from crm_platform.clients.contacts import MemberCard

        return MemberCard(id=member_id, name="Agent", signature=None)


def post(rt: Any, workspaces: list[str], conversations: dict[str, list[str]], rate: float, seconds: float) -> int:
    """``rate`` messages a second for ``seconds`` through the service layer, each to a random conversation, from
    POSTERS threads (as the HTTP API's threads would: one alone cannot commit 50 a second on a busy machine)."""
    from concurrent.futures import ThreadPoolExecutor

    from crm_conversations.messages import service as messages
    from crm_platform.context import Caller

    members = Members()

    def one_thread(index: int) -> int:
        sent, start, each = 0, time.monotonic(), rate / POSTERS
        rng = random.Random(index)
        while time.monotonic() - start < seconds:
            ws = rng.choice(workspaces)
            caller = Caller(workspace_id=ws, user_id="agent-0", role="admin", token="")
            messages.add(
                rt.database.unit_of_work(),
                members,  # type: ignore[arg-type]
                None,
                caller=caller,
                conversation_id=rng.choice(conversations[ws]),
                body=f"t={time.time():.6f}",
            )
            sent += 1
            pause = start + sent / each - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        return sent

    with ThreadPoolExecutor(POSTERS) as pool:
        return sum(pool.map(one_thread, range(POSTERS)))


def measure(
    kind: str, port: int, env: dict[str, str], tokens: list[str], rt: Any, seeded: Any, args: Any, tmp: Path
) -> dict[str, float]:
    server = child("--serve", kind, "--port", str(port), env=env)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "LISTENING", f"{kind} did not start"
        tokens_file = tmp / f"{kind}-tokens.json"
        tokens_file.write_text(json.dumps(tokens))
        fleet = child(
            "--fleet", f"ws://127.0.0.1:{port}/v1/conversations/realtime", str(tokens_file), "--grace", "2", env=env
        )
        assert fleet.stdout is not None and fleet.stdin is not None
        _, ready, failed = fleet.stdout.readline().split()
        time.sleep(2)  # settle
        held_rss = rss_mb(server.pid)
        log(f"{kind}: {ready} connections ready ({failed} failed), RSS {held_rss:.0f} MB; posting")
        sent = post(rt, *seeded, args.rate, args.seconds)
        fleet.stdin.write("\n")
        fleet.stdin.flush()
        result = json.loads(fleet.stdout.readline())
        fleet.wait(30)
        latencies = [x * 1000 for x in result["latencies"]]
        from_log = [x * 1000 for x in result["from_log"]]
        return {
            "connections": float(ready),
            "failed": float(failed),
            "rss_mb": held_rss,
            "rss_after_mb": rss_mb(server.pid),
            "sent": float(sent),
            "frames": float(len(latencies)),
            "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99),
            "max": max(latencies, default=float("nan")),
            "log_p50": percentile(from_log, 0.5),
            "log_p99": percentile(from_log, 0.99),
        }
    finally:
        server.terminate()
        server.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--serve", choices=("realtime", "baseline"))
    parser.add_argument("--port", type=int)
    parser.add_argument("--fleet", nargs=2)
    parser.add_argument("--grace", type=float, default=2.0)
    args = parser.parse_args()
    more_files()
    if args.serve == "realtime":
        return serve_realtime(args.port)
    if args.serve == "baseline":
        return serve_baseline(args.port)
    if args.fleet:
        return run_fleet(args.fleet[0], args.fleet[1], args.grace)

    import tempfile

    from support.infra import free_port_block, fresh_database, fresh_vhost

    from crm_conversations.app import SERVICE
    from crm_platform import auth, migrations
    from crm_platform.outbox import OutboxRelay
    from crm_platform.service import bootstrap
    from crm_platform.settings import load

    per_workspace = max(2, round(PER_WORKSPACE * args.scale))
    agents = max(1, min(AGENTS, round(AGENTS * args.scale)))
    with ExitStack() as stack:
        database_url = fresh_database(stack, "crm_realtime_scale_bench")
        amqp_url = fresh_vhost(stack, f"crm-realtime-bench-{uuid.uuid4().hex[:8]}")
        env = env_of(database_url, amqp_url)
        migrations.upgrade(SERVICE, database_url)
        workspaces, conversations = seed(database_url, per_workspace - agents)
        rt = bootstrap(SERVICE, load("conversations", env))
        stack.callback(rt.close)
        tokens_realtime, tokens_baseline = [], []
        for ws in workspaces:
            for n in range(agents):
                tokens_realtime.append(auth.mint_for(rt.settings, workspace_id=ws, user_id=f"agent-{n}", role="agent"))
                tokens_baseline.append(f"{ws}:")
            for cid in conversations[ws]:
                tokens_realtime.append(mint_visitor(rt, ws, cid))
                tokens_baseline.append(f"{ws}:{cid}")
        stop = threading.Event()
        relay = threading.Thread(target=OutboxRelay(rt.database, rt.connect_bus, rt.metrics).run, args=(stop,))
        relay.start()
        stack.callback(relay.join)
        stack.callback(stop.set)
        port = free_port_block(2)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        seeded = (workspaces, conversations)
        log(f"{len(tokens_realtime)} connections, {agents} agents and {per_workspace - agents} visitors per workspace")
        ours = measure("realtime", port, env, tokens_realtime, rt, seeded, args, tmp)
        base = measure("baseline", port + 1, env, tokens_baseline, rt, seeded, args, tmp)
    expected = ours["sent"] * (agents + 1)
    rate = ours["sent"] / args.seconds
    print(
        f"realtime scale: {ours['connections']:.0f} connections ({ours['failed']:.0f} failed), {rate:.0f} msg/s posted"
    )
    print(
        f"  RSS with every client connected: {ours['rss_mb']:.0f} MB (after the run {ours['rss_after_mb']:.0f} MB); "
        f"target < {TARGET_RSS_MB} MB: {'met' if ours['rss_mb'] < TARGET_RSS_MB else 'MISSED'}"
    )
    print(f"  frames: {ours['frames']:.0f} of {expected:.0f} expected ({ours['sent']:.0f} messages)")
    print(
        f"  delivery latency p50 {ours['p50']:.1f} ms, p99 {ours['p99']:.1f} ms, max {ours['max']:.1f} ms; "
        f"target p99 < {TARGET_P99_MS} ms: {'met' if ours['p99'] < TARGET_P99_MS else 'MISSED'}"
    )
    print(
        f"  of which from the log row's insert (commit, relay, RabbitMQ, the log's read, fan-out): "
        f"p50 {ours['log_p50']:.1f} ms, p99 {ours['log_p99']:.1f} ms"
    )
    print(
        f"  baseline (minimal broadcast, same library and feed): RSS {base['rss_mb']:.0f} MB, frames "
        f"{base['frames']:.0f} of {base['sent'] * (agents + 1):.0f}, p50 {base['p50']:.1f} ms, p99 {base['p99']:.1f} ms"
    )
    print(f"  ratio p99 realtime / baseline: {ours['p99'] / base['p99']:.2f}")


if __name__ == "__main__":
    main()
