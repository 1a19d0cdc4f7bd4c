"""Delivering queued mail: compose each message from its row (From at the workspace's verified domain, Reply-To
and Return-Path tokens, threading and unsubscribe headers), DKIM-sign it when its domain is verified, send it,
and record the attempt. A batch of messages is claimed, sent over one connection and committed together
(``BATCH``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any, cast

from google.protobuf.message import Message
from sqlalchemy import Table, bindparam, select, text, update

from crm.events.v1 import mailer_pb2
from crm_events import EventType
from crm_events.mailer import DELIVERY_BOUNCED, MESSAGE_SENT
from crm_mailer.attachments import limits_of
from crm_mailer.domains import dkim
from crm_mailer.domains import service as domains
from crm_mailer.domains.dkim import DomainKey, KeyCipher, cipher_for
from crm_mailer.outbound import rules, tokens, wire
from crm_mailer.outbound.attachments import Attacher, attach
from crm_mailer.outbound.models import (
    ATTEMPT_BOUNCED,
    ATTEMPT_DEFERRED,
    ATTEMPT_FAILED,
    ATTEMPT_SENT,
    FAILED,
    QUEUED,
    SENT,
    OutboundAttempt,
    OutboundMessage,
)
from crm_mailer.outbound.settings import Addressing
from crm_mailer.outbound.transport import PermanentFailure, TemporaryFailure, Transport
from crm_mailer.settings import MailerSettings
from crm_platform.attachments.client import AttachmentFetcher
from crm_platform.db import Database, UnitOfWork, utcnow
from crm_platform.ids import new_id
from crm_platform.service import Runtime

log = logging.getLogger(__name__)
DOMAIN_CACHE_SECONDS = 30.0  # how long a workspace's sending domain and key are reused before asking again


@dataclass
class Composer:
    """What turns a queued row into signed bytes: the addressing settings, and per workspace its sending domain
    and DKIM key (asked of the sender domains, cached briefly so a burst of mail asks once)."""

    addressing: Addressing
    default_name: str  # MAILER_FROM's display name, when no member wrote the mail
    lookup_domain: Callable[[str], str | None]  # workspace -> verified domain
    lookup_key: Callable[[str, str], DomainKey | None]  # workspace, From -> key
    clock: Callable[[], float] = time.monotonic
    attacher: Attacher | None = None  # fetches the files a mail carries by reference (outbound/attachments.py)
    _cache: dict[str, tuple[float, str, DomainKey | None]] = field(default_factory=dict)

    @classmethod
    def of(cls, rt: Runtime) -> Composer:
        settings: MailerSettings = rt.service_settings
        return cls.for_database(rt.database, settings, cipher_for(settings.dkim_encryption_keys, rt.settings), rt)

    @classmethod
    def for_database(cls, database: Database, settings: MailerSettings, cipher: KeyCipher, rt: Runtime) -> Composer:
        return cls(
            addressing=Addressing.of(settings, rt.settings),
            default_name=parseaddr(settings.from_address)[0],
            lookup_domain=lambda workspace_id: domains.verified_domain_of(database, workspace_id=workspace_id),
            lookup_key=lambda workspace_id, sender: domains.signing_key_for(
                database, cipher, workspace_id=workspace_id, sender=sender
            ),
            attacher=Attacher(AttachmentFetcher(rt.grpc), limits_of(settings)),
        )

    def sending(self, workspace_id: str) -> tuple[str, DomainKey | None]:
        """The workspace's From domain and the key that signs for it (None: the generic domain, unsigned)."""
        now = self.clock()
        cached = self._cache.get(workspace_id)
        if cached is not None and now - cached[0] < DOMAIN_CACHE_SECONDS:
            return cached[1], cached[2]
        domain = self.lookup_domain(workspace_id)
        key = self.lookup_key(workspace_id, f"{self.addressing.local_part}@{domain}") if domain else None
        found = (domain, key) if domain and key else (self.addressing.platform_domain, None)
        self._cache[workspace_id] = (now, *found)
        return found

    def compose(self, message: OutboundMessage) -> tuple[bytes, str]:
        """The message's bytes (signed when its domain is verified) and its envelope sender (VERP)."""
        a = self.addressing
        domain, key = self.sending(message.workspace_id)
        thread = message.ticket_id or message.id
        reply_to = tokens.address(
            a.token_key, tokens.REPLY, a.inbound_domain, workspace_id=message.workspace_id, subject_id=thread
        )
        bounce = tokens.address(
            a.token_key, tokens.BOUNCE, a.inbound_domain, workspace_id=message.workspace_id, subject_id=message.id
        )
        unsubscribe: tuple[str, ...] = ()
        if message.automatic and message.contact_id:  # a member's notification has no contact to unsubscribe
            token = tokens.sign(
                a.token_key, tokens.UNSUBSCRIBE, workspace_id=message.workspace_id, subject_id=message.id
            )
            mailto = f"mailto:{tokens.UNSUBSCRIBE}+{token}@{a.inbound_domain}"
            unsubscribe = (f"{a.public_url}/v1/mailer/unsubscribe/{token}", mailto) if a.public_url else (mailto,)
        sender_name = message.author_name or self.default_name
        sender_address = f"{a.local_part}@{domain}"
        content = {
            "recipient": message.recipient or "",
            "subject": message.subject,
            "body": message.body,
            "html_body": message.html_body,
            "rfc822_message_id": message.rfc822_message_id,
            "ticket_id": message.ticket_id,
            "when": message.created_at,
            "headers": rules.Headers(
                reply_to=reply_to,
                in_reply_to=message.in_reply_to,
                references=tuple((message.references or "").split()),
                automatic=message.automatic,
                list_unsubscribe=unsubscribe,
                one_click=bool(a.public_url and a.public_url.startswith("https://")),
            ),
        }
        if message.attachments and self.attacher is not None:  # files: the email package builds the parts
            mail = rules.build(sender=rules.mailbox(sender_name, sender_address), **content)  # type: ignore[arg-type]
            attach(self.attacher, mail, message)
            data = rules.wire_bytes(mail)
        else:
            try:  # straight to bytes; what that writer leaves (a non-ASCII address...) the email package builds
                data = wire.write(sender_name=sender_name, sender_address=sender_address, **content)  # type: ignore[arg-type]
            except wire.Unwritable:
                data = rules.wire_bytes(
                    rules.build(sender=rules.mailbox(sender_name, sender_address), **content)  # type: ignore[arg-type]
                )
        return (dkim.sign(data, key) if key else data), bounce


