"""Contacts' events as the reports service receives them, for the funnel, sources and labels tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message

from crm.events.v1 import contacts_pb2
from tests.support.stack import RunningService, envelope

STAGES = [("s1", "New"), ("s2", "Qualified"), ("s3", "Proposal")]


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 5, day, hour, tzinfo=UTC)


def body(event_type: str, payload: Message, workspace: str, when: datetime) -> bytes:
    return envelope(event_type, payload, workspace_id=workspace, producer="contacts", occurred_at=when)


def funnel(workspace: str, when: datetime, stages: list[tuple[str, str]] = STAGES) -> bytes:
    types = [
        contacts_pb2.FunnelType(
            id="t1",
            key="contact",
            name="Contact",
            position=0,
            stages=[contacts_pb2.FunnelStage(id=key, name=name, position=n) for n, (key, name) in enumerate(stages)],
        )
    ]
    return body("contacts.funnel.changed", contacts_pb2.FunnelChanged(types=types), workspace, when)


def sources(workspace: str, when: datetime, names: dict[str, tuple[str, str]]) -> bytes:
    listed = [contacts_pb2.SourceName(id=key, name_en=en, name_es=es) for key, (en, es) in names.items()]
    return body("contacts.sources.changed", contacts_pb2.SourcesChanged(sources=listed), workspace, when)


def member(workspace: str, when: datetime, member_id: str, name: str, *, added: bool = True) -> bytes:
    kind = "contacts.member.added" if added else "contacts.member.updated"
    return body(kind, contacts_pb2.MemberChanged(member_id=member_id, name=name, active=True), workspace, when)


def created(workspace: str, when: datetime, contact: str, *, stage: str, owner: str, source: str) -> bytes:
    snapshot = contacts_pb2.ContactSnapshot(
        id=contact, type="contact", stage_id=stage, status="active", owner_id=owner, source_id=source
    )
    payload = contacts_pb2.ContactCreated(contact_id=contact, name="Ana", contact=snapshot)
    return body("contacts.contact.created", payload, workspace, when)


def moved(workspace: str, when: datetime, contact: str, *, from_: str, to: str, owner: str, source: str) -> bytes:
    payload = contacts_pb2.ContactStageChanged(
        contact_id=contact,
        from_stage_id=from_,
        to_stage_id=to,
        contact_type="contact",
        owner_id=owner,
        source_id=source,
        status="active",
    )
    return body("contacts.contact.stage_changed", payload, workspace, when)


def status(workspace: str, when: datetime, contact: str, to: str, *, stage: str, owner: str, source: str) -> bytes:
    payload = contacts_pb2.ContactStatusChanged(
        contact_id=contact,
        from_status="active",
        to_status=to,
        owner_id=owner,
        source_id=source,
        stage_id=stage,
        contact_type="contact",
    )
    return body("contacts.contact.status_changed", payload, workspace, when)


def merged(workspace: str, when: datetime, survivor: str, gone: str) -> bytes:
    payload = contacts_pb2.ContactsMerged(survivor_id=survivor, merged_ids=[gone])
    return body("contacts.contact.merged", payload, workspace, when)


def history(workspace: str) -> list[bytes]:
    """Four contacts in May 2026: c1 won after Qualified, c2 lost from New, c3 still in Qualified, c4 merged away.
    Ana owns c1 and c3, Bea c2 and c4."""
    return [
        funnel(workspace, at(1, 8)),
        sources(workspace, at(1, 8), {"web": ("Website", "Sitio web"), "fair": ("Trade fair", "Feria")}),
        member(workspace, at(1, 8), "ana", "Ana"),
        member(workspace, at(1, 8), "bea", "Bea"),
        created(workspace, at(1), "c1", stage="s1", owner="ana", source="web"),
        created(workspace, at(1), "c2", stage="s1", owner="bea", source="fair"),
        created(workspace, at(1, 13), "c4", stage="s1", owner="bea", source="web"),
        moved(workspace, at(2), "c1", from_="s1", to="s2", owner="ana", source="web"),
        status(workspace, at(2), "c2", "lost", stage="s1", owner="bea", source="fair"),
        created(workspace, at(2, 14), "c3", stage="s1", owner="ana", source="web"),
        status(workspace, at(3), "c1", "won", stage="s2", owner="ana", source="web"),
        merged(workspace, at(3, 15), "c3", "c4"),
        moved(workspace, at(4, 14), "c3", from_="s1", to="s2", owner="ana", source="web"),
    ]


def feed(reports: RunningService, bodies: list[bytes]) -> None:
    for one in bodies:
        reports.consume(one)


def report(
    reports: RunningService, key: str, workspace: str, query: str = "", *, user: str = "admin-1", role: str = "admin"
) -> Any:
    answer = reports.client.get(f"/v1/reports/{key}{query}", headers=reports.auth(workspace, user_id=user, role=role))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def table(found: Any, key: str) -> list[dict[str, Any]]:
    return next(table["rows"] for table in found["tables"] if table["key"] == key)


def chart(found: Any, key: str) -> dict[str, Any]:
    return next(chart for chart in found["charts"] if chart["key"] == key)


def figures(found: Any) -> dict[str, Any]:
    return {figure["key"]: figure["value"] for figure in found["figures"]}
