"""What a conversation's facts amount to in the conversation report: plain functions, no I/O.

A conversation's life is a series of *cycles*: the first starts when it starts, each reopening starts another,
and an archive closes the one that is open. Every figure is derived per conversation from its facts in the
order things happened (``derive``), so a late or redelivered event gives the same figures, and ``crm reports
rebuild`` gives exactly what the events gave one by one.

What each figure counts, and for whom:

- **new**: the conversation, once, when it started; it counts for its assignee at the start ("" when it
  started unassigned: the "Unassigned" row).
- **closed**: each archive of an open cycle, for the assignee at that close (the archive event's assignee; for
  events older than that field, the assignee the conversation's facts say it had). A conversation reopened and
  closed again counts twice, once per cycle.
- **close time**: per cycle, from its start (the start, or the reopening) to its archive, for the assignee at
  the close; a cycle whose start the report never heard of counts as closed without a close time. A reopened
  conversation's closed time does not count: each cycle is measured apart, not one long one.
- **first response**: per cycle, from the first message of the contact (or web-chat visitor) in it to the first
  reply a member typed after it, for the member who replied. Private notes and automatic messages (auto-replies,
  greetings) are no response. A message of the contact while the conversation is archived belongs to the cycle
  its reopening starts. In a conversation a member started (the member wrote first), the opening message is no
  response: the clock starts with the contact's first message and stops at the next member's reply; if the
  contact never writes, that cycle has no first response.
- **messages sent**: outbound messages members typed (private notes and automatic messages left out), for
  their author, when they were sent; **messages received**: the contact's and visitors' messages, for the
  conversation's assignee when they came.
- **conversations per member** (``handled``, the pie chart): each cycle counts once for every member who was its
  assignee during it, on the day they became its assignee (or the cycle started with them): a conversation
  handed from Ana to Luis counts for both; one reopened next month counts again then.
- A **deleted** conversation counts in no figure, past ones included: the conversations service removes it from
  every list, and the report agrees with what members can still open (``crm reports rebuild`` or the event
  itself takes its past contributions back).

Business hours, when the workspace has them, give each duration its ``business_seconds`` too: the time inside
the calendar (``crm_platform.business_hours``), in the workspace's time zone.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from crm_events import conversations
from crm_platform import business_hours
from crm_platform.business_hours import Calendar
from crm_reports.durations import DurationRow
from crm_reports.facts import FactRow
from crm_reports.projection import NOTHING, Derived
from crm_reports.rollups import Contribution
from crm_reports.workspaces import Context

STARTED = conversations.CONVERSATION_STARTED.name
ASSIGNED = conversations.CONVERSATION_ASSIGNED.name
ARCHIVED = conversations.CONVERSATION_ARCHIVED.name
REOPENED = conversations.CONVERSATION_REOPENED.name
DELETED = conversations.CONVERSATION_DELETED.name
MESSAGE_ADDED = conversations.MESSAGE_ADDED.name
KINDS = frozenset({STARTED, ASSIGNED, ARCHIVED, REOPENED, DELETED, MESSAGE_ADDED})

# Metrics (rollups) and durations
NEW, CLOSED, SENT, RECEIVED, HANDLED = "conv_new", "conv_closed", "conv_sent", "conv_received", "conv_handled"
CLOSE_TIME, FIRST_RESPONSE = "conv_close_time", "conv_first_response"
COUNTS = (NEW, CLOSED, SENT, RECEIVED, HANDLED)
DURATIONS = (FIRST_RESPONSE, CLOSE_TIME)

INBOUND, OUTBOUND, NOTE = "inbound", "outbound", "note"


def is_member_reply(fact: FactRow) -> bool:
    """A message a member typed to the contact: outbound, by a member, not automatic."""
    attrs = fact.attrs
    return (
        attrs.get("direction") == OUTBOUND
        and attrs.get("author_type", "member") == "member"
        and not attrs.get("automatic")
    )


def is_from_contact(fact: FactRow) -> bool:
    """A message of the contact or a web-chat visitor (automatic ones, e.g. a widget's canned text, left out)."""
    return fact.attrs.get("direction") == INBOUND and not fact.attrs.get("automatic")


def calendar_of(context: Context) -> Calendar | None:
    """The workspace's business calendar (None: it has none, every hour counts)."""
    if not context.business_hours:
        return None
    return _calendar(json.dumps(context.business_hours, sort_keys=True), context.time_zone)


@functools.lru_cache(maxsize=64)
def _calendar(kept: str, time_zone: str) -> Calendar:  # checked once, not once per conversation derived
    return business_hours.calendar_from_json(json.loads(kept), time_zone)


@dataclass
class _Cycle:
    """What is known of the open cycle while a conversation's facts are read in order."""

    started_at: datetime | None = None
    waiting_since: datetime | None = None  # the contact's first message not yet answered in this cycle
    responded: bool = False
    handled_by: set[str] = field(default_factory=set)  # who counted it among their conversations


class _Derivation:
    def __init__(self, context: Context) -> None:
        self.calendar = calendar_of(context)
        self.contributions: list[Contribution] = []
        self.durations: list[DurationRow] = []
        self.assignee = ""
        self.open = True  # a conversation the report heard of only by its messages is open
        self.cycle = _Cycle()
        self.cycles_closed = 0
        self.responses = 0

    def duration(self, metric: str, seq: int, start: datetime, end: datetime, member: str) -> None:
        seconds = max((end - start).total_seconds(), 0.0)
        business = None
        if self.calendar is not None:
            business = business_hours.business_time_between(start, end, self.calendar).total_seconds()
        self.durations.append(DurationRow(metric, seq, end, seconds, member, "", business))
        self.contributions.append(Contribution(metric, end, member, seconds=seconds))

    def handled(self, member: str, at: datetime) -> None:
        handled_by = self.cycle.handled_by
        if member and member not in handled_by:
            handled_by.add(member)
            self.contributions.append(Contribution(HANDLED, at, member))

    def start_cycle(self, at: datetime, *, keep_waiting: bool) -> None:
        waiting = self.cycle.waiting_since if keep_waiting else None
        self.cycle = _Cycle(started_at=at, waiting_since=waiting)
        self.open = True
        self.handled(self.assignee, at)

    def read(self, fact: FactRow) -> None:
        attrs, at = fact.attrs, fact.occurred_at
        if fact.kind == STARTED:
            self.assignee = attrs.get("assignee", "")
            self.contributions.append(Contribution(NEW, at, self.assignee))
            self.start_cycle(at, keep_waiting=True)
        elif fact.kind == ASSIGNED:
            self.assignee = attrs.get("assignee", "")
            if self.open:
                self.handled(self.assignee, at)
        elif fact.kind == REOPENED:
            if attrs.get("assignee"):
                self.assignee = attrs["assignee"]
            if not self.open:
                # the contact's message that reopened it (just before, or tied) waits in the new cycle
                self.start_cycle(at, keep_waiting=True)
        elif fact.kind == ARCHIVED:
            self.archive(at, attrs.get("assignee") or self.assignee)
        elif fact.kind == MESSAGE_ADDED:
            self.message(fact)

    def archive(self, at: datetime, member: str) -> None:
        if not self.open:
            return  # archived again while archived: nothing closes
        self.contributions.append(Contribution(CLOSED, at, member))
        if self.cycle.started_at is not None:
            self.duration(CLOSE_TIME, self.cycles_closed, self.cycle.started_at, at, member)
        self.cycles_closed += 1
        self.open = False
        self.cycle = _Cycle()  # what comes while archived belongs to the next cycle

    def message(self, fact: FactRow) -> None:
        at = fact.occurred_at
        if is_from_contact(fact):
            self.contributions.append(Contribution(RECEIVED, at, fact.attrs.get("assignee") or self.assignee))
            if self.cycle.waiting_since is None and not self.cycle.responded:
                self.cycle.waiting_since = at
        elif is_member_reply(fact):
            author = fact.member_id
            self.contributions.append(Contribution(SENT, at, author))
            if self.cycle.waiting_since is not None and not self.cycle.responded:
                self.duration(FIRST_RESPONSE, self.responses, self.cycle.waiting_since, at, author)
                self.responses += 1
                self.cycle.responded = True
                self.cycle.waiting_since = None


def derive(subject_facts: Sequence[FactRow], context: Context) -> Derived:
    """A conversation's contributions and durations (see the module's description of each figure)."""
    if any(fact.kind == DELETED for fact in subject_facts):
        return NOTHING
    derivation = _Derivation(context)
    for fact in subject_facts:
        derivation.read(fact)
    return Derived(derivation.contributions, derivation.durations)


class ConversationsProjection:
    """The conversation report's projection (``crm_reports.projection``)."""

    name = "conversations"
    kinds = KINDS

    def derive(self, subject_facts: Sequence[FactRow], context: Context) -> Derived:
        return derive(subject_facts, context)


PROJECTION = ConversationsProjection()