BATCH = 50  # messages claimed, sent over the one connection and committed together


Recheck = Callable[[UnitOfWork, list[OutboundMessage]], list[OutboundMessage]]  # service.still_sendable


def deliver_due(
    database: Database,
    transport: Transport,
    composer: Composer,
    *,
    limit: int = 100,
    batch: int = BATCH,
    recheck: Recheck | None = None,
) -> dict[str, int]:
    """Send up to ``limit`` queued mails that are due, claimed ``batch`` at a time (FOR UPDATE SKIP LOCKED, so
    workers side by side never take the same), each batch one transaction: its mails are composed and signed
    (``prepare``), then sent in order over the transport's one connection (``send``), and the batch's row
    changes, attempts and events are written together (``record_all``) and committed after the last send. A
    crash before that commit sends the batch again with the same Message-IDs (receivers deduplicate), as one
    message would be resent. Returns counts by outcome.

    On PostgreSQL a batch's write-back and commit (the waits for the server and its disk) run on a second thread
    while the next batch is claimed, composed and signed on another connection; its rows are locked, so the claim
    skips them. That
    next batch is sent only once the commit has succeeded (an error of it is raised before anything more leaves),
    so mail leaves and is recorded in the same order as one batch after the other. Elsewhere (SQLite: no row
    locks) one batch after the other."""
    outcomes = {"sent": 0, "deferred": 0, "failed": 0}
    overlap = database.engine.dialect.name == "postgresql"
    committer: ThreadPoolExecutor | None = None
    pending: Future[list[Attempted]] | None = None  # the previous batch's commit, while this one is prepared
    left = limit
    try:
        while left > 0:
            with ExitStack() as transaction:
                uow = transaction.enter_context(database.unit_of_work())
                claimed, ready = _claim_and_prepare(uow, composer, min(batch, left), recheck)
                if pending is not None:  # the previous batch is committed before anything of this one is sent
                    _count(outcomes, pending.result())
                    pending = None
                if not claimed:
                    break
                # Every mail of the batch was composed and signed before the first is sent, and they are sent
                # back to back: CPU work between the SMTP commands makes each of the conversation's round trips
                # wait longer (the relay's answer and our next command wait for the CPU, or for the GIL when the
                # relay is a thread of this process), while the same work done apart leaves the conversation as
                # fast as a bare client's.
                done = [
                    (
                        message,
                        send(message, prepared, transport, now=utcnow())
                        if isinstance(prepared, Prepared)
                        else prepared,
                    )
                    for message, prepared in ready
                ]
                left -= claimed
                if overlap and left > 0:
                    committer = committer or ThreadPoolExecutor(1, thread_name_prefix="mailer-commit")
                    pending = committer.submit(_record_and_commit, transaction.pop_all(), uow, done)
                else:
                    _count(outcomes, _record_and_commit(transaction.pop_all(), uow, done))
    except BaseException:
        if pending is not None:
            wait([pending])  # its transaction has ended (committed or not) before the error is raised
        raise
    finally:
        if committer is not None:
            committer.shutdown()
    return outcomes


