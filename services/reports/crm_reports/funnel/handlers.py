"""Contacts' events as facts of the funnel projection (subject: the contact), which the funnel and sources
reports are both read from: one projection, because one event is one fact of one subject."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm.events.v1 import contacts_pb2
from crm_events import EventType, contacts
from crm_platform.consumer import Subscriptions
from crm_platform.events import Event
from crm_reports import projection
from crm_reports.facts import FactRow
from crm_reports.funnel import rules
from crm_reports.projection import Derived
from crm_reports.sources import rules as sources
from crm_reports.workspaces import Context


class Funnel:
    name = "funnel"
    kinds = frozenset(
        event.name
        for event in (
            contacts.CONTACT_CREATED,
            contacts.CONTACT_UPDATED,
            contacts.CONTACT_STAGE_CHANGED,
            contacts.CONTACT_STATUS_CHANGED,
            contacts.CONTACT_OWNER_CHANGED,
            contacts.CONTACT_MERGED,
            contacts.CONTACT_DELETED,
        )
    )

    def derive(self, subject_facts: Sequence[FactRow], context: Context) -> Derived:
        steps = rules.timeline(subject_facts)
        return Derived([*rules.contributions(steps), *sources.contributions(steps)], rules.stage_times(steps))


FUNNEL = Funnel()


def _fact(event: Event[Any], subject: str, member: str, attrs: dict[str, str]) -> FactRow:
    return FactRow(event.event_id, event.workspace_id, event.type.name, subject, event.occurred_at, member, attrs)


def _snapshot(contact: contacts_pb2.ContactSnapshot) -> dict[str, str]:
    return {
        "type": contact.type,
        "stage_id": contact.stage_id,
        "status": contact.status,
        "owner_id": contact.owner_id,
        "source_id": contact.source_id,
    }


def created(event: Event[contacts_pb2.ContactCreated]) -> list[FactRow]:
    payload = event.payload
    return [_fact(event, payload.contact_id, payload.contact.owner_id, _snapshot(payload.contact))]


def updated(event: Event[contacts_pb2.ContactUpdated]) -> list[FactRow]:
    payload = event.payload
    if not payload.HasField("contact"):
        return []  # nothing the funnel can place
    return [_fact(event, payload.contact_id, payload.contact.owner_id, _snapshot(payload.contact))]


def stage_changed(event: Event[contacts_pb2.ContactStageChanged]) -> list[FactRow]:
    p = event.payload
    attrs = {
        "from_stage_id": p.from_stage_id,
        "to_stage_id": p.to_stage_id,
        "contact_type": p.contact_type,
        "owner_id": p.owner_id,
        "source_id": p.source_id,
        "status": p.status,
    }
    return [_fact(event, p.contact_id, p.owner_id, attrs)]


def status_changed(event: Event[contacts_pb2.ContactStatusChanged]) -> list[FactRow]:
    p = event.payload
    attrs = {
        "to_status": p.to_status,
        "owner_id": p.owner_id,
        "source_id": p.source_id,
        "stage_id": p.stage_id,
        "contact_type": p.contact_type,
    }
    return [_fact(event, p.contact_id, p.owner_id, attrs)]


def owner_changed(event: Event[contacts_pb2.ContactOwnerChanged]) -> list[FactRow]:
    p = event.payload
    return [_fact(event, p.contact_id, p.to_owner_id, {"to_owner_id": p.to_owner_id})]


def merged(event: Event[contacts_pb2.ContactsMerged]) -> list[FactRow]:
    """The merged contacts leave the funnel (the survivor's own events say what it is)."""
    p = event.payload
    return [_fact(event, merged_id, "", {"survivor_id": p.survivor_id}) for merged_id in p.merged_ids if merged_id]


def deleted(event: Event[contacts_pb2.ContactDeleted]) -> list[FactRow]:
    return [_fact(event, event.payload.contact_id, "", {})]


TO_FACTS: dict[EventType[Any], Any] = {
    contacts.CONTACT_CREATED: created,
    contacts.CONTACT_UPDATED: updated,
    contacts.CONTACT_STAGE_CHANGED: stage_changed,
    contacts.CONTACT_STATUS_CHANGED: status_changed,
    contacts.CONTACT_OWNER_CHANGED: owner_changed,
    contacts.CONTACT_MERGED: merged,
    contacts.CONTACT_DELETED: deleted,
}


def subscribe(subscriptions: Subscriptions) -> None:
    for event_type, to_facts in TO_FACTS.items():
        projection.subscribe(subscriptions, event_type, FUNNEL, to_facts)
