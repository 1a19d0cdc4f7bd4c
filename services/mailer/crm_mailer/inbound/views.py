"""HTTP API of inbound mail: a raw message posted by a relay or provider, and the stored original of one."""

from __future__ import annotations

from flask import Response, current_app, request
from flask_openapi3 import APIBlueprint, OpenAPI, Tag
from pydantic import BaseModel, Field, IPvAnyAddress

from crm_mailer.inbound import service
from crm_mailer.inbound.message import Envelope
from crm_mailer.inbound.service import Pipeline
from crm_mailer.inbound.settings import InboundSettings
from crm_platform.attachments.http import download
from crm_platform.context import require_admin
from crm_platform.errors import FieldError, InvalidInput, NotFound, phrase
from crm_platform.limits import body_limit
from crm_platform.web import SECURITY, caller, json_response, runtime

api = APIBlueprint(
    "mailer_inbound", __name__, url_prefix="/v1/mailer/inbound", abp_tags=[Tag(name="mailer")], abp_security=SECURITY
)
EXTENSION = "crm_mailer.inbound"
RAW_TYPES = ("message/rfc822", "application/octet-stream", "text/plain")
DEFAULT_MAX_BYTES = InboundSettings().max_bytes


class InboundPath(BaseModel):
    inbound_id: str = Field(max_length=64)


class AttachmentPath(BaseModel):
    inbound_id: str = Field(max_length=64)
    attachment_id: str = Field(max_length=64)


class RawQuery(BaseModel):
    mail_from: str | None = Field(None, max_length=320, description="the envelope sender, if the relay knows it")
    rcpt_to: str | None = Field(None, max_length=320, description="the envelope recipient, if the relay knows it")
    client_ip: IPvAnyAddress | None = Field(
        None, description="the address of the SMTP client the relay took the message from: SPF is checked for it"
    )
    helo: str | None = Field(None, max_length=255, description="that client's HELO/EHLO name")


class InboundOut(BaseModel):
    id: str
    status: str
    kind: str | None
    quarantine: str | None
    route_target: str | None
    route_rule: str | None


def install(app: OpenAPI, pipeline: Pipeline) -> None:
    app.extensions[EXTENSION] = pipeline
    app.register_api(api)


def _pipeline() -> Pipeline:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


@api.post(
    "",
    responses={202: InboundOut},
    summary="Take a raw RFC 5322 message for the caller's workspace (admins: the token of a relay or provider)",
)
@body_limit("MAILER_INBOUND_MAX_BYTES", DEFAULT_MAX_BYTES, field="body")
def post_raw(query: RawQuery):  # type: ignore[no-untyped-def]
    who = caller()
    require_admin(who, "post raw mail")
    content_type = (request.mimetype or "").lower()
    if content_type not in RAW_TYPES:
        raise InvalidInput(
            phrase("the message must be sent as message/rfc822"),
            errors=[FieldError("body", phrase("send the raw message as message/rfc822"), "unsupported_media_type")],
        )
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise InvalidInput(
            phrase("the message must be sent as message/rfc822"),
            errors=[FieldError("body", phrase("the message is empty"), "empty")],
        )
    pipeline = _pipeline()
    envelope = Envelope(
        mail_from=query.mail_from,
        rcpt_to=(query.rcpt_to,) if query.rcpt_to else (),
        client_ip=str(query.client_ip) if query.client_ip is not None else None,
        helo=query.helo,
    )
    row = pipeline.receive(raw, envelope=envelope, channel="http", workspace_id=who.workspace_id)
    pipeline.process(row.id)
    stored = service.raw_of(runtime().database.unit_of_work(), caller=who, inbound_id=row.id)
    body = {
        "id": stored.id,
        "status": stored.status,
        "kind": stored.kind,
        "quarantine": stored.quarantine,
        "route_target": stored.route_target,
        "route_rule": stored.route_rule,
    }
    return json_response(body, 202, {"Location": f"/v1/mailer/inbound/{row.id}/raw"})


@api.get(
    "/<inbound_id>/raw",
    responses={200: None},
    summary="The stored original of a received message, byte for byte (message/rfc822)",
)
def get_raw(path: InboundPath):  # type: ignore[no-untyped-def]
    row = service.raw_of(runtime().database.unit_of_work(), caller=caller(), inbound_id=path.inbound_id)
    return Response(
        row.raw,
        mimetype="message/rfc822",
        headers={"Content-Disposition": f'attachment; filename="{row.id}.eml"', "X-Content-Type-Options": "nosniff"},
    )


@api.get(
    "/<inbound_id>/attachments/<attachment_id>",
    responses={200: None},
    summary="A file of a received message (mailer.inbound.received's attachments), as a download",
)
def get_attachment(path: AttachmentPath):  # type: ignore[no-untyped-def]
    store = _pipeline().attachments
    if store is None:
        raise NotFound(f"attachment {path.attachment_id} not found")
    stored = service.attachment_of(
        runtime().database.unit_of_work(),
        store,
        caller=caller(),
        inbound_id=path.inbound_id,
        attachment_id=path.attachment_id,
    )
    return download(store, stored)