def _claim_and_prepare(
    uow: UnitOfWork, composer: Composer, count: int, recheck: Recheck | None
) -> tuple[int, list[tuple[OutboundMessage, Prepared | Attempted]]]:
    """Lock up to ``count`` due mails (how many were claimed), and those still to be sent, each prepared."""
    messages = list(
        uow.session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.status == QUEUED, OutboundMessage.next_attempt_at <= utcnow())
            .order_by(OutboundMessage.next_attempt_at)
            .limit(count)
            .with_for_update(skip_locked=True)
        )
    )
    claimed = len(messages)
    if messages and recheck is not None:  # an address turned off since it was queued is not mailed
        messages = recheck(uow, messages)
        uow.session.flush()  # the suppressed ones are written now: the rest leave the session
    uow.session.expunge_all()  # locked until commit; written back by ``record_all``, not by the ORM
    return claimed, [(message, prepare(message, composer, now=utcnow())) for message in messages]


def _record_and_commit(
    transaction: ExitStack, uow: UnitOfWork, done: list[tuple[OutboundMessage, Attempted]]
) -> list[Attempted]:
    """Write a sent batch back (``record_all``), commit its transaction and end it (on the committing thread when
    it overlaps the next batch); what its attempts came to."""
    with transaction:
        record_all(uow, done)
        uow.commit()
    return [tried for _message, tried in done]


def _count(outcomes: dict[str, int], attempts: list[Attempted]) -> None:
    for tried in attempts:
        outcomes[tried.outcome] += 1


@dataclass(frozen=True)
class Attempted:
    """How one attempt went: ``sent``, ``deferred`` or ``failed``, the attempt's row, and whether the failure
    is a bounce (the recipient refused for good)."""

    outcome: str
    attempt: OutboundAttempt
    bounced: bool = False


@dataclass(frozen=True)
class Prepared:
    """A mail ready to go: its bytes (signed when its domain is verified) and its envelope sender (VERP)."""

    data: bytes
    envelope_from: str


