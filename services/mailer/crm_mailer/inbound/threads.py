"""Which conversation a person's message belongs to, and why: a pure rule over lookups the caller provides.

In this order: our reply token in a recipient address; a stored Message-ID in In-Reply-To, then References
(newest first); a ticket reference in the subject (``[#2e3f4a5b]``); the same normalised subject from the same
sender within a number of days; otherwise a new conversation. A token, id or reference that matches nothing
falls through to the next rule, and the decision says which clues were tried.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from crm_mailer.inbound import subjects, tokens
from crm_mailer.inbound.message import InboundMessage

Rule = Literal["reply_token", "references", "ticket_number", "subject", "new"]


class ThreadLookups(Protocol):
    """What threading asks storage; the pipeline passes database-backed ones, tests ``InMemoryThreadLookups``."""

    def by_reply_token(self, token: str) -> str | None: ...

    def by_message_ids(self, message_ids: Sequence[str]) -> str | None:
        """The thread of the first of these ids (in the order given) that is stored."""
        ...

    def by_ticket_ref(self, ref: str) -> str | None: ...

    def by_subject(self, *, sender: str, subject_key: str, since: datetime) -> str | None:
        """The newest thread with that normalised subject and a message since then from that sender (the From
        address, lower-cased; a database lookup may widen it to every address of the sender's contact)."""
        ...


@dataclass(frozen=True)
class ThreadDecision:
    thread_id: str | None  # None: start a new conversation
    rule: Rule
    why: str
    tried: tuple[str, ...] = ()  # the clues that matched nothing, in the order tried

    @property
    def is_new(self) -> bool:
        return self.thread_id is None


def thread_of(
    message: InboundMessage, lookups: ThreadLookups, *, now: datetime, subject_window_days: int
) -> ThreadDecision:
    tried: list[str] = []
    token = tokens.find_token(message, "reply")
    if token is not None:
        found = lookups.by_reply_token(token)
        if found is not None:
            return ThreadDecision(found, "reply_token", f"reply token {token} in the recipient address", tuple(tried))
        tried.append(f"reply token {token}")
    ids = tuple(dict.fromkeys((*message.in_reply_to, *reversed(message.references))))
    if ids:
        found = lookups.by_message_ids(ids)
        if found is not None:
            return ThreadDecision(found, "references", "In-Reply-To/References name a stored message", tuple(tried))
        tried.append(f"{len(ids)} message id(s)")
    for ref in subjects.ticket_refs(message.subject):
        found = lookups.by_ticket_ref(ref)
        if found is not None:
            return ThreadDecision(found, "ticket_number", f"ticket [#{ref}] in the subject", tuple(tried))
        tried.append(f"ticket [#{ref}]")
    key = subjects.normalise_subject(message.subject)
    if key and message.from_ is not None:
        since = now - timedelta(days=subject_window_days)
        found = lookups.by_subject(sender=message.from_.key, subject_key=key, since=since)
        if found is not None:
            why = f"subject '{key}' from {message.from_.key} within {subject_window_days} days"
            return ThreadDecision(found, "subject", why, tuple(tried))
        tried.append(f"subject '{key}'")
    return ThreadDecision(None, "new", "nothing links it to a known conversation", tuple(tried))


@dataclass
class InMemoryThreadLookups:
    """The lookups over dictionaries: for tests and the benchmark, and a model of what the database must answer."""

    tokens: dict[str, str] = field(default_factory=dict)
    message_ids: dict[str, str] = field(default_factory=dict)
    tickets: dict[str, str] = field(default_factory=dict)
    # (sender, subject key) -> [(when, thread)], any order
    subjects: dict[tuple[str, str], list[tuple[datetime, str]]] = field(default_factory=dict)

    def by_reply_token(self, token: str) -> str | None:
        return self.tokens.get(token)

    def by_message_ids(self, message_ids: Sequence[str]) -> str | None:
        return next((self.message_ids[i] for i in message_ids if i in self.message_ids), None)

    def by_ticket_ref(self, ref: str) -> str | None:
        return self.tickets.get(ref.lower())

    def by_subject(self, *, sender: str, subject_key: str, since: datetime) -> str | None:
        recent = [item for item in self.subjects.get((sender, subject_key), []) if item[0] >= since]
        return max(recent)[1] if recent else None
