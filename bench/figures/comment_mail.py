"""Figure 9 (--only comment-mail): a ticket's public comment to its email at the SMTP server, in microservices
mode (tickets' gunicorn and outbox relay, RabbitMQ, the mailer's worker consuming, queueing and delivering over
SMTP to the stack's aiosmtpd sink on loopback, contacts asked over gRPC), at a steady rate of comments per
second (open loop: a comment is posted on schedule whether or not the earlier ones have arrived).

Latency of one comment: from the moment its POST is sent to the moment its mail is filed by the sink (the
Maildir file's mtime). The baseline, in the same run against the same sink at the same rate: smtplib sending a
prebuilt mail of the same size (connect, send, quit): what the SMTP hop alone costs here.
                                                                           target p99 < 1 s at 50 comments/s"""

from __future__ import annotations

import os
import re
import smtplib
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from support.infra import BenchError, free_port_block, fresh_vhost
from support.report import note

TARGET_P99_S = 1.0
_TOKEN = re.compile(rb"bench-(\w+)-(\d+)")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _arrivals(maildir: Path, run: str) -> dict[int, float]:
    """Index -> the wall-clock time its mail was filed, for this run's mails in ``maildir``."""
    found: dict[int, float] = {}
    folder = maildir / "new"
    if not folder.exists():
        return found
    for entry in os.scandir(folder):
        try:
            data = Path(entry.path).read_bytes()
        except FileNotFoundError:
            continue
        for match in _TOKEN.finditer(data):
            if match.group(1).decode() == run:
                found[int(match.group(2))] = entry.stat().st_mtime
                break
    return found


def _open_loop(rate: float, count: int, act: Any, workers: int = 32) -> dict[int, float]:
    """Call ``act(i)`` for i < count at ``rate`` per second on a schedule; i -> when each call began."""
    began: dict[int, float] = {}
    errors: list[str] = []
    start = time.perf_counter() + 0.2

    def one(index: int) -> None:
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        began[index] = time.time()
        try:
            act(index)
        except Exception as exc:  # noqa: BLE001 - reported below, the run fails
            errors.append(repr(exc))

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(count)))
    if errors:
        raise BenchError(f"{len(errors)} of {count} failed, e.g. {errors[0]}")
    return began


def _wait(maildir: Path, run: str, count: int, timeout: float) -> dict[int, float]:
    deadline = time.monotonic() + timeout
    while True:
        found = _arrivals(maildir, run)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def _latencies(began: dict[int, float], arrived: dict[int, float], count: int) -> list[float]:
    missing = [i for i in range(count) if i not in arrived]
    if missing:
        raise BenchError(f"{len(missing)} of {count} mails never reached the SMTP server (e.g. #{missing[0]})")
    return [arrived[i] - began[i] for i in range(count)]


def _line(label: str, values: list[float]) -> str:
    return (
        f"{label}: p50 {statistics.median(values) * 1000:.0f} ms, p99 {_percentile(values, 0.99) * 1000:.0f} ms, "
        f"max {max(values) * 1000:.0f} ms over {len(values)}"
    )


