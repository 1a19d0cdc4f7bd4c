"""Contacts' events that name things (members, the funnel, sources) or set the workspace's time zone."""

from __future__ import annotations

import logging
from typing import Any

from crm.events.v1 import contacts_pb2
from crm_events import contacts
from crm_platform.consumer import Subscriptions
from crm_platform.db import UnitOfWork
from crm_platform.events import Event
from crm_reports.labels import rules, service

log = logging.getLogger(__name__)


def member_changed(_rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.MemberChanged]) -> None:
    service.upsert(uow, workspace_id=event.workspace_id, row=rules.of_member(event.payload), as_of=event.occurred_at)


def funnel_changed(_rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.FunnelChanged]) -> None:
    service.replace(
        uow,
        workspace_id=event.workspace_id,
        kinds=(rules.TYPE, rules.STAGE),
        rows=rules.of_funnel(event.payload),
        as_of=event.occurred_at,
    )


def sources_changed(_rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.SourcesChanged]) -> None:
    service.replace(
        uow,
        workspace_id=event.workspace_id,
        kinds=(rules.SOURCE,),
        rows=rules.of_sources(event.payload),
        as_of=event.occurred_at,
    )


def settings_changed(_rt: Any, uow: UnitOfWork, event: Event[contacts_pb2.WorkspaceSettingsChanged]) -> None:
    time_zone = rules.time_zone_of(event.payload)
    if time_zone is None:
        if event.payload.time_zone:
            log.warning("workspace %s: unknown time zone %r left aside", event.workspace_id, event.payload.time_zone)
        return
    service.set_time_zone(uow, workspace_id=event.workspace_id, time_zone=time_zone, as_of=event.occurred_at)


def subscribe(subscriptions: Subscriptions) -> None:
    subscriptions.on(contacts.MEMBER_ADDED)(member_changed)
    subscriptions.on(contacts.MEMBER_UPDATED)(member_changed)
    subscriptions.on(contacts.FUNNEL_CHANGED)(funnel_changed)
    subscriptions.on(contacts.SOURCES_CHANGED)(sources_changed)
    subscriptions.on(contacts.WORKSPACE_SETTINGS_CHANGED)(settings_changed)
