"""HTTP API of outbound mail: what was sent, to whom, and how it went."""

from __future__ import annotations

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from crm_mailer.outbound import represent, service
from crm_mailer.outbound.settings import Addressing
from crm_mailer.outbound.unsubscribe import unsubscribe
from crm_platform import paging
from crm_platform.paging import PageQuery
from crm_platform.web import SECURITY, caller, json_response, runtime

api = APIBlueprint("mailer", __name__, url_prefix="/v1/mailer", abp_tags=[Tag(name="mailer")], abp_security=SECURITY)


class MessageOut(BaseModel):
    id: str
    source_event_id: str
    ticket_id: str | None
    contact_id: str | None
    recipient: str | None
    subject: str
    status: str
    attempts: int
    last_error: str | None
    rfc822_message_id: str
    in_reply_to: str | None
    automatic: bool
    created_at: str
    sent_at: str | None


class AttemptOut(BaseModel):
    attempted_at: str
    outcome: str  # sent, deferred, bounced, failed
    detail: str | None


class MessageDetail(MessageOut):
    history: list[AttemptOut]


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


class MessageQuery(PageQuery):
    ticket_id: str | None = None


class MessagePath(BaseModel):
    message_id: str = Field(max_length=64)


@api.get("/messages", responses={200: MessagePage}, summary="List outbound mail, newest first")
def list_messages(query: MessageQuery):  # type: ignore[no-untyped-def]
    messages = service.list_page(
        runtime().database.unit_of_work(),
        caller=caller(),
        limit=query.limit,
        after_id=paging.after_id(query.cursor),
        ticket_id=query.ticket_id,
    )
    return json_response(paging.cut(messages, query.limit, key=lambda row: row.id).body(represent.message))


@api.get("/messages/<message_id>", responses={200: MessageDetail}, summary="Get an outbound mail and its attempts")
def get_message(path: MessagePath):  # type: ignore[no-untyped-def]
    message, attempts = service.get(runtime().database.unit_of_work(), caller=caller(), message_id=path.message_id)
    return json_response(represent.message_with_history(message, attempts))


# One-click unsubscribe (RFC 8058): no login (declared in ServiceSpec.public_http), the signed token is the proof.
UNSUBSCRIBE_RULE = "/v1/mailer/unsubscribe/<token>"
public = APIBlueprint("mailer_unsubscribe", __name__, url_prefix="/v1/mailer", abp_tags=[Tag(name="mailer")])


class UnsubscribePath(BaseModel):
    token: str = Field(min_length=1, max_length=64)


class UnsubscribedOut(BaseModel):
    unsubscribed: bool


@public.post(
    "/unsubscribe/<token>",
    responses={200: UnsubscribedOut},
    security=[],
    summary="One-click unsubscribe from a mail's List-Unsubscribe link (no login; the token is signed)",
)
def unsubscribe_one_click(path: UnsubscribePath):  # type: ignore[no-untyped-def]
    addressing: Addressing = current_app.extensions["crm.mailer.addressing"]
    unsubscribe(runtime().database.unit_of_work(), addressing.token_key, path.token)
    return json_response({"unsubscribed": True})
