"""HTTP API of a conversation's side panel."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from crm_conversations.panel import service
from crm_conversations.panel.clients import GrpcPanelSources
from crm_platform.web import SECURITY, caller, json_response, runtime, translator

api = APIBlueprint(
    "conversation_panel",
    __name__,
    url_prefix="/v1/conversations",
    abp_tags=[Tag(name="conversations")],
    abp_security=SECURITY,
)


class ConversationPath(BaseModel):
    conversation_id: str = Field(max_length=64)


class PanelOut(BaseModel):
    conversation_id: str
    assignee: dict[str, Any] | None
    contact: dict[str, Any]
    notes: dict[str, Any] = Field(description="the contact's latest notes, pinned first; available false on failure")
    recent_conversations: list[dict[str, Any]]
    tickets: dict[str, Any]


@api.get(
    "/<conversation_id>/panel",
    responses={200: PanelOut},
    summary="The side panel in one call: the assignee, the contact and its source, its notes, its other "
    "conversations and its tickets (tickets.available is false while the tickets service cannot answer)",
)
def get_panel(path: ConversationPath):  # type: ignore[no-untyped-def]
    rt = runtime()
    body = service.panel(
        rt.database.unit_of_work(),
        GrpcPanelSources(rt.grpc, tickets_timeout=rt.service_settings.panel_tickets_timeout_seconds),
        caller=caller(),
        conversation_id=path.conversation_id,
        language=translator().locale,
    )
    return json_response(body)
