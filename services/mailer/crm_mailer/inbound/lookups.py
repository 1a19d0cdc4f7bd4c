"""Threading's lookups (``threads.ThreadLookups``) over the mailer's database, for one workspace.

A thread is ``ticket:<id>`` or ``conversation:<id>``: the mail we sent (outbound_messages, whose Message-IDs a
reply names) and the mail received before (inbound_messages, routed) say which."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from crm_mailer.inbound import subjects
from crm_mailer.inbound.message import InboundMessage
from crm_mailer.inbound.models import InboundMessageRow
from crm_mailer.outbound import tokens
from crm_mailer.outbound.models import OutboundMessage
from crm_mailer.outbound.tokens import TokenKey


@dataclass(frozen=True)
class ReplyClaims:
    """What a verified reply token says: the workspace and the thread the mail we sent belonged to."""

    workspace_id: str
    ticket_id: str | None = None
    conversation_id: str | None = None


# The sending side signs reply tokens (outbound/tokens.py); ``reply_tokens_of`` turns its verifier into this
# one. A pipeline without one believes no token, and threading falls through to Message-IDs, ticket numbers
# and subjects.
ReplyTokenVerifier = Callable[[str], ReplyClaims | None]


def reply_tokens_of(key: TokenKey) -> ReplyTokenVerifier:
    """Believe the reply tokens outbound mail signed with ``key``: the workspace and the thread they name."""

    def verify(token: str) -> ReplyClaims | None:
        claims = tokens.verify(key, tokens.REPLY, token)
        return None if claims is None else ReplyClaims(workspace_id=claims.workspace_id, ticket_id=claims.subject_id)

    return verify


def no_reply_tokens(_token: str) -> ReplyClaims | None:
    return None


@dataclass(frozen=True)
class BounceClaims:
    """What a verified bounce token (the VERP envelope sender of what we sent) says: the workspace and our
    message a bounce to that address is about."""

    workspace_id: str
    message_id: str


BounceTokenVerifier = Callable[[str], BounceClaims | None]


def bounce_tokens_of(key: TokenKey) -> BounceTokenVerifier:
    """Believe the bounce tokens outbound mail signed with ``key``: the workspace and the message they name."""

    def verify(token: str) -> BounceClaims | None:
        claims = tokens.verify(key, tokens.BOUNCE, token)
        return None if claims is None else BounceClaims(workspace_id=claims.workspace_id, message_id=claims.subject_id)

    return verify


def no_bounce_tokens(_token: str) -> BounceClaims | None:
    return None


def thread_key(target: str | None, thread_id: str | None) -> str | None:
    return f"{target}:{thread_id}" if target in ("ticket", "conversation") and thread_id else None


def split_thread(key: str | None) -> tuple[str, str | None]:
    """(target, id) of a thread key; None is a new conversation."""
    if key is None:
        return "new_conversation", None
    target, _, thread_id = key.partition(":")
    return target, thread_id


@dataclass
class KnownThreads:
    """The answers a batch's lookups by message id and by subject need, asked for the whole batch at once (three
    statements a workspace: ``known_threads``) instead of two or three a message."""

    sent: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (workspace, Message-ID) -> thread
    received: dict[tuple[str, str], str | None] = field(default_factory=dict)
    # (workspace, sender, subject key) -> [(received at, thread)] of the stored messages threaded onto one
    subjects: dict[tuple[str, str, str], list[tuple[datetime, str | None]]] = field(default_factory=dict)
    workspaces: set[str] = field(default_factory=set)  # those asked for; another's lookups ask for themselves


def message_ids_of(message: InboundMessage) -> tuple[str, ...]:
    """The Message-IDs a message names, in the order threading tries them: In-Reply-To, then References newest
    first."""
    return tuple(dict.fromkeys((*message.in_reply_to, *reversed(message.references))))


def known_threads(session: Session, messages: Sequence[tuple[str, InboundMessage]], *, since: datetime) -> KnownThreads:
    """``KnownThreads`` for these ``(workspace_id, message)``: the sent and received mail their Message-IDs name,
    and the received mail of their senders under their subjects since ``since``. Sent mail, and received mail
    already threaded, which processing the batch does not change: nothing is flushed for it."""
    known = KnownThreads()
    by_workspace: dict[str, tuple[set[str], set[tuple[str, str]]]] = {}
    for workspace_id, message in messages:
        known.workspaces.add(workspace_id)
        ids, pairs = by_workspace.setdefault(workspace_id, (set(), set()))
        ids.update(message_ids_of(message))
        key = subjects.normalise_subject(message.subject)
        if key and message.from_ is not None:
            pairs.add((message.from_.key, key))
    with session.no_autoflush:
        for workspace_id, (ids, pairs) in by_workspace.items():
            if ids:
                for sent in session.execute(
                    select(
                        OutboundMessage.rfc822_message_id, OutboundMessage.ticket_id, OutboundMessage.thread_kind
                    ).where(
                        OutboundMessage.workspace_id == workspace_id,
                        OutboundMessage.rfc822_message_id.in_(list(ids)),
                        OutboundMessage.ticket_id.is_not(None),
                    )
                ):
                    known.sent[(workspace_id, sent.rfc822_message_id)] = thread_key(sent.thread_kind, sent.ticket_id)
                for got in session.execute(
                    select(
                        InboundMessageRow.rfc822_message_id,
                        InboundMessageRow.route_target,
                        InboundMessageRow.route_thread_id,
                    ).where(
                        InboundMessageRow.workspace_id == workspace_id,
                        InboundMessageRow.rfc822_message_id.in_(list(ids)),
                        InboundMessageRow.route_thread_id.is_not(None),
                    )
                ):
                    thread = thread_key(got.route_target, got.route_thread_id)
                    known.received[(workspace_id, got.rfc822_message_id)] = thread
            if pairs:
                for seen in session.execute(
                    select(
                        InboundMessageRow.sender,
                        InboundMessageRow.subject_key,
                        InboundMessageRow.received_at,
                        InboundMessageRow.route_target,
                        InboundMessageRow.route_thread_id,
                    ).where(
                        InboundMessageRow.workspace_id == workspace_id,
                        tuple_(InboundMessageRow.sender, InboundMessageRow.subject_key).in_(list(pairs)),
                        InboundMessageRow.received_at >= since,
                        InboundMessageRow.route_thread_id.is_not(None),
                    )
                ):
                    known.subjects.setdefault((workspace_id, seen.sender, seen.subject_key), []).append(
                        (seen.received_at, thread_key(seen.route_target, seen.route_thread_id))
                    )
    return known


class DatabaseThreadLookups:
    """The thread lookups of one message in the transaction that processes it (and the rest of its batch).

    Nothing here flushes the session: the batch's messages processed before this one are looked up in memory
    (``batch``: their findings are set on the rows, not yet written), the rest in the database, which holds no
    finding of any of them yet (they were claimed stored). One flush of the batch's rows per lookup cost more than
    the lookups themselves; the UPDATEs now go together at commit."""

    def __init__(
        self,
        session: Session,
        workspace_id: str,
        verify_reply_token: ReplyTokenVerifier,
        batch: Sequence[InboundMessageRow] = (),
        known: KnownThreads | None = None,
    ) -> None:
        self.session = session
        # The batch's answers by message id and subject, asked beforehand (else asked here).
        self.known = known if known is not None and workspace_id in known.workspaces else None
        self.workspace_id = workspace_id
        self.verify_reply_token = verify_reply_token
        # The batch's messages already threaded onto a known thread (only those can thread another).
        self.batch = [row for row in batch if row.workspace_id == workspace_id and row.route_thread_id is not None]

    def by_reply_token(self, token: str) -> str | None:
        claims = self.verify_reply_token(token)
        if claims is None or claims.workspace_id != self.workspace_id:  # another workspace's token links nothing
            return None
        if claims.ticket_id:
            # The token's subject is the thread of the mail we sent: a ticket or a conversation we mailed about in
            # this workspace (a mail sent outside a thread signs its own id, which names none: threading falls
            # through).
            with self.session.no_autoflush:  # sent mail: nothing this transaction changes (as below)
                kind = self.session.scalar(
                    select(OutboundMessage.thread_kind)
                    .where(
                        OutboundMessage.workspace_id == self.workspace_id, OutboundMessage.ticket_id == claims.ticket_id
                    )
                    .limit(1)
                )
            return thread_key(kind, claims.ticket_id) if kind else None
        return thread_key("conversation", claims.conversation_id)

    def by_message_ids(self, message_ids: Sequence[str]) -> str | None:
        wanted = list(message_ids)  # as written, <...> included, as outbound_messages keeps them
        if self.known is not None:
            sent = {
                i: self.known.sent[(self.workspace_id, i)] for i in wanted if (self.workspace_id, i) in self.known.sent
            }
            received = {
                i: self.known.received[(self.workspace_id, i)]
                for i in wanted
                if (self.workspace_id, i) in self.known.received
            }
        else:
            sent, received = self._by_message_ids(wanted)
        for earlier in self.batch:
            if earlier.rfc822_message_id in wanted:
                received[earlier.rfc822_message_id] = thread_key(earlier.route_target, earlier.route_thread_id)
        for value in message_ids:  # in the order given: In-Reply-To first, then References newest first
            if (thread := sent.get(value)) is not None:
                return thread
            if (found := received.get(value)) is not None:
                return found
        return None

    def _by_message_ids(self, wanted: list[str]) -> tuple[dict[str, str | None], dict[str, str | None]]:
        with self.session.no_autoflush:  # sent mail, which receiving never changes: no flush of the received
            sent = {
                row.rfc822_message_id: thread_key(row.thread_kind, row.ticket_id)
                for row in self.session.execute(
                    select(
                        OutboundMessage.rfc822_message_id, OutboundMessage.ticket_id, OutboundMessage.thread_kind
                    ).where(
                        OutboundMessage.workspace_id == self.workspace_id,
                        OutboundMessage.rfc822_message_id.in_(wanted),
                        OutboundMessage.ticket_id.is_not(None),
                    )
                )
            }
        with self.session.no_autoflush:
            received = {
                row.rfc822_message_id: thread_key(row.route_target, row.route_thread_id)
                for row in self.session.execute(
                    select(
                        InboundMessageRow.rfc822_message_id,
                        InboundMessageRow.route_target,
                        InboundMessageRow.route_thread_id,
                    ).where(
                        InboundMessageRow.workspace_id == self.workspace_id,
                        InboundMessageRow.rfc822_message_id.in_(wanted),
                        InboundMessageRow.route_thread_id.is_not(None),
                    )
                )
            }
        return sent, received

    def by_ticket_ref(self, ref: str) -> str | None:
        # A ticket's reference is its number in the workspace (outbound.rules.ticket_subject), or the end of its
        # id in mail sent before numbers (the id ends the LIKE). Sent mail only: no flush of the received first.
        with self.session.no_autoflush:
            return self._by_ticket_ref(ref)

    def _by_ticket_ref(self, ref: str) -> str | None:
        if ref.isdigit() and len(ref) <= 18:
            numbered = self.session.scalars(
                select(OutboundMessage.ticket_id)
                .where(OutboundMessage.workspace_id == self.workspace_id, OutboundMessage.ticket_number == int(ref))
                .order_by(OutboundMessage.created_at.desc())
                .limit(1)
            ).first()
            if numbered is not None:
                return thread_key("ticket", numbered)
        ticket = self.session.scalars(
            select(OutboundMessage.ticket_id)
            .where(
                OutboundMessage.workspace_id == self.workspace_id,
                OutboundMessage.thread_kind == "ticket",
                OutboundMessage.ticket_id.like(f"%{ref.lower()}"),
            )
            .order_by(OutboundMessage.created_at.desc())
            .limit(1)
        ).first()
        return thread_key("ticket", ticket)

    def by_subject(self, *, sender: str, subject_key: str, since: datetime) -> str | None:
        if self.known is not None:
            found = [
                item
                for item in self.known.subjects.get((self.workspace_id, sender, subject_key), [])
                if item[0] >= since
            ]
        else:
            found = self._by_subject(sender=sender, subject_key=subject_key, since=since)
        found += [
            (row.received_at, thread_key(row.route_target, row.route_thread_id))
            for row in self.batch
            if row.sender == sender and row.subject_key == subject_key and row.received_at >= since
        ]
        if not found:
            return None
        return max(found, key=lambda item: item[0])[1]

    def _by_subject(self, *, sender: str, subject_key: str, since: datetime) -> list[tuple[datetime, str | None]]:
        with self.session.no_autoflush:
            stored = self.session.execute(
                select(InboundMessageRow.received_at, InboundMessageRow.route_target, InboundMessageRow.route_thread_id)
                .where(
                    InboundMessageRow.workspace_id == self.workspace_id,
                    InboundMessageRow.sender == sender,
                    InboundMessageRow.subject_key == subject_key,
                    InboundMessageRow.received_at >= since,
                    InboundMessageRow.route_thread_id.is_not(None),
                )
                .order_by(InboundMessageRow.received_at.desc())
                .limit(1)
            ).first()
        return [] if stored is None else [(stored.received_at, thread_key(stored.route_target, stored.route_thread_id))]
