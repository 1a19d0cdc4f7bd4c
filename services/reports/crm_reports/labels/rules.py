"""What contacts' events say about names and the time zone, as plain rows: no I/O."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

from crm.events.v1 import contacts_pb2

MEMBER, TYPE, STAGE, SOURCE = "member", "type", "stage", "source"


@dataclass(frozen=True)
class LabelRow:
    """One name to keep (``workspaces.Label`` without the workspace and the time it was true)."""

    kind: str
    key: str
    name: str
    name_es: str = ""
    position: int = 0
    parent: str = ""


@dataclass(frozen=True)
class Stage:
    """A stage as the funnel shows it: in its type's order, types in theirs."""

    key: str
    name: str
    position: int
    type_key: str
    type_name: str
    type_position: int


def of_member(payload: contacts_pb2.MemberChanged) -> LabelRow:
    return LabelRow(MEMBER, payload.member_id, payload.name or payload.email or payload.member_id)


def of_funnel(payload: contacts_pb2.FunnelChanged) -> list[LabelRow]:
    """The types (by key, as contacts name a contact's type) and their stages (by id, the type's key as parent)."""
    rows: list[LabelRow] = []
    for funnel_type in payload.types:
        rows.append(LabelRow(TYPE, funnel_type.key, funnel_type.name or funnel_type.key, position=funnel_type.position))
        for stage in funnel_type.stages:
            rows.append(
                LabelRow(STAGE, stage.id, stage.name or stage.id, position=stage.position, parent=funnel_type.key)
            )
    return rows


def of_sources(payload: contacts_pb2.SourcesChanged) -> list[LabelRow]:
    """Sources by id, named in English (the Spanish name where there is no English one) and in Spanish."""
    return [
        LabelRow(SOURCE, source.id, source.name_en or source.name_es or source.key or source.id, source.name_es)
        for source in payload.sources
    ]


def time_zone_of(payload: contacts_pb2.WorkspaceSettingsChanged) -> str | None:
    """The IANA time zone the settings name, None when they name none or one this machine does not know."""
    name = payload.time_zone.strip()
    if not name:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return name