def comment_mail_bench(
    exits: ExitStack, run_id: str, var: Path, rate: float, seconds: float, http_workers: int, lines: list[str]
) -> None:
    import requests
    from crm_devtools import devstack

    from crm_platform import auth

    base = free_port_block()
    config = devstack.StackConfig(
        var=var / "comment-mail",
        amqp_url=fresh_vhost(exits, f"crm-bench-mail-{run_id}"),
        db_prefix=f"crm_bench_mail_{run_id}",
        gateway_port=base + 55,
        smtp_port=base + 56,
        base_port=base,
        http_workers=http_workers,
        extra_env={
            "CRM_LOG_LEVEL": "WARNING",
            "CRM_RATE_LIMIT_PER_TOKEN": "1000000000",
            "CRM_RATE_LIMIT_PER_WORKSPACE": "1000000000",
        },
        drop_databases_on_stop=True,
    )
    stack = devstack.Stack(config)
    exits.callback(stack.stop)
    began_at = time.perf_counter()
    stack.start()
    note(f"stack ready in {time.perf_counter() - began_at:.1f}s")
    created = subprocess.run(
        [sys.executable, "-m", "crm_platform.cli", "workspace", "create", "Bench mail"],
        env=stack.env_for("contacts", "cli"),
        capture_output=True,
        text=True,
    )
    if created.returncode != 0:
        raise BenchError(f"crm workspace create failed: {created.stderr}")
    workspace = created.stdout.strip().splitlines()[-1]
    token = auth.mint(secret=config.jwt_secret, production=False, workspace_id=workspace, user_id="bench", role="admin")
    tickets_url = f"http://127.0.0.1:{devstack.ports(config, 'tickets')['http']}"
    contacts_url = f"http://127.0.0.1:{devstack.ports(config, 'contacts')['http']}"
    headers = {"Authorization": f"Bearer {token}"}
    ticket_ids = []
    for n in range(20):  # comments spread over tickets, as agents answer different ones
        contact = requests.post(
            f"{contacts_url}/v1/contacts",
            json={"name": f"Client {n}", "email": f"client{n}@example.com"},
            headers=headers,
            timeout=30,
        )
        if contact.status_code != 201:
            raise BenchError(f"POST /v1/contacts answered {contact.status_code}: {contact.text}")
        opened = requests.post(
            f"{tickets_url}/v1/tickets",
            json={"subject": f"Printer {n}", "contact_id": contact.json()["id"]},
            headers=headers,
            timeout=30,
        )
        if opened.status_code != 201:
            raise BenchError(f"POST /v1/tickets answered {opened.status_code}: {opened.text}")
        ticket_ids.append(opened.json()["id"])

    local = threading.local()

    def session() -> Any:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    answered: dict[str, dict[int, float]] = {}

    def post_comment(run: str) -> Any:
        answered[run] = {}

        def act(index: int) -> None:
            answer = session().post(
                f"{tickets_url}/v1/tickets/{ticket_ids[index % len(ticket_ids)]}/comments",
                json={"body": f"We are on it. bench-{run}-{index}\nA technician comes today.", "public": True},
                headers=headers,
                timeout=30,
            )
            if answer.status_code != 201:
                raise BenchError(f"POST comments answered {answer.status_code}: {answer.text[:200]}")
            answered[run][index] = time.time()

        return act

    host, port = "127.0.0.1", config.smtp_port

    def raw_send(run: str) -> Any:
        def act(index: int) -> None:
            mail = EmailMessage()
            mail["From"] = "Bench <bench@example.com>"
            mail["To"] = "client@example.com"
            mail["Subject"] = "[#1] Printer"
            mail.set_content(f"We are on it. bench-{run}-{index}\nA technician comes today.\n")
            with smtplib.SMTP(host, port, timeout=30) as client:
                client.send_message(mail)

        return act

    warm = uuid.uuid4().hex[:6]
    _open_loop(rate, int(rate * 2), post_comment(warm))  # warm-up: connections, caches
    _wait(stack.maildir, warm, int(rate * 2), 60)

    count = int(rate * seconds)
    raw_run = uuid.uuid4().hex[:6]
    raw_began = _open_loop(rate, count, raw_send(raw_run))
    raw = _latencies(raw_began, _wait(stack.maildir, raw_run, count, 60), count)
    run = uuid.uuid4().hex[:6]
    comment_began = _open_loop(rate, count, post_comment(run))
    measured = _latencies(comment_began, _wait(stack.maildir, run, count, 120), count)

    http = [answered[run][i] - comment_began[i] for i in range(count)]
    note(_line("of which the POST's answer", http))
    p99 = _percentile(measured, 0.99)
    verdict = "PASS" if p99 < TARGET_P99_S else "MISS"
    line = (
        f"comment -> SMTP at {rate:g}/s {_line('', measured)[2:]} | raw smtplib {_line('', raw)[2:]} | "
        f"p99 ratio {p99 / max(_percentile(raw, 0.99), 1e-6):.1f}x raw (target p99 < {TARGET_P99_S:g} s) {verdict}"
    )
    lines.append(line)
    print(line, flush=True)
