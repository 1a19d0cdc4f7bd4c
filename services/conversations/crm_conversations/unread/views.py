"""HTTP API of read markers: mark a conversation read, for the caller only."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from crm_conversations.unread import service
from crm_platform.web import SECURITY, caller, json_response, runtime

api = APIBlueprint(
    "conversation_reads",
    __name__,
    url_prefix="/v1/conversations",
    abp_tags=[Tag(name="conversations")],
    abp_security=SECURITY,
)


class ConversationPath(BaseModel):
    conversation_id: str = Field(max_length=64)


class ReadOut(BaseModel):
    conversation_id: str
    read_count: int
    unread_count: int


@api.post(
    "/<conversation_id>/read",
    responses={200: ReadOut},
    summary="Mark the conversation read up to its latest message, for you only",
)
def mark_read(path: ConversationPath):  # type: ignore[no-untyped-def]
    count = service.mark_read(runtime().database.unit_of_work(), caller=caller(), conversation_id=path.conversation_id)
    return json_response({"conversation_id": path.conversation_id, "read_count": count, "unread_count": 0})
