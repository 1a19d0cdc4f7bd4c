"""The event streams ``bench/reports_scale.py`` feeds the reports: realistic lifecycles of conversations, tickets,
contacts in the funnel and mail, as the producers' protobuf events, and what contacts says of a workspace first."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

WORKSPACES, MEMBERS = 10, 20
ZONES = ("Europe/Madrid", "America/Mexico_City", "UTC", "Asia/Tokyo", "America/Bogota")
STAGES = ("lead", "qualified", "proposal", "negotiation")


@dataclass
class Tenant:
    id: str
    zone: str
    members: list[str]
    stages: list[str]
    sources: list[str]


# --- the producers' events ----------------------------------------------------------------------------------
class Stream:
    """Realistic lifecycles of one workspace, as (event type, payload, occurred at), in the order they happen
    within each subject (subjects interleave freely: the facts do not care in which order they are loaded)."""

    def __init__(self, tenant: Tenant, rng: random.Random, now: datetime) -> None:
        from crm.events.v1 import contacts_pb2, conversations_pb2, mailer_pb2, tickets_pb2

        self.t, self.rng, self.now = tenant, rng, now
        self.c, self.v, self.m, self.k = contacts_pb2, conversations_pb2, mailer_pb2, tickets_pb2
        self.number = 0

    def id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def member(self) -> str:
        return self.rng.choice(self.t.members)

    def later(self, at: datetime, low_minutes: float, high_minutes: float) -> datetime:
        return at + timedelta(minutes=self.rng.uniform(low_minutes, high_minutes))

    def lifecycle(self, start: datetime) -> list[tuple[Any, Any, datetime]]:
        roll = self.rng.random()
        if roll < 0.45:
            return self.conversation(start)
        if roll < 0.75:
            return self.ticket(start)
        if roll < 0.9:
            return self.contact(start)
        return self.mail(start)

    def conversation(self, at: datetime) -> list[tuple[Any, Any, datetime]]:
        from crm_events import conversations as ev

        v, conversation, contact = self.v, self.id(), self.id()
        assignee = self.member() if self.rng.random() < 0.7 else ""
        channel = "email" if self.rng.random() < 0.6 else "web_chat"
        out = [
            (
                ev.CONVERSATION_STARTED,
                v.ConversationStarted(
                    conversation_id=conversation,
                    contact_id=contact,
                    subject="Question about my order",
                    channel=channel,
                    assignee_id=assignee,
                    started_by="contact",
                ),
                at,
            )
        ]

        def message(direction: str, when: datetime, *, automatic: bool = False) -> None:
            author_type = {"inbound": "contact", "outbound": "member", "note": "member"}[direction]
            author = contact if direction == "inbound" else (assignee or self.member())
            out.append(
                (
                    ev.MESSAGE_ADDED,
                    v.ConversationMessageAdded(
                        conversation_id=conversation,
                        message_id=self.id(),
                        contact_id=contact,
                        body="Thanks, we are looking into it",
                        author_id=author,
                        direction=direction,
                        channel=channel,
                        author_type=author_type,
                        assignee_id=assignee,
                        automatic=automatic,
                    ),
                    when,
                )
            )

        cycles = 2 if self.rng.random() < 0.2 else 1
        for cycle in range(cycles):
            message("inbound", at)
            if cycle == 0 and self.rng.random() < 0.1:
                message("outbound", at + timedelta(seconds=2), automatic=True)
            if not assignee:
                at = self.later(at, 1, 90)
                assignee = self.member()
                out.append(
                    (
                        ev.CONVERSATION_ASSIGNED,
                        v.ConversationAssigned(
                            conversation_id=conversation, contact_id=contact, to_assignee_id=assignee, actor_id=assignee
                        ),
                        at,
                    )
                )
            for _ in range(self.rng.randint(1, 3)):
                at = self.later(at, 2, 240)
                message("outbound", at)
                if self.rng.random() < 0.6:
                    at = self.later(at, 5, 600)
                    message("inbound", at)
            if self.rng.random() < 0.3:
                message("note", self.later(at, 1, 30))
            at = self.later(at, 10, 2880)
            out.append(
                (
                    ev.CONVERSATION_ARCHIVED,
                    v.ConversationStatusChanged(
                        conversation_id=conversation,
                        contact_id=contact,
                        from_status="open",
                        to_status="archived",
                        actor_id=assignee,
                        reason="archived",
                        assignee_id=assignee,
                    ),
                    at,
                )
            )
            if cycle + 1 < cycles:
                at = self.later(at, 60, 14400)
                out.append(
                    (
                        ev.CONVERSATION_REOPENED,
                        v.ConversationStatusChanged(
                            conversation_id=conversation,
                            contact_id=contact,
                            from_status="archived",
                            to_status="open",
                            actor_id="contact",
                            reason="contact_replied",
                            assignee_id=assignee,
                        ),
                        at,
                    )
                )
        return out

    def ticket(self, at: datetime) -> list[tuple[Any, Any, datetime]]:
        from crm_events import tickets as ev

        k, ticket, contact = self.k, self.id(), self.id()
        self.number += 1
        number = self.number
        responsible = self.member() if self.rng.random() < 0.6 else ""
        priority = self.rng.choices(("low", "normal", "high", "urgent"), (15, 60, 20, 5))[0]
        out = [
            (
                ev.TICKET_OPENED,
                k.TicketOpened(
                    ticket_id=ticket,
                    contact_id=contact,
                    subject="Printer not working",
                    opened_by=contact,
                    number=number,
                    status="new",
                    priority=priority,
                    responsible_id=responsible,
                    channel="email" if self.rng.random() < 0.7 else "api",
                ),
                at,
            )
        ]

        def comment(public: bool, author_type: str, when: datetime) -> None:
            author = contact if author_type == "contact" else (responsible or self.member())
            out.append(
                (
                    ev.COMMENT_PUBLIC_ADDED if public else ev.COMMENT_PRIVATE_ADDED,
                    k.CommentAdded(
                        ticket_id=ticket,
                        comment_id=self.id(),
                        contact_id=contact,
                        ticket_subject="Printer not working",
                        body="We sent a replacement",
                        author_id=author,
                        public=public,
                        ticket_number=number,
                        author_type=author_type,
                        responsible_id=responsible,
                    ),
                    when,
                )
            )

        def status(before: str, after: str, when: datetime, reason: str, actor: str) -> None:
            out.append(
                (
                    ev.TICKET_STATUS_CHANGED,
                    k.TicketStatusChanged(
                        ticket_id=ticket,
                        contact_id=contact,
                        number=number,
                        from_status=before,
                        to_status=after,
                        actor_id=actor,
                        reason=reason,
                        responsible_id=responsible,
                        priority=priority,
                    ),
                    when,
                )
            )

        if not responsible:
            at = self.later(at, 1, 120)
            responsible = self.member()
            out.append(
                (
                    ev.TICKET_ASSIGNED,
                    k.TicketAssigned(
                        ticket_id=ticket,
                        contact_id=contact,
                        number=number,
                        to_responsible_id=responsible,
                        actor_id=responsible,
                    ),
                    at,
                )
            )
        if self.rng.random() < 0.1:
            changed = self.rng.choice(("high", "urgent"))
            out.append(
                (
                    ev.TICKET_PRIORITY_CHANGED,
                    k.TicketPriorityChanged(
                        ticket_id=ticket,
                        contact_id=contact,
                        number=number,
                        from_priority=priority,
                        to_priority=changed,
                        actor_id=responsible,
                    ),
                    self.later(at, 1, 30),
                )
            )
            priority = changed
        if self.rng.random() < 0.3:
            comment(False, "member", self.later(at, 1, 60))
        at = self.later(at, 5, 480)
        comment(True, "member", at)
        status("new", "open", at, "agent_reply", responsible)
        state = "open"
        for _ in range(self.rng.randint(0, 2)):
            at = self.later(at, 30, 2880)
            comment(True, "contact", at)
            out.append(
                (
                    ev.TICKET_CUSTOMER_REPLIED,
                    k.CustomerReplied(
                        ticket_id=ticket,
                        contact_id=contact,
                        number=number,
                        comment_id=self.id(),
                        status_before=state,
                        status_after="open",
                    ),
                    at,
                )
            )
            at = self.later(at, 5, 480)
            comment(True, "member", at)
        at = self.later(at, 60, 4320)
        status("open", "solved", at, "solved", responsible)
        at += timedelta(days=7)
        status("solved", "closed", at, "auto_close", "system")
        if self.rng.random() < 0.1:
            at = self.later(at, 60, 14400)
            status("closed", "open", at, "reopened", responsible)
            at = self.later(at, 60, 2880)
            status("open", "solved", at, "solved", responsible)
        return out

    def contact(self, at: datetime) -> list[tuple[Any, Any, datetime]]:
        from google.protobuf.timestamp_pb2 import Timestamp

        from crm_events import contacts as ev

        c, contact, owner = self.c, self.id(), self.member()
        source = self.rng.choice(self.t.sources)
        created = Timestamp()
        created.FromDatetime(at)
        stage = self.t.stages[0]
        out = [
            (
                ev.CONTACT_CREATED,
                c.ContactCreated(
                    contact_id=contact,
                    name="Ana López",
                    email=f"{contact[:8]}@example.com",
                    created_at=created,
                    contact=c.ContactSnapshot(
                        id=contact,
                        name="Ana López",
                        type="contact",
                        stage_id=stage,
                        status="active",
                        owner_id=owner,
                        source_id=source,
                    ),
                ),
                at,
            )
        ]
        for following in self.t.stages[1 : 1 + self.rng.choice((0, 0, 1, 1, 2, 3))]:
            at = self.later(at, 600, 20000)
            out.append(
                (
                    ev.CONTACT_STAGE_CHANGED,
                    c.ContactStageChanged(
                        contact_id=contact,
                        from_stage_id=stage,
                        to_stage_id=following,
                        contact_type="contact",
                        actor_id=owner,
                        owner_id=owner,
                        source_id=source,
                        status="active",
                    ),
                    at,
                )
            )
            stage = following
        outcome = self.rng.random()
        if outcome < 0.45:
            out.append(
                (
                    ev.CONTACT_STATUS_CHANGED,
                    c.ContactStatusChanged(
                        contact_id=contact,
                        from_status="active",
                        to_status="won" if outcome < 0.3 else "lost",
                        actor_id=owner,
                        owner_id=owner,
                        source_id=source,
                        stage_id=stage,
                        contact_type="contact",
                    ),
                    self.later(at, 600, 20000),
                )
            )
        return out

    def mail(self, at: datetime) -> list[tuple[Any, Any, datetime]]:
        from crm_events import mailer as ev

        m, message, contact = self.m, self.id(), self.id()
        recipient = f"{contact[:8]}@example.com"
        roll = self.rng.random()
        if roll < 0.01:
            return [
                (
                    ev.MESSAGE_SUPPRESSED,
                    m.MessageSuppressed(
                        message_id=message, recipient=recipient, reason="inactive:hard_bounce", contact_id=contact
                    ),
                    at,
                )
            ]
        kind = self.rng.choice(("ticket_comment", "conversation_message", "direct"))
        out = [
            (
                ev.MESSAGE_SENT,
                m.MessageSent(
                    message_id=message,
                    rfc822_message_id=f"<{message}@mail.example>",
                    recipient=recipient,
                    subject="Your order",
                    contact_id=contact,
                    kind=kind,
                ),
                at,
            )
        ]
        if roll < 0.04:
            out.append(
                (
                    ev.DELIVERY_BOUNCED,
                    m.DeliveryBounced(
                        recipient=recipient,
                        kind=self.rng.choice(("hard", "soft", "mailbox_full")),
                        diagnostic="550 5.1.1 no such user",
                        rfc822_message_id=f"<{message}@mail.example>",
                        contact_id=contact,
                        message_id=message,
                    ),
                    self.later(at, 1, 30),
                )
            )
        return out


def envelope_of(event_type: Any, payload: Any, workspace_id: str, at: datetime, event_id: str) -> Any:
    from crm.events.v1 import envelope_pb2

    envelope = envelope_pb2.Envelope(
        event_id=event_id, type=event_type.name, workspace_id=workspace_id, producer=event_type.producer
    )
    envelope.payload.Pack(payload)
    envelope.occurred_at.FromDatetime(at)
    return envelope


def tenants_of(seed: int) -> list[Tenant]:
    rng = random.Random(seed)

    def ident() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    return [
        Tenant(
            ident(),
            ZONES[n % len(ZONES)],
            [ident() for _ in range(MEMBERS)],
            [ident() for _ in STAGES],
            [ident() for _ in range(4)],
        )
        for n in range(WORKSPACES)
    ]


def setup_events(tenant: Tenant, now: datetime) -> list[bytes]:
    """What contacts tells the reports of a workspace before anything happens in it: its time zone, members,
    funnel and sources (names for the charts), delivered through the real consumer."""
    from crm.events.v1 import contacts_pb2 as c
    from crm_events import contacts as ev

    at = now - timedelta(days=400)
    found = [
        (
            ev.WORKSPACE_SETTINGS_CHANGED,
            c.WorkspaceSettingsChanged(changed_fields=["time_zone"], time_zone=tenant.zone),
        ),
        *(
            (
                ev.MEMBER_ADDED,
                c.MemberChanged(member_id=m, name=f"Member {n}", email=f"m{n}@example.com", role="agent", active=True),
            )
            for n, m in enumerate(tenant.members)
        ),
        (
            ev.FUNNEL_CHANGED,
            c.FunnelChanged(
                types=[
                    c.FunnelType(
                        id=str(uuid.uuid5(uuid.NAMESPACE_URL, tenant.id)),
                        key="contact",
                        name="Contact",
                        position=0,
                        stages=[
                            c.FunnelStage(id=s, name=STAGES[n].title(), position=n) for n, s in enumerate(tenant.stages)
                        ],
                    )
                ]
            ),
        ),
        (
            ev.SOURCES_CHANGED,
            c.SourcesChanged(
                sources=[
                    c.SourceName(id=s, key=key, name_en=key.title(), name_es=key.title(), builtin=bool(key))
                    for s, key in zip(tenant.sources, ("manual", "web", "default", ""), strict=True)
                ]
            ),
        ),
    ]
    return [
        envelope_of(event_type, payload, tenant.id, at + timedelta(seconds=n), str(uuid.uuid4())).SerializeToString()
        for n, (event_type, payload) in enumerate(found)
    ]
