"""HTTP API of members' attachments: upload a file to a conversation, then name it in a message."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from crm_conversations.attachments import rules, service
from crm_conversations.widget.public import UPLOAD_BODY
from crm_platform.limits import body_limit
from crm_platform.web import SECURITY, caller, json_response, runtime

api = APIBlueprint(
    "conversation_attachments",
    __name__,
    url_prefix="/v1/conversations",
    abp_tags=[Tag(name="messages")],
    abp_security=SECURITY,
)


class ConversationPath(BaseModel):
    conversation_id: str = Field(max_length=64)


class AttachmentOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str


@api.post(
    "/<conversation_id>/attachments",
    responses={201: AttachmentOut},
    summary="Upload a file (multipart 'file') to send with your next message: name its id in attachment_ids",
    openapi_extensions={"requestBody": UPLOAD_BODY},
)
@body_limit(rules.ATTACHMENT_SETTING, rules.ATTACHMENT_DEFAULT_BYTES)
def upload(path: ConversationPath):  # type: ignore[no-untyped-def]
    rt = runtime()
    stored = service.upload(
        rt.database.unit_of_work(), service.store_of(rt), caller=caller(), conversation_id=path.conversation_id
    )
    return json_response(file(stored), 201)


def file(stored) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "id": stored.id,
        "filename": stored.filename,
        "content_type": stored.content_type,
        "size": stored.size,
        "sha256": stored.sha256,
    }