def attempt(message: OutboundMessage, transport: Transport, composer: Composer, *, now: datetime) -> Attempted:
    """Try to send one queued mail and record how it went on its row: ``sent``, ``deferred`` (retried later, as
    ``rules.next_attempt`` says) or ``failed`` (refused for good, or given up, or older than the retry window).
    No database: the caller stores the attempt and the events (``record_all``). ``prepare`` then ``send``."""
    prepared = prepare(message, composer, now=now)
    return send(message, prepared, transport, now=now) if isinstance(prepared, Prepared) else prepared


def prepare(message: OutboundMessage, composer: Composer, *, now: datetime) -> Prepared | Attempted:
    """The first half of an attempt: the mail composed and signed, or how the attempt ended already (``failed``
    when the mail is older than the retry window; ``deferred`` or given up when it could not be composed)."""
    if rules.expired(message.created_at, now):
        reason = f"not delivered within the retry window ({rules.RETRY_WINDOW}); last error: {message.last_error}"
        message.status, message.last_error = FAILED, reason[:2000]
        return _tried(message, now, "failed", ATTEMPT_FAILED, reason)
    message.attempts += 1
    try:
        data, envelope_from = composer.compose(message)
    except Exception as exc:  # noqa: BLE001 - an unforeseen error that must not block the queue
        return _not_sent(message, exc, now)
    return Prepared(data, envelope_from)


def send(message: OutboundMessage, prepared: Prepared, transport: Transport, *, now: datetime) -> Attempted:
    """The second half of an attempt (``prepare`` counted it): the mail sent, and the row says how it went."""
    try:
        transport.send(prepared.data, mail_from=prepared.envelope_from, rcpt_to=message.recipient or "")
    except Exception as exc:  # noqa: BLE001 - PermanentFailure, TemporaryFailure, or unforeseen: see ``_not_sent``
        return _not_sent(message, exc, now)
    message.status, message.sent_at, message.last_error = SENT, now, None
    return _tried(message, now, "sent", ATTEMPT_SENT, None)


def _not_sent(message: OutboundMessage, exc: Exception, now: datetime) -> Attempted:
    """A refusal for good fails the mail (a bounce when it named the recipient); anything else (TemporaryFailure,
    or an unforeseen error, which must not block the queue) defers it as ``rules.next_attempt`` says, or gives it
    up after the last attempt."""
    if isinstance(exc, PermanentFailure):
        message.status, message.last_error = FAILED, str(exc)[:2000]
        log.warning("mail %s failed: %s", message.id, exc)
        bounced = exc.recipient_refused
        return _tried(message, now, "failed", ATTEMPT_BOUNCED if bounced else ATTEMPT_FAILED, str(exc), bounced=bounced)
    retry_at = rules.next_attempt(message.attempts, now, created_at=message.created_at)
    reason = str(exc) if isinstance(exc, TemporaryFailure) else f"{type(exc).__name__}: {exc}"
    message.last_error = reason[:2000]
    log.warning("mail %s deferred: %s", message.id, exc)
    if retry_at is None:
        message.status = FAILED
        return _tried(message, now, "failed", ATTEMPT_FAILED, f"given up after {message.attempts} attempts: {reason}")
    message.next_attempt_at = retry_at
    return _tried(message, now, "deferred", ATTEMPT_DEFERRED, reason)


def _tried(
    message: OutboundMessage, now: datetime, outcome: str, kind: str, detail: str | None, *, bounced: bool = False
) -> Attempted:
    row = OutboundAttempt(
        id=new_id(), message_id=message.id, attempted_at=now, outcome=kind, detail=detail[:2000] if detail else None
    )
    return Attempted(outcome, row, bounced)


_OUTBOUND = cast(Table, OutboundMessage.__table__)
_WRITE_BACK = (
    update(_OUTBOUND)
    .where(_OUTBOUND.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        last_error=bindparam("b_last_error"),
        next_attempt_at=bindparam("b_next_attempt_at"),
        sent_at=bindparam("b_sent_at"),
    )
)

