"""The inbound pipeline: which recipients we take, storing what arrives, then classifying and routing it.

Both doors (the SMTP listener and the raw-message HTTP endpoint) call ``receive``: the original is stored and
committed before the sender is told it was taken, so nothing acknowledged is lost. ``process`` then reads it
(parse, classify), turns addresses off for bounces and complaints, quarantines what must not reach a thread,
and announces a person's message with where it goes (``mailer.inbound.received``). It never raises: a failure
leaves the message stored with the error, for ``process_stored`` to try again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.events.v1 import mailer_pb2
from crm_events import EventType
from crm_events.mailer import DELIVERY_BOUNCED, INBOUND_RECEIVED, RECIPIENT_COMPLAINED, RECIPIENT_UNSUBSCRIBED
from crm_mailer import attachments
from crm_mailer.inbound import reply, rules, subjects, threads, trust
from crm_mailer.inbound.authcheck import Authenticator
from crm_mailer.inbound.batches import SendersOfBatch, Tally
from crm_mailer.inbound.contacts import SenderDirectory, TryLater
from crm_mailer.inbound.lookups import (
    BounceTokenVerifier,
    DatabaseThreadLookups,
    KnownThreads,
    ReplyTokenVerifier,
    known_threads,
    no_bounce_tokens,
    no_reply_tokens,
    split_thread,
)
from crm_mailer.inbound.message import Envelope, InboundMessage
from crm_mailer.inbound.metrics import InboundMetrics
from crm_mailer.inbound.models import (
    DROPPED,
    FAILED,
    QUARANTINED,
    RECORDED,
    ROUTED,
    STORED,
    InboundMessageRow,
)
from crm_mailer.inbound.parse import parse
from crm_mailer.inbound.recipients import Recipient, recipient_of
from crm_mailer.inbound.settings import InboundSettings
from crm_mailer.inbound.softbounces import count_soft_bounce, reset_soft_bounces
from crm_mailer.models import visibility
from crm_mailer.outbound.models import OutboundMessage
from crm_platform.attachments.store import AttachmentStore, StoredAttachment
from crm_platform.context import Caller
from crm_platform.db import Database, UnitOfWork, get_in_workspace, utcnow
from crm_platform.errors import NotFound, Unavailable
from crm_platform.ids import new_id

log = logging.getLogger(__name__)

DMARC_REJECT = "dmarc_reject"  # a quarantine reason of our own, beside parse.QUARANTINE_REASONS
M = TypeVar("M", bound=Message)
RETRY_AFTER = timedelta(seconds=60)  # a stored message older than this, unprocessed, is tried again


@dataclass(frozen=True)
class RcptAnswer:
    """The SMTP reply to one RCPT TO: 250 taken, 550 not ours (refused now, so we never send a bounce), 451
    when contacts cannot say whether the workspace exists."""

    code: int
    text: str
    recipient: Recipient | None = None

    @property
    def smtp(self) -> str:
        return f"{self.code} {self.text}"


@dataclass
class Pipeline:
    database: Database
    senders: SenderDirectory
    settings: InboundSettings
    metrics: InboundMetrics
    verify_reply_token: ReplyTokenVerifier = no_reply_tokens
    verify_bounce_token: BounceTokenVerifier = no_bounce_tokens  # our VERP envelope senders
    raw_url: str = "/v1/mailer/inbound/{id}/raw"
    authenticator: Authenticator | None = None  # our own SPF/DKIM/DMARC checks (MAILER_INBOUND_AUTH_CHECKS)
    attachments: AttachmentStore | None = None  # None: a message's files are not kept (nor announced)
    # A batch's events, written together before its commit (``process_many``); None: each written when emitted.
    batch_events: list[tuple[EventType[Any], Message, str]] | None = field(default=None, repr=False)
    # The rows of the batch being processed, which threading looks up in memory (``DatabaseThreadLookups``).
    batch_rows: Sequence[InboundMessageRow] = field(default=(), repr=False)
    known_threads: KnownThreads | None = field(default=None, repr=False)  # what the batch's threading will ask

    # --- at the door ----------------------------------------------------------------------------------
    def check_recipient(self, address: str) -> RcptAnswer:
        recipient = recipient_of(address, inbound_domain=self.settings.own_inbound_domain)
        if recipient is None:
            self.metrics.refused.labels("unknown_recipient").inc()
            return RcptAnswer(550, "5.1.1 no such recipient here")
        if recipient.kind == "workspace":
            try:
                exists = self.senders.workspace_exists(recipient.value)
            except TryLater:
                self.metrics.refused.labels("try_later").inc()
                return RcptAnswer(451, "4.4.3 cannot check the recipient now, try again later")
            if not exists:
                self.metrics.refused.labels("unknown_recipient").inc()
                return RcptAnswer(550, "5.1.1 no such recipient here")
        elif recipient.kind == "reply":
            claims = self.verify_reply_token(recipient.value)
            if claims is None and self.verify_reply_token is not no_reply_tokens:
                self.metrics.refused.labels("unknown_recipient").inc()
                return RcptAnswer(550, "5.1.1 no such recipient here")
        return RcptAnswer(250, "2.1.5 OK", recipient)

    def receive(
        self, raw: bytes, *, envelope: Envelope, channel: str, workspace_id: str | None = None
    ) -> InboundMessageRow:
        """Store the original (committed on return): the caller may acknowledge it then."""
        return self.receive_many([(raw, envelope)], channel=channel, workspace_id=workspace_id)[0]

    def receive_many(
        self, arrived: Sequence[tuple[bytes, Envelope]], *, channel: str, workspace_id: str | None = None
    ) -> list[InboundMessageRow]:
        """Store several originals in one transaction, one INSERT and one COMMIT (committed on return): the SMTP
        listener's group commit of the DATA commands that arrive together."""
        rows = [
            InboundMessageRow(
                id=new_id(),
                workspace_id=workspace_id
                if workspace_id is not None
                else self._workspace_of_recipients(envelope.rcpt_to),
                received_at=utcnow(),
                channel=channel,
                mail_from=envelope.mail_from[:320] if envelope.mail_from is not None else None,
                rcpt_to=list(envelope.rcpt_to),
                client_ip=envelope.client_ip[:45] if envelope.client_ip else None,
                helo=envelope.helo[:255] if envelope.helo else None,
                size=len(raw),
                raw=raw,
                status=STORED,
                defects=[],
                auth={},
            )
            for raw, envelope in arrived
        ]
        with self.database.unit_of_work() as uow:
            uow.insert(InboundMessageRow, rows)
            uow.commit()
        self.metrics.received.labels(channel).inc(len(rows))
        return rows

    def _workspace_of_recipients(self, rcpt_to: tuple[str, ...]) -> str | None:
        for address in rcpt_to:
            recipient = recipient_of(address, inbound_domain=self.settings.own_inbound_domain)
            if recipient is None:
                continue
            if recipient.kind == "workspace":
                return recipient.value
            if recipient.kind == "reply" and (claims := self.verify_reply_token(recipient.value)) is not None:
                return claims.workspace_id
            if recipient.kind == "bounce" and (bounce := self.verify_bounce_token(recipient.value)) is not None:
                return bounce.workspace_id
        return None

    # --- after the door -------------------------------------------------------------------------------
    def process(self, inbound_id: str) -> str:
        """Classify and route one stored message; returns its status. Never raises."""
        try:
            with self.database.unit_of_work() as uow:
                row = uow.session.get(InboundMessageRow, inbound_id, with_for_update=True)
                if row is None or row.status != STORED:
                    return row.status if row is not None else FAILED
                self._process(uow, row)
                uow.commit()
                status = row.status
        except Exception as exc:
            log.exception("inbound message %s could not be processed", inbound_id)
            with self.database.unit_of_work() as uow:
                row = uow.session.get(InboundMessageRow, inbound_id)
                if row is not None:
                    row.error = f"{type(exc).__name__}: {exc}"[:2000]
                    uow.commit()
            self.metrics.processed.labels(FAILED).inc()
            return FAILED
        self.metrics.processed.labels(status).inc()
        return status

    def process_many(self, inbound_ids: Sequence[str]) -> list[str]:
        """Classify and route several stored messages in one transaction (one SELECT ... FOR UPDATE, one COMMIT,
        contacts asked once per sender of the batch); returns their statuses. Its counters are added up only once
        it committed. Should any of them fail, the transaction is rolled back and each is processed on its own
        (``process``), so a bad message costs only itself. Never raises."""
        if len(inbound_ids) == 1:
            return [self.process(inbound_ids[0])]
        wanted = list(inbound_ids)
        statuses = self._process_claimed(
            lambda session: session.scalars(
                select(InboundMessageRow)
                .where(InboundMessageRow.id.in_(wanted))
                .order_by(InboundMessageRow.received_at)
                .with_for_update()
            ),
            fallback=wanted,
        )
        return [statuses.get(inbound_id, FAILED) for inbound_id in inbound_ids]

    def process_next(self, *, limit: int = 50) -> int:
        """Claim up to ``limit`` stored messages that no other worker holds (``FOR UPDATE SKIP LOCKED``, oldest
        first, those that failed before left to ``process_stored``) and process them as ``process_many`` does;
        returns how many were claimed. Raises only when none could be claimed (the database is down)."""
        return len(
            self._process_claimed(
                lambda session: session.scalars(
                    select(InboundMessageRow)
                    .where(InboundMessageRow.status == STORED, InboundMessageRow.error.is_(None))
                    .order_by(InboundMessageRow.received_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                ),
                fallback=None,
            )
        )

    def _process_claimed(
        self, claim: Callable[[Session], Iterable[InboundMessageRow]], *, fallback: list[str] | None
    ) -> dict[str, str]:
        """The messages ``claim`` locks, processed in one transaction; their statuses by id. On a failure the
        transaction is rolled back and each (``fallback``, else those claimed) is processed on its own."""
        tally = Tally(self.metrics)
        events: list[tuple[EventType[Any], Message, str]] = []
        claimed: list[str] = []
        statuses: dict[str, str] = {}
        try:
            with self.database.unit_of_work() as uow:
                rows = list(claim(uow.session))
                counted = replace(
                    self,
                    metrics=tally,  # type: ignore[arg-type]
                    senders=SendersOfBatch(self.senders),
                    batch_events=events,
                    batch_rows=rows,
                )
                claimed.extend(row.id for row in rows)
                reads = {row.id: counted._read(row) for row in rows if row.status == STORED}
                counted.senders.prefetch(  # type: ignore[attr-defined]
                    [(row.workspace_id, read.sender_to_find()) for row in rows if (read := reads.get(row.id))]
                )
                counted.known_threads = known_threads(  # asked for the batch, not message by message
                    uow.session,
                    [
                        (row.workspace_id, read.message)
                        for row in rows
                        if row.workspace_id and (read := reads.get(row.id)) and read.sender_to_find() is not None
                    ],
                    since=utcnow() - timedelta(days=self.settings.subject_window_days),
                )
                for row in rows:
                    if row.status != STORED:  # another worker took it
                        statuses[row.id] = row.status
                        continue
                    counted._process(uow, row, reads[row.id])
                    statuses[row.id] = row.status
                    tally.processed.labels(row.status).inc()
                if events:  # the outbox rows of the whole batch in one INSERT
                    uow.emit_many(events)
                uow.commit()
        except Exception:  # whatever it was, each message is tried on its own and recorded
            one_by_one = fallback if fallback is not None else claimed
            if not one_by_one:
                raise
            log.warning("a batch of %d inbound messages failed; processing them one by one", len(one_by_one))
            return {inbound_id: self.process(inbound_id) for inbound_id in one_by_one}
        tally.add_up()
        return statuses

    def process_stored(self, *, limit: int = 50) -> int:
        """Try again the messages stored a while ago and never processed (the process died, contacts was down)."""
        with self.database.unit_of_work() as uow:
            ids = list(
                uow.session.scalars(
                    select(InboundMessageRow.id)
                    .where(InboundMessageRow.status == STORED, InboundMessageRow.received_at < utcnow() - RETRY_AFTER)
                    .order_by(InboundMessageRow.received_at)
                    .limit(limit)
                )
            )
        self.process_many(ids)
        return len(ids)

    def _read(self, row: InboundMessageRow) -> _Read:
        """What a stored message is: parsed, its authentication checked, classified (None when quarantined)."""
        envelope = Envelope(mail_from=row.mail_from, rcpt_to=tuple(row.rcpt_to), client_ip=row.client_ip, helo=row.helo)
        message = parse(row.raw, envelope, self.settings.limits)
        verdict = self._authentication(message)
        return _Read(message, verdict, rules.classify(message) if message.quarantine is None else None)

    def _process(self, uow: UnitOfWork, row: InboundMessageRow, read: _Read | None = None) -> None:
        message, verdict, classified = read or self._read(row)
        row.sender = message.from_.key[:320] if message.from_ is not None else None
        row.subject = message.subject[:1000]
        row.subject_key = subjects.normalise_subject(message.subject)[:1000] or None
        row.rfc822_message_id = message.message_id[:1000] if message.message_id else None
        row.defects = list(message.defects)
        for defect in message.defects:
            self.metrics.defects.labels(defect).inc()
        row.auth = verdict.as_dict()
        row.spf, row.dkim, row.dmarc = (verdict.results.get(method) for method in trust.METHODS)
        row.dmarc_policy = verdict.dmarc_policy
        if message.quarantine is not None or classified is None:
            return self._quarantine(row, message.quarantine or "", "the message could not be read safely")
        found = classified
        row.kind, row.kind_why = found.kind, found.why
        self.metrics.kinds.labels(found.kind).inc()
        if row.workspace_id is None:
            row.workspace_id = self._workspace_of_original(uow, found.original_message_id)
        if row.workspace_id is None:
            return self._drop(row, "no_workspace", "no recipient or returned message names a workspace")
        if found.kind == "bounce":
            self._bounces(uow, row, found)
        elif found.kind == "complaint" and found.complaint is not None:
            for outcome in rules.complaint_outcomes(found.complaint):
                self._emit(
                    uow,
                    RECIPIENT_COMPLAINED,
                    mailer_pb2.RecipientComplained(recipient=outcome.recipient),
                    workspace_id=row.workspace_id,
                )
            row.status = RECORDED
        elif found.kind == "unsubscribe":
            unsubscribe = rules.unsubscribe_outcome(message)
            if verdict.rejects or unsubscribe is None:
                return self._quarantine(row, DMARC_REJECT, "an unsubscribe whose sender failed DMARC")
            self._emit(
                uow,
                RECIPIENT_UNSUBSCRIBED,
                mailer_pb2.RecipientUnsubscribed(recipient=unsubscribe.recipient),
                workspace_id=row.workspace_id,
            )
            row.status = RECORDED
        elif found.kind == "person":
            self._person(uow, row, message, verdict)
        else:  # automatic replies and delivery notices: kept, never a reply, never answered
            row.status = RECORDED

    def _emit(self, uow: UnitOfWork, event_type: EventType[M], payload: M, *, workspace_id: str) -> None:
        if self.batch_events is None:
            uow.emit(event_type, payload, workspace_id=workspace_id)
        else:
            self.batch_events.append((event_type, payload, workspace_id))

    def _authentication(self, message: InboundMessage) -> trust.AuthVerdict:
        """The trusted relay's word, with our own checks where they run (never on mail too broken to route)."""
        relay = trust.verdict_of(message, authserv_id=self.settings.inbound_authserv_id)
        if self.authenticator is None or message.quarantine is not None:
            return relay
        envelope = message.envelope
        try:
            own = self.authenticator.check(
                message,
                client_ip=None if relay.trusted_by else envelope.client_ip,  # behind the relay, we saw the relay
                helo=envelope.helo,
                relay_spf=relay.relay_spf,
            )
        except Exception:  # never lose a message to a check: it is recorded as not checked
            log.exception("checking the authentication of an inbound message failed")
            return relay
        return trust.combined(relay, own)

    def _workspace_of_original(self, uow: UnitOfWork, original_message_id: str | None) -> str | None:
        if not original_message_id:
            return None
        with uow.session.no_autoflush:  # sent mail, which receiving never changes: the batch's rows need no flush
            return uow.session.scalars(
                select(OutboundMessage.workspace_id).where(OutboundMessage.rfc822_message_id == original_message_id)
            ).first()

    def _bounced_message_id(self, uow: UnitOfWork, workspace_id: str, found: rules.Classification) -> str:
        """Our message a bounce is about, if we can tell: the one the VERP address we sent it from names (a
        signed token), else the one whose Message-ID the bounce quotes; empty when neither is the workspace's.
        Sent mail only, which receiving never changes: the batch's rows are not flushed for it."""
        with uow.session.no_autoflush:
            return self._sent_message_id(uow, workspace_id, found)

    def _sent_message_id(self, uow: UnitOfWork, workspace_id: str, found: rules.Classification) -> str:
        claims = self.verify_bounce_token(found.token) if found.token else None
        if claims is not None and claims.workspace_id == workspace_id:
            named = uow.session.get(OutboundMessage, claims.message_id)
            if named is not None and named.workspace_id == workspace_id:
                return named.id
        if not found.original_message_id:
            return ""
        quoted = uow.session.scalars(
            select(OutboundMessage.id).where(
                OutboundMessage.workspace_id == workspace_id,
                OutboundMessage.rfc822_message_id == found.original_message_id,
            )
        ).first()
        return quoted or ""

    def _bounces(self, uow: UnitOfWork, row: InboundMessageRow, found: rules.Classification) -> None:
        workspace_id = row.workspace_id or ""
        message_id = self._bounced_message_id(uow, workspace_id, found)
        for bounce in found.bounces:
            if bounce.event_kind is None:
                continue
            address = bounce.recipient.strip().lower()[:320]
            # A soft bounce is counted by one upsert, which returns the count with this one: two messages
            # processed side by side about one address each add theirs (no read-modify-write to lose one).
            in_a_row = count_soft_bounce(uow, workspace_id, address) - 1 if bounce.event_kind == "soft" else 0
            outcome = rules.bounce_outcome(bounce, soft_in_a_row=in_a_row, soft_limit=self.settings.soft_bounce_limit)
            if outcome is None:
                continue
            if outcome.inactive_reason is None:  # a soft bounce under the limit: counted, nothing else
                self.metrics.bounces.labels("soft").inc()
                continue
            reset_soft_bounces(uow, workspace_id, address)
            self.metrics.bounces.labels(outcome.event_kind).inc()
            self._emit(
                uow,
                DELIVERY_BOUNCED,
                mailer_pb2.DeliveryBounced(
                    recipient=address,
                    kind=outcome.event_kind,
                    diagnostic=bounce.diagnostic[:1000],
                    rfc822_message_id=found.original_message_id or "",
                    message_id=message_id,
                ),
                workspace_id=workspace_id,
            )
        row.status = RECORDED

    def _person(
        self,
        uow: UnitOfWork,
        row: InboundMessageRow,
        message: InboundMessage,
        verdict: trust.AuthVerdict,
    ) -> None:
        workspace_id = row.workspace_id or ""
        if verdict.rejects:
            return self._quarantine(
                row, DMARC_REJECT, f"DMARC failed for a domain publishing p=reject ({verdict.summary})"
            )
        if message.from_ is None:
            return self._drop(row, "no_sender", "a person's message without a From address")
        try:
            sender = self.senders.find_or_create(
                workspace_id=workspace_id, address=message.from_.key, name=message.from_.name
            )
        except Unavailable as exc:
            raise TryLater(f"contacts: {exc}") from exc
        row.contact_id = sender.contact_id
        if sender.blocked:
            return self._drop(row, "blocked_contact", f"contact {sender.contact_id} is blocked")
        decision = threads.thread_of(
            message,
            DatabaseThreadLookups(
                uow.session, workspace_id, self.verify_reply_token, self.batch_rows, self.known_threads
            ),
            now=utcnow(),
            subject_window_days=self.settings.subject_window_days,
        )
        target, thread_id = split_thread(decision.thread_id)
        row.route_target, row.route_thread_id = target, thread_id
        row.route_rule, row.route_why = decision.rule, decision.why
        row.status = ROUTED
        self.metrics.routed.labels(decision.rule).inc()
        refs: list[Any] = []
        if self.attachments is not None and message.attachments:
            refs, defects = attachments.store_inbound(
                self.attachments, uow.session, workspace_id=workspace_id, inbound_id=row.id, files=message.attachments
            )
            row.defects = [*row.defects, *defects]
        self._emit(
            uow,
            INBOUND_RECEIVED,
            mailer_pb2.InboundReceived(
                inbound_id=row.id,
                raw_url=self.raw_url.format(id=row.id),
                sender=message.from_.key,
                sender_name=message.from_.name,
                subject=message.subject,
                reply_text=reply.extract_reply(message).text,
                contact_id=sender.contact_id,
                rfc822_message_id=message.message_id or "",
                routing=mailer_pb2.InboundRouting(
                    target=target,
                    ticket_id=thread_id if target == "ticket" else "",
                    conversation_id=thread_id if target == "conversation" else "",
                    rule=decision.rule,
                    why=decision.why,
                    tried=list(decision.tried),
                ),
                auth_summary=verdict.summary,
                contact_created=sender.created,
                attachments=refs,
            ),
            workspace_id=workspace_id,
        )

    def _quarantine(self, row: InboundMessageRow, reason: str, why: str) -> None:
        row.status, row.quarantine, row.quarantine_why = QUARANTINED, reason, why
        self.metrics.quarantined.labels(reason).inc()

    def _drop(self, row: InboundMessageRow, reason: str, why: str) -> None:
        row.status, row.dropped_why = DROPPED, why
        self.metrics.dropped.labels(reason).inc()


@dataclass(frozen=True)
class _Read:
    message: InboundMessage
    verdict: trust.AuthVerdict
    found: rules.Classification | None  # None: quarantined before classification

    def __iter__(self) -> Iterator[Any]:
        return iter((self.message, self.verdict, self.found))

    def sender_to_find(self) -> tuple[str, str] | None:
        """The sender ``_person`` will find or create (a person's mail, not rejected by DMARC, with a From)."""
        if self.found is None or self.found.kind != "person" or self.verdict.rejects or self.message.from_ is None:
            return None
        return self.message.from_.key, self.message.from_.name


def raw_of(uow: UnitOfWork, *, caller: Caller, inbound_id: str) -> InboundMessageRow:
    """A received message of the caller's workspace, to download its original; another's is not found."""
    with uow:
        row = get_in_workspace(
            uow.session, InboundMessageRow, inbound_id, workspace_id=caller.workspace_id, what="message"
        )
        visibility.require(uow.session, caller, row.contact_id, not_found=f"message {inbound_id} not found")
        return row


def attachment_of(
    uow: UnitOfWork, store: AttachmentStore, *, caller: Caller, inbound_id: str, attachment_id: str
) -> StoredAttachment:
    """A file of a received message the caller may read (``raw_of``'s rule, without loading the original);
    another workspace's, another message's or a hidden contact's is not found."""
    with uow:
        found = uow.session.execute(
            select(InboundMessageRow.contact_id).where(
                InboundMessageRow.workspace_id == caller.workspace_id, InboundMessageRow.id == inbound_id
            )
        ).first()
        if found is None:
            raise NotFound(f"message {inbound_id} not found")
        visibility.require(uow.session, caller, found.contact_id, not_found=f"message {inbound_id} not found")
        return store.get(
            uow.session, workspace_id=caller.workspace_id, attachment_id=attachment_id, owner_id=inbound_id
        )
