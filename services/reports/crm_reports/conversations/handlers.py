"""The conversations service's events the conversation report keeps, as facts about each conversation."""

from __future__ import annotations

from typing import Any

from crm.events.v1 import conversations_pb2
from crm_events import conversations as events
from crm_platform.consumer import Subscriptions
from crm_platform.events import Event
from crm_reports import projection
from crm_reports.conversations.rules import PROJECTION
from crm_reports.facts import FactRow


def _fact(event: Event[Any], conversation_id: str, member_id: str, attrs: dict[str, Any]) -> list[FactRow]:
    if not conversation_id:
        return []  # nothing to count it for
    return [
        FactRow(
            event.event_id, event.workspace_id, event.type.name, conversation_id, event.occurred_at, member_id, attrs
        )
    ]


def started(event: Event[conversations_pb2.ConversationStarted]) -> list[FactRow]:
    payload = event.payload
    attrs = {"assignee": payload.assignee_id, "started_by": payload.started_by, "channel": payload.channel}
    return _fact(event, payload.conversation_id, payload.assignee_id, attrs)


def assigned(event: Event[conversations_pb2.ConversationAssigned]) -> list[FactRow]:
    payload = event.payload
    return _fact(event, payload.conversation_id, payload.to_assignee_id, {"assignee": payload.to_assignee_id})


def status_changed(event: Event[conversations_pb2.ConversationStatusChanged]) -> list[FactRow]:
    payload = event.payload
    return _fact(event, payload.conversation_id, payload.assignee_id, {"assignee": payload.assignee_id})


def deleted(event: Event[conversations_pb2.ConversationDeleted]) -> list[FactRow]:
    return _fact(event, event.payload.conversation_id, "", {})


def message_added(event: Event[conversations_pb2.ConversationMessageAdded]) -> list[FactRow]:
    payload = event.payload
    member = payload.author_id if payload.author_type == "member" else ""
    attrs = {
        "direction": payload.direction,
        "author_type": payload.author_type,
        "automatic": payload.automatic,
        "assignee": payload.assignee_id,
    }
    return _fact(event, payload.conversation_id, member, attrs)


def subscribe(subscriptions: Subscriptions) -> None:
    projection.subscribe(subscriptions, events.CONVERSATION_STARTED, PROJECTION, started)
    projection.subscribe(subscriptions, events.CONVERSATION_ASSIGNED, PROJECTION, assigned)
    projection.subscribe(subscriptions, events.CONVERSATION_ARCHIVED, PROJECTION, status_changed)
    projection.subscribe(subscriptions, events.CONVERSATION_REOPENED, PROJECTION, status_changed)
    projection.subscribe(subscriptions, events.CONVERSATION_DELETED, PROJECTION, deleted)
    projection.subscribe(subscriptions, events.MESSAGE_ADDED, PROJECTION, message_added)