# PostgreSQL: the batch's new states as arrays, unnested and joined to the rows (``record_all``).
_WRITE_BACK_ARRAYS = text(
    "UPDATE outbound_messages AS m SET status = v.status, attempts = v.attempts, last_error = v.last_error, "
    "next_attempt_at = v.next_attempt_at, sent_at = v.sent_at "
    "FROM unnest(CAST(:ids AS varchar[]), CAST(:statuses AS varchar[]), CAST(:attempts AS integer[]), "
    "CAST(:errors AS text[]), CAST(:next_attempts AS timestamptz[]), CAST(:sent AS timestamptz[])) "
    "AS v(id, status, attempts, last_error, next_attempt_at, sent_at) WHERE m.id = v.id"
)


def record_all(uow: UnitOfWork, done: Sequence[tuple[OutboundMessage, Attempted]]) -> None:
    """Write back a batch: the rows' new states (one UPDATE of arrays on PostgreSQL, else one executed for each
    row), their attempts (one INSERT) and the events they came to (one INSERT into the outbox, ``events_of``),
    sent together in one round trip on PostgreSQL (``UnitOfWork.pipeline``). The rows must be out of the
    session (``deliver_due`` claims them and lets go), so the ORM writes nothing of its own."""
    if not done:
        return
    with uow.pipeline():  # the three statements in one round trip: nobody reads what they return
        if uow.session.get_bind().dialect.name == "postgresql":  # one statement of arrays, not one row at a time
            messages = [message for message, _tried in done]
            uow.session.execute(
                _WRITE_BACK_ARRAYS,
                {
                    "ids": [message.id for message in messages],
                    "statuses": [message.status for message in messages],
                    "attempts": [message.attempts for message in messages],
                    "errors": [message.last_error for message in messages],
                    "next_attempts": [message.next_attempt_at for message in messages],
                    "sent": [message.sent_at for message in messages],
                },
            )
        else:
            _write_back_rows(uow, done)
        uow.insert(OutboundAttempt, [tried.attempt for _message, tried in done])
        emitted = [event for message, tried in done if (event := event_of(message, tried)) is not None]
        if emitted:
            uow.emit_many(emitted)


def _write_back_rows(uow: UnitOfWork, done: Sequence[tuple[OutboundMessage, Attempted]]) -> None:
    uow.session.execute(
        _WRITE_BACK,
        [
            {
                "b_id": message.id,
                "b_status": message.status,
                "b_attempts": message.attempts,
                "b_last_error": message.last_error,
                "b_next_attempt_at": message.next_attempt_at,
                "b_sent_at": message.sent_at,
            }
            for message, _tried in done
        ],
    )


def record(uow: UnitOfWork, message: OutboundMessage, tried: Attempted) -> None:
    """Store one attempt (the row's changes are the session's) and publish what it came to (``event_of``)."""
    uow.session.add(tried.attempt)
    event = event_of(message, tried)
    if event is not None:
        uow.emit(event[0], event[1], workspace_id=event[2])


def event_of(message: OutboundMessage, tried: Attempted) -> tuple[EventType[Any], Message, str] | None:
    """What an attempt is announced as: ``mailer.message.sent``, or ``mailer.delivery.bounced`` (which makes
    contacts turn the address off) when the recipient was refused for good; nothing else."""
    if tried.outcome == "sent":
        return (
            MESSAGE_SENT,
            mailer_pb2.MessageSent(
                message_id=message.id,
                rfc822_message_id=message.rfc822_message_id,
                recipient=message.recipient or "",
                subject=message.subject,
                source_event_id=message.source_event_id,
                ticket_id=message.ticket_id or "",
                contact_id=message.contact_id or "",
                kind=message.kind,
            ),
            message.workspace_id,
        )
    if tried.bounced:
        return (
            DELIVERY_BOUNCED,
            mailer_pb2.DeliveryBounced(
                recipient=message.recipient or "",
                kind="hard",
                diagnostic=(message.last_error or "")[:1000],
                rfc822_message_id=message.rfc822_message_id,
                contact_id=message.contact_id or "",
                message_id=message.id,
            ),
            message.workspace_id,
        )
    return None
