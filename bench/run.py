"""Benchmarks of the microservices mode (``make bench``; not part of CI).

Each figure is printed next to a raw baseline measured in the same run, on the same machine, at the
same concurrency, as a ratio against a target:

1. contacts.create over HTTP (POST /v1/contacts on a stack this script starts: gunicorn, PostgreSQL,
   outbox row in the same transaction), on the contacts HTTP port and through the gateway,
   vs raw psycopg single-row INSERT+COMMIT into an equivalent table.            target >= 0.5
2. gRPC GetContact (crm.contacts.v1.ContactsService) vs a raw grpcio unary echo server, same client
   code.                                                                          target >= 0.5
3. OutboxRelay.relay_once() loops publishing N outbox rows vs raw pika publishing the same N bodies
   with batched publisher confirms (bench/peers), same fresh vhost and bound queue.  target >= 0.7
4. The ceiling of contacts.create on this machine, printed after figure 1: the SQL of one create alone
   (pgbench, bench/create_contact.pgbench.sql, pipelined and one round trip per statement) and a bare
   Flask app under the stack's gunicorn settings (bench/floor_app.py, the same wrk load). Their CPU per
   request added (CPUs / rate each) bounds the rate any implementation of the create can reach here;
   printed with its ratio against the same raw INSERT+COMMIT baseline as figure 1.
5. Inbound mail in this process: parse, classify, extract the reply and thread every message of the test
   corpus (tests/fixtures/mail) vs the standard library's email.message_from_bytes(policy=default) alone
   over the same corpus, median of several interleaved runs.                   target >= 200 msg/s
6. Outbound mail with DKIM to a local SMTP sink (aiosmtpd): the mailer's deliver_due on PostgreSQL (claim a
   batch, compose and sign it, send over one reused connection, attempt rows, outbox events, commit) vs raw
   smtplib sending the same prebuilt signed messages over one connection.
                                                            target >= 200 msg/s and ratio >= 0.5

7. The reports consumer on one worker (RabbitBus.consume with the reports IdempotentConsumer, batched)
   vs raw pika consuming with manual acks (bench/peers), interleaved rounds, medians: events/s and CPU
   per event in the consumer's process.              targets >= 2,000 events/s, <= 0.4 ms CPU per event
8. Inbound mail over SMTP (--only inbound-smtp): the mailer's listener stores, parses, classifies and routes
   the corpus sent by four smtplib clients (processed in the listener, then by a worker process; then sixteen
   clients) vs an aiosmtpd sink that keeps nothing and vs the stdlib parser alone.  target >= 200 msg/s
9. A ticket's public comment to its mail at the SMTP sink (--only comment-mail), microservices mode, open loop
   at --comment-rate per second: p50/p99 from POST to the mail filed, vs raw smtplib at the same rate.
                                                                                  target p99 < 1 s at 50/s
10. The contacts paths vs the naive code a team would write (--only create-peer, list-peer, grpc-peer;
   bench/peers): POST /v1/contacts vs Flask + ORM add + commit, the list page vs ORM + selectinload,
   GetContact vs grpcio + one Core SELECT; one seeded database, interleaved rounds, medians of rate and
   of CPU per request (server + its PostgreSQL backends).   targets >= 1.0 (and <= 1.0 x CPU), 1.5, 2.0

A missed target is reported, not an error: the exit status is non-zero only when something failed
(a service did not start, a request was answered with an error, a message went missing).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from figures.ceiling import ceiling, ceiling_database, http_floor, sql_floors
from figures.comment_mail import comment_mail_bench
from figures.consumer import consumer_bench
from figures.create_http import raw_baseline, wait_drained
from figures.grpc_get import start_echo_server
from figures.inbound import inbound_bench
from figures.inbound_smtp import inbound_smtp_bench
from figures.orm_peers import FIGURES as PEER_FIGURES
from figures.orm_peers import orm_peers_bench
from figures.outbound import outbound_bench
from figures.relay import relay_bench
from support.cpu import CpuMeter, StackCpu
from support.infra import BenchError, free_port_block, fresh_vhost
from support.load import grpc_load, http_load
from support.report import Measure, compare, note

FIGURES = (
    "inbound",
    "inbound-smtp",
    "outbound",
    "http",
    "grpc",
    "relay",
    "consumer",
    "ceiling",
    "comment-mail",
    *PEER_FIGURES,
)


# --- the run ------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per figure (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up before each (default 3)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--relay-events", type=int, default=20000, help="outbox rows to relay (default 20000)")
    parser.add_argument("--consumer-events", type=int, default=5000, help="events per consumer round (5000)")
    parser.add_argument("--consumer-rounds", type=int, default=5, help="interleaved consumer rounds (5)")
    parser.add_argument("--http-workers", type=int, default=2, help="gunicorn workers per service (default 2)")
    parser.add_argument(
        "--http-threads", type=int, default=None, help="gunicorn threads per worker (default: CRM_HTTP_THREADS's)"
    )
    parser.add_argument("--only", choices=FIGURES, action="append", help="run only these figures")
    parser.add_argument("--inbound-runs", type=int, default=5, help="interleaved runs of the inbound figure (5)")
    parser.add_argument("--inbound-passes", type=int, default=20, help="passes over the corpus per run (20)")
    parser.add_argument("--outbound-messages", type=int, default=1000, help="messages per outbound run (1000)")
    parser.add_argument("--outbound-runs", type=int, default=3, help="interleaved runs of the outbound figure (3)")
    parser.add_argument("--inbound-messages", type=int, default=2000, help="mails sent over SMTP (2000)")
    parser.add_argument("--comment-rate", type=float, default=50.0, help="public comments per second (50)")
    parser.add_argument("--peer-rounds", type=int, default=5, help="interleaved rounds of the *-peer figures (5)")
    parser.add_argument("--peer-seconds", type=float, default=5.0, help="seconds per side per round (5)")
    parser.add_argument("--peer-seed", type=int, default=20000, help="contacts seeded for the *-peer figures")
    parser.add_argument("--keep", action="store_true", help="keep the stack's logs directory")
    args = parser.parse_args()
    only = set(args.only or FIGURES)

    from crm_devtools import devstack

    from crm_platform import auth, settings
    from crm_platform.processes import DEFAULT_HTTP_THREADS

    http_threads = args.http_threads or DEFAULT_HTTP_THREADS

    run_id = uuid.uuid4().hex[:8]
    lines: list[str] = []
    var = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    print(
        f"crm bench {run_id}: {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), "
        f"{args.concurrency} concurrent clients, "
        f"{args.duration:g}s measured after {args.warmup:g}s warm-up; load generator: "
        f"{'wrk' if shutil.which('wrk') else 'Python threads (wrk not installed)'} for HTTP, grpc.aio for gRPC",
        flush=True,
    )
    failed = False
    raw_create: Measure | None = None  # the raw INSERT+COMMIT baseline of figure 1, shared with the ceiling
    raw_cpu: CpuMeter | None = None
    direct: Measure | None = None  # figure 1 and where its CPU went, for the ceiling's notes
    stack_cpu: StackCpu | None = None
    with ExitStack() as exits:
        try:
            if "inbound" in only:
                print("[inbound] parse, classify, reply, thread over the mail corpus vs the stdlib parser", flush=True)
                inbound_bench(args.inbound_runs, args.inbound_passes, lines)

            if "outbound" in only:
                print("[outbound] deliver_due with DKIM to an aiosmtpd sink vs raw smtplib, prebuilt", flush=True)
                outbound_bench(exits, run_id, var, args.outbound_messages, args.outbound_runs, lines)
            if "inbound-smtp" in only:
                print(f"[inbound-smtp] {args.inbound_messages} mails over SMTP to the listener, routed", flush=True)
                inbound_smtp_bench(exits, run_id, args.inbound_messages, lines)

            if "comment-mail" in only:
                print(f"[comment-mail] public comments at {args.comment_rate:g}/s to the SMTP sink", flush=True)
                comment_mail_bench(exits, run_id, var, args.comment_rate, args.duration, args.http_workers, lines)

            if "relay" in only:
                print(f"[relay] {args.relay_events} events, fresh database and vhost", flush=True)
                relay, raw = relay_bench(exits, run_id, args.relay_events)
                compare(relay, raw, 0.7, "msg/s", lines)

            if "consumer" in only:
                print(
                    f"[consumer] reports consumer vs raw pika, {args.consumer_rounds} x {args.consumer_events}",
                    flush=True,
                )
                consumer_bench(exits, run_id, args.consumer_events, args.consumer_rounds, lines)

            if only & set(PEER_FIGURES):
                orm_peers_bench(
                    exits,
                    run_id,
                    only & set(PEER_FIGURES),
                    rounds=args.peer_rounds,
                    seconds=args.peer_seconds,
                    warmup=args.warmup,
                    concurrency=args.concurrency,
                    seed=args.peer_seed,
                    http_workers=args.http_workers,
                    http_threads=http_threads,
                    lines=lines,
                )

            if only & {"http", "grpc"}:
                base = free_port_block()
                stack_vhost = fresh_vhost(exits, f"crm-bench-{run_id}")
                config = devstack.StackConfig(
                    var=var,
                    amqp_url=stack_vhost,
                    db_prefix=f"crm_bench_{run_id}",
                    gateway_port=base + 55,
                    smtp_port=base + 56,
                    base_port=base,
                    http_workers=args.http_workers,
                    extra_env={
                        "CRM_LOG_LEVEL": "WARNING",
                        "CRM_HTTP_THREADS": str(http_threads),
                        # the limiter still counts every request, it just never refuses one of the load
                        "CRM_RATE_LIMIT_PER_TOKEN": "1000000000",
                        "CRM_RATE_LIMIT_PER_WORKSPACE": "1000000000",
                    },
                    drop_databases_on_stop=True,
                )
                stack = devstack.Stack(config)
                began = time.perf_counter()
                print(f"[stack] starting {len(config.services)} services (HTTP, gRPC, worker each)", flush=True)
                exits.callback(stack.stop)
                stack.start()
                note(f"ready in {time.perf_counter() - began:.1f}s; logs in {var / 'logs'}")
                created = subprocess.run(
                    [sys.executable, "-m", "crm_platform.cli", "workspace", "create", "Bench"],
                    env=stack.env_for("contacts", "cli"),
                    capture_output=True,
                    text=True,
                )
                if created.returncode != 0:
                    raise BenchError(f"crm workspace create failed: {created.stderr}")
                workspace = created.stdout.strip().splitlines()[-1]
                token = auth.mint(
                    secret=config.jwt_secret, production=False, workspace_id=workspace, user_id="bench", role="admin"
                )
                contacts = devstack.ports(config, "contacts")

            if "http" in only:
                print("[http] POST /v1/contacts", flush=True)
                raw, raw_cpu = raw_baseline(
                    exits, run_id, args.concurrency, args.duration, args.warmup, with_cpu="ceiling" in only
                )
                raw_create = raw
                stack_cpu = StackCpu(stack, ("contacts", "http"))
                direct = http_load(
                    "contacts.create over HTTP",
                    f"http://127.0.0.1:{contacts['http']}",
                    token,
                    args.concurrency,
                    args.duration,
                    args.warmup,
                    meter=stack_cpu,
                )
                compare(direct, raw, 0.5, "req/s", lines)
                stack_cpu.report(direct.count)
                note(f"events of the run relayed and consumed by reports {wait_drained(stack, stack_vhost):.1f}s later")
                gateway = http_load(
                    "contacts.create via gateway", stack.url, token, args.concurrency, args.duration, args.warmup
                )
                compare(gateway, raw, 0.5, "req/s", lines)
                note(f"events of the run relayed and consumed by reports {wait_drained(stack, stack_vhost):.1f}s later")

            if "ceiling" in only:
                print("[ceiling] the create's SQL alone (pgbench) and a bare Flask app (gunicorn)", flush=True)
                if raw_create is None:
                    raw_create, raw_cpu = raw_baseline(
                        exits, run_id, args.concurrency, args.duration, args.warmup, with_cpu=True
                    )
                ceiling_url, constants = ceiling_database(exits, run_id, var)
                pipelined, plain = sql_floors(ceiling_url, constants, var, args.concurrency, args.duration, args.warmup)
                with ExitStack() as floor_app:  # stopped before the next figure
                    bare = http_floor(
                        floor_app, var, args.http_workers, http_threads, args.concurrency, args.duration, args.warmup
                    )
                measured = (direct, stack_cpu) if direct is not None and stack_cpu is not None else None
                ceiling(pipelined, plain, bare, raw_create, raw_cpu, 0.5, lines, measured)

            if "grpc" in only:
                print("[grpc] GetContact", flush=True)
                import requests

                from crm.contacts.v1 import contacts_pb2

                answer = requests.post(
                    f"http://127.0.0.1:{contacts['http']}/v1/contacts",
                    json={"name": "Ada Lovelace", "email": "ada@example.com", "phone": "699 999 999"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                )
                if answer.status_code != 201:
                    raise BenchError(f"POST /v1/contacts answered {answer.status_code}: {answer.text}")
                request = contacts_pb2.GetContactRequest(contact_id=answer.json()["id"])
                # What tickets sends when an agent's request reads a contact: its service token and the
                # agent's token, both verified once by the server and then found in its cache (120 s).
                from crm_platform.service_tokens import SERVICE_TOKEN_METADATA, ServiceTokenMinter

                tickets_key = stack.env_for("tickets", "grpc")["TICKETS_SERVICE_KEY"]
                service_token = ServiceTokenMinter("tickets", tickets_key).token("crm.contacts.v1.ContactsService")
                metadata = ((SERVICE_TOKEN_METADATA, service_token), ("authorization", f"Bearer {token}"))
                # The echo gets the thread pool of the stack's contacts gRPC server: the same machinery.
                threads = settings.load("contacts", stack.env_for("contacts", "grpc")).grpc_workers
                echo = start_echo_server(exits, base + 57, threads)
                raw_grpc = grpc_load(
                    "raw grpcio echo",
                    echo,
                    "/bench.Echo/Echo",
                    request,
                    metadata,
                    args.concurrency,
                    args.duration,
                    args.warmup,
                )
                get = grpc_load(
                    "gRPC GetContact",
                    f"127.0.0.1:{contacts['grpc']}",
                    "/crm.contacts.v1.ContactsService/GetContact",
                    request,
                    metadata,
                    args.concurrency,
                    args.duration,
                    args.warmup,
                )
                compare(get, raw_grpc, 0.5, "req/s", lines)
        except BenchError as exc:
            print(f"ERROR: {exc}", file=sys.stderr, flush=True)
            failed = True
        except Exception:  # noqa: BLE001 - reported, then the run exits non-zero after cleaning up
            import traceback

            traceback.print_exc()
            failed = True
        print("[cleanup] stopping the stack, dropping databases and vhosts", flush=True)
    if not (failed or args.keep):
        shutil.rmtree(var, ignore_errors=True)
    else:
        print(f"logs kept in {var / 'logs'}", file=sys.stderr)
    if lines:
        print("\nsummary")
        for line in lines:
            print("  " + line)
        load = os.getloadavg()[1]
        if load > (os.cpu_count() or 1):
            print(
                f"  note: the 5-minute load average was {load:.1f} on {os.cpu_count()} CPUs: "
                "other work shared the machine, so the figures are noisy"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
