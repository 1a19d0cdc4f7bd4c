"""Figure 7: outbound mail with DKIM to a local SMTP sink (aiosmtpd on loopback), the mailer's delivery loop as the
worker runs it (one transaction per batch of 50 on PostgreSQL: claim, compose and sign the batch, send each over the
one reused connection, the rows, attempts and outbox events written back together, commit)
against raw smtplib sending the same prebuilt, signed messages over
one reused connection to the same sink."""

from __future__ import annotations

import smtplib
import statistics
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support.infra import BenchError, free_port_block, fresh_database
from support.report import Measure, note

TARGET_PER_SECOND = 200
TARGET_RATIO = 0.5


class _Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.count += 1
        return "250 accepted"


def _runtime(exits: ExitStack, run_id: str, var: Path) -> Any:
    from crm_mailer.app import SERVICE
    from crm_platform import migrations
    from crm_platform.service import bootstrap
    from crm_platform.settings import load

    url = fresh_database(exits, f"crm_bench_{run_id}_outbound")
    migrations.upgrade(SERVICE, url)
    env = {
        "MAILER_DATABASE_URL": url,
        "CRM_LOCAL_BUS_URL": f"sqlite:///{var}/outbound-bus.db",
        "CRM_JWT_SECRET": "bench-outbound-" * 3,
        "CRM_ENV": "development",
        "CRM_LOG_LEVEL": "WARNING",
        "MAILER_MAILDIR": str(var / "outbound-mail"),
        "MAILER_FROM": "Acme Support <support@acme.test>",
        "MAILER_PUBLIC_URL": "https://mail.acme.test",
    }
    rt = bootstrap(SERVICE, load("mailer", env))
    exits.callback(rt.close)
    return rt


def _verified_domain(rt: Any, workspace_id: str) -> None:
    """A sender domain marked verified with its key active, as a check that found its records would leave it."""
    from sqlalchemy import update

    from crm_mailer.domains import service as domains
    from crm_mailer.domains.models import KEY_ACTIVE, DomainKeyRow, SenderDomain
    from crm_mailer.domains.rules import VERIFIED
    from crm_mailer.domains.service import Domains

    setup = Domains.of(rt)
    domains.create(
        rt.database.unit_of_work(), setup.cipher, setup.config, workspace_id=workspace_id, name="acme-widgets.com"
    )
    with rt.database.engine.begin() as connection:
        connection.execute(update(SenderDomain).values(status=VERIFIED, verified_at=datetime.now(UTC)))
        connection.execute(update(DomainKeyRow).values(state=KEY_ACTIVE))


def _queue(rt: Any, workspace_id: str, count: int) -> None:
    from sqlalchemy import delete

    from crm_mailer.outbound import rules
    from crm_mailer.outbound.models import QUEUED, OutboundAttempt, OutboundMessage
    from crm_platform.ids import new_id

    now = datetime.now(UTC)
    with rt.database.unit_of_work() as uow:
        uow.session.execute(delete(OutboundAttempt))
        uow.session.execute(delete(OutboundMessage))
        uow.session.execute(rt.database.outbox.delete())
        for n in range(count):
            outbound_id, ticket_id = new_id(), new_id()
            uow.session.add(
                OutboundMessage(
                    id=outbound_id,
                    workspace_id=workspace_id,
                    source_event_id=new_id(),
                    ticket_id=ticket_id,
                    contact_id=new_id(),
                    recipient=f"customer{n}@example.com",
                    subject=rules.ticket_subject(ticket_id, f"Printer on fire #{n}"),
                    body="We are on it.\n\nThe printer is being replaced this afternoon.\n",
                    rfc822_message_id=rules.message_id(outbound_id, "acme.test"),
                    status=QUEUED,
                    attempts=0,
                    automatic=n % 2 == 0,  # half of them with List-Unsubscribe, signed too
                    created_at=now,
                    next_attempt_at=now,
                )
            )
        uow.commit()


def outbound_bench(exits: ExitStack, run_id: str, var: Path, count: int, runs: int, lines: list[str]) -> None:
    from aiosmtpd.controller import Controller
    from sqlalchemy import select

    from crm_mailer.outbound import delivery
    from crm_mailer.outbound.models import OutboundMessage
    from crm_mailer.outbound.transport import SmtpTransport
    from crm_platform.ids import new_id

    rt = _runtime(exits, run_id, var)
    workspace_id = new_id()
    _verified_domain(rt, workspace_id)
    sink = _Sink()
    port = free_port_block(1)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    exits.callback(controller.stop)
    composer = delivery.Composer.of(rt)

    def ours() -> float:
        _queue(rt, workspace_id, count)
        transport = SmtpTransport("127.0.0.1", port, username=None, password=None, starttls=False)
        before = sink.count
        started = time.perf_counter()
        sent = 0
        while sent < count:
            outcome = delivery.deliver_due(rt.database, transport, composer, limit=count)
            if outcome["deferred"] or outcome["failed"]:
                raise BenchError(f"outbound bench: {outcome}")
            sent += outcome["sent"]
        elapsed = time.perf_counter() - started
        transport.close()
        if sink.count - before != count:
            raise BenchError(f"outbound bench: the sink got {sink.count - before} of {count}")
        return elapsed

    def raw() -> float:
        _queue(rt, workspace_id, count)
        with rt.database.unit_of_work() as uow:
            rows = list(uow.session.scalars(select(OutboundMessage)))
            prebuilt = [(*reversed(composer.compose(row)), row.recipient) for row in rows]
        before = sink.count
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for mail_from, data, recipient in prebuilt:
                smtp.sendmail(mail_from, [recipient], data)
        elapsed = time.perf_counter() - started
        if sink.count - before != count:
            raise BenchError(f"outbound baseline: the sink got {sink.count - before} of {count}")
        return elapsed

    with rt.database.unit_of_work() as uow:  # the first message is signed: the domain is set up as meant
        _queue(rt, workspace_id, 1)
        row = uow.session.scalars(select(OutboundMessage)).one()
        if b"DKIM-Signature:" not in composer.compose(row)[0]:
            raise BenchError("outbound bench: the verified domain's mail is not signed")
    mine, theirs = [], []
    for _ in range(runs):  # interleaved, so both see the same machine
        mine.append(ours())
        theirs.append(raw())
    note(
        f"{count} messages x {runs} runs (DKIM rsa-sha256 2048, PostgreSQL); per run: outbound "
        + ", ".join(f"{count / s:,.0f}" for s in mine)
        + " msg/s; raw smtplib "
        + ", ".join(f"{count / s:,.0f}" for s in theirs)
        + " msg/s"
    )
    figure = Measure("outbound deliver_due with DKIM", count, statistics.median(mine))
    baseline = Measure("raw smtplib, prebuilt, one connection", count, statistics.median(theirs))
    ratio = statistics.median(t / m for m, t in zip(mine, theirs, strict=True))
    verdict = "PASS" if figure.rate >= TARGET_PER_SECOND and ratio >= TARGET_RATIO else "MISS"
    line = (
        f"{figure.text('msg/s')} | {baseline.text('msg/s')} | ratio {ratio:.2f} (medians of {runs} runs); "
        f"target >= {TARGET_PER_SECOND} msg/s and ratio >= {TARGET_RATIO} {verdict}"
    )
    lines.append(line)
    print(line, flush=True)
