"""The widget's public HTTP API: no member login. The inbox's id is in the path; the visitor token (minted when a
chat starts) is ``Authorization: Bearer``. Browsers reach it only from the inbox's allowed origins (CORS), and
every request counts against a limit per visitor and per inbox."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

from flask import Response, g, request
from flask_openapi3 import APIBlueprint, OpenAPI, Tag
from pydantic import BaseModel, ConfigDict, Field

from crm_conversations.widget import represent, rules, service, tokens
from crm_conversations.widget.models import Inbox
from crm_conversations.widget.service import Shown
from crm_platform import ratelimit
from crm_platform.attachments import http as attachments_http
from crm_platform.attachments.rules import too_large
from crm_platform.clients.contacts import GrpcContactDirectory
from crm_platform.errors import FieldError, Forbidden, InvalidInput, NotFound, phrase
from crm_platform.limits import MULTIPART_ENVELOPE, body_limit
from crm_platform.service import Runtime
from crm_platform.web import json_response, problem, problem_from_error, runtime, translator

PREFIX = "/v1/conversations/widget"
SCRIPT_RULE = "/v1/conversations/widget.js"
_SCRIPT = Path(__file__).resolve().parent / "static" / "widget.js"
INBOX_RULES = (
    f"{PREFIX}/<inbox_id>/config",
    f"{PREFIX}/<inbox_id>/sessions",
    f"{PREFIX}/<inbox_id>/sessions/renew",
    f"{PREFIX}/<inbox_id>/messages",
    f"{PREFIX}/<inbox_id>/attachments",
    f"{PREFIX}/<inbox_id>/attachments/<attachment_id>",
)
PUBLIC_RULES = (SCRIPT_RULE, *INBOX_RULES)  # ServiceSpec.public_http: no member login on these
_ALLOWED_HEADERS = "Authorization, Content-Type"
_EXPOSED_HEADERS = "Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"

api = APIBlueprint("conversation_widget", __name__, url_prefix=PREFIX, abp_tags=[Tag(name="chat widget (public)")])
script = APIBlueprint("conversation_widget_script", __name__, abp_tags=[Tag(name="chat widget (public)")])


class InboxPath(BaseModel):
    inbox_id: str = Field(max_length=64)


class FilePath(BaseModel):
    inbox_id: str = Field(max_length=64)
    attachment_id: str = Field(max_length=64)


class Identity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=300)
    user_hash: str = Field(min_length=1, max_length=128, description="hex HMAC-SHA256 of user_id, inbox secret")


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=300, description="the pre-chat form's")
    email: str | None = Field(default=None, max_length=320, description="the pre-chat form's")
    identity: Identity | None = Field(default=None, description="a signed-in user of the site, vouched for")


class SessionOut(BaseModel):
    token: str
    expires_at: str
    conversation_id: str


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=5000, description="plain text")


class ConfigOut(BaseModel):
    inbox_id: str
    name: str
    primary_colour: str
    text_colour: str
    welcome_text: str
    offline_message: str
    prechat_form: bool
    strict: bool
    realtime_url: str | None = Field(description="the WebSocket of live messages (realtime/PROTOCOL.md); None: poll")
    language: str = Field(description="the language of `texts`: the visitor's (Accept-Language), else English")
    texts: dict[str, str] = Field(description="the widget's own words (buttons, placeholders) in `language`")


class FileOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int


class VisitorMessageOut(BaseModel):
    id: str
    body: str
    text: str
    direction: str = Field(description="inbound: the visitor's; outbound: a member's answer")
    author_type: str
    author_name: str | None = Field(description="the member who answered")
    attachments: list[FileOut]
    created_at: str


class VisitorMessages(BaseModel):
    items: list[VisitorMessageOut]


SCRIPT_BODY = {"description": "the widget", "content": {"text/javascript": {"schema": {"type": "string"}}}}
DOWNLOAD = {
    "description": "the file's bytes, as an attachment with its name",
    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
}
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "the file; executables (by content) are refused with 422, files over "
                        "CONVERSATIONS_WIDGET_ATTACHMENT_MAX_BYTES with 413",
                    }
                },
            }
        }
    },
}


class MessagesQuery(BaseModel):
    after: str | None = Field(default=None, max_length=64, description="a message id: only the messages after it")
    limit: int = Field(default=100, ge=1, le=200)


# the hooks: CORS per inbox, rate limits per visitor and per inbox --------------------------------------
def install(app: OpenAPI, rt: Runtime) -> None:
    """Register the public blueprints and their hooks (before the platform's body caps and limits)."""
    tokens.key_of(rt)  # a missing or short key stops the process at start
    settings = rt.service_settings
    limiter = ratelimit.RateLimiter(
        per_token=settings.widget_visitor_rate_per_minute, per_workspace=settings.widget_inbox_rate_per_minute
    )
    app.register_api(script)
    app.register_api(api)

    @app.before_request
    def _widget_gate() -> Response | None:
        rule = request.url_rule.rule if request.url_rule is not None else None
        if rule not in INBOX_RULES:
            return None
        with rt.database.unit_of_work() as uow:
            try:
                inbox = service.public_inbox(uow.session, (request.view_args or {}).get("inbox_id", ""))
            except NotFound as error:
                return problem_from_error(error)
            origins = list(inbox.allowed_origins)
        origin = request.headers.get("Origin")
        if not rules.origin_allowed(origins, origin):
            return problem_from_error(
                Forbidden(
                    phrase("this site may not use this chat"),
                    errors=[FieldError("Origin", phrase("not one of the inbox's allowed origins"), "origin_refused")],
                )
            )
        g.widget_origin = origin
        g.widget_inbox = inbox
        if request.method == "OPTIONS":
            return Response(
                status=204,
                headers={
                    "Access-Control-Allow-Methods": "GET, POST",
                    "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
                    "Access-Control-Max-Age": "600",
                },
            )
        return _count(limiter, inbox)

    @app.after_request
    def _widget_cors(response: Response) -> Response:
        if origin := g.get("widget_origin"):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = _EXPOSED_HEADERS
            response.vary.add("Origin")
        return response


def _count(limiter: ratelimit.RateLimiter, inbox: Inbox) -> Response | None:
    """One request of this visitor (its token's, else its address') on this inbox; 429 with Retry-After over."""
    visitor = f"address:{request.remote_addr}"
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        try:
            visitor = f"visitor:{tokens.verify_visitor_token(runtime(), header[7:].strip()).visitor_id}"
        except tokens.InvalidVisitorToken:
            pass  # the view refuses it; the address is counted meanwhile
    decision = limiter.take(token=visitor, workspace_id=f"inbox:{inbox.id}")
    if decision is None or decision.allowed:
        return None
    answer = problem(
        429,
        "Too many requests",
        code="rate-limited",
        detail="more than {limit} requests a minute for this {scope}; retry later",
        params={"limit": decision.limit, "scope": "visitor" if decision.scope == "token" else "inbox"},
    )
    answer.headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after_seconds)))
    answer.headers.update(ratelimit.headers(decision))
    return answer


def _inbox() -> Inbox:
    inbox: Inbox = g.widget_inbox
    return inbox


def _session() -> tokens.VisitorSession:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        raise tokens.InvalidVisitorToken("send Authorization: Bearer <visitor token>")
    return tokens.verify_visitor_token(runtime(), header[7:].strip())


def _ttl(rt: Runtime) -> timedelta:
    return timedelta(seconds=rt.service_settings.widget_token_ttl_seconds)


def realtime_url(rt: Runtime) -> str | None:
    """Where the widget's socket connects (realtime/PROTOCOL.md): CONVERSATIONS_REALTIME_URL, else this host on
    CONVERSATIONS_REALTIME_PORT; None (the widget polls) when neither is set."""
    configured = rt.settings.extra.get("CONVERSATIONS_REALTIME_URL")
    if configured:
        return configured
    # The realtime process declares its port among the service's settings; before it, only the variable says.
    port = getattr(rt.service_settings, "realtime_port", None) or rt.settings.extra.get("CONVERSATIONS_REALTIME_PORT")
    if not port:
        return None
    scheme = "wss" if request.scheme == "https" else "ws"
    return f"{scheme}://{request.host.rsplit(':', 1)[0]}:{port}/v1/conversations/realtime"


# the views ------------------------------------------------------------------------------------------
@script.get(SCRIPT_RULE, responses={200: SCRIPT_BODY}, summary="The chat widget's script (plain JavaScript)")
def widget_script():  # type: ignore[no-untyped-def]
    response = Response(_SCRIPT.read_bytes(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@api.get("/<inbox_id>/config", responses={200: ConfigOut}, summary="What the widget shows for an inbox")
def get_config(path: InboxPath):  # type: ignore[no-untyped-def]
    translate = translator()
    shown = represent.config(
        _inbox(), realtime_url=realtime_url(runtime()), translate=translate, language=translate.locale
    )
    response = json_response(shown)
    response.headers["Content-Language"] = translate.locale
    response.vary.add("Accept-Language")
    return response


@api.post("/<inbox_id>/sessions", responses={201: SessionOut}, summary="Start a visitor's chat: its token")
def start_session(path: InboxPath, body: SessionIn):  # type: ignore[no-untyped-def]
    rt = runtime()
    identity = body.identity
    visitor = rules.Visitor(
        user_id=identity.user_id if identity else None,
        user_hash=identity.user_hash if identity else None,
        email=(identity.email if identity else None) or body.email,
        name=(identity.name if identity else None) or body.name,
    )
    started = service.start_chat(
        rt.database.unit_of_work(),
        GrpcContactDirectory(rt.grpc),
        tokens.key_of(rt),
        inbox=_inbox(),
        visitor=visitor,
        ttl=_ttl(rt),
    )
    return json_response(
        {
            "token": started.token,
            "expires_at": started.expires_at.isoformat(),
            "conversation_id": started.conversation.id,
        },
        201,
    )


@api.post("/<inbox_id>/sessions/renew", responses={200: SessionOut}, summary="A fresh token for the same chat")
def renew_session(path: InboxPath):  # type: ignore[no-untyped-def]
    rt = runtime()
    claims = _session()
    with rt.database.unit_of_work() as uow:
        service.chat_of(uow.session, _inbox(), claims)
    token, expires_at = service.renew(tokens.key_of(rt), claims, ttl=_ttl(rt))
    return json_response(
        {"token": token, "expires_at": expires_at.isoformat(), "conversation_id": claims.conversation_id}
    )


@api.get(
    "/<inbox_id>/messages", responses={200: VisitorMessages}, summary="The chat's messages (after one, for polling)"
)
def list_messages(path: InboxPath, query: MessagesQuery):  # type: ignore[no-untyped-def]
    rt = runtime()
    shown: list[Shown] = service.history(
        rt.database.unit_of_work(),
        GrpcContactDirectory(rt.grpc),
        service.store_of(rt),
        inbox=_inbox(),
        claims=_session(),
        after_id=query.after,
        limit=query.limit,
    )
    return json_response({"items": [represent.visitor_message(item) for item in shown]})


@api.post("/<inbox_id>/messages", responses={201: VisitorMessageOut}, summary="The visitor writes")
def send_message(path: InboxPath, body: MessageIn):  # type: ignore[no-untyped-def]
    rt = runtime()
    message = service.send(
        rt.database.unit_of_work(), GrpcContactDirectory(rt.grpc), inbox=_inbox(), claims=_session(), text=body.body
    )
    return json_response(represent.visitor_message(Shown(message, None, [])), 201)


@api.post(
    "/<inbox_id>/attachments",
    responses={201: VisitorMessageOut},
    summary="The visitor sends a file (multipart 'file')",
    openapi_extensions={"requestBody": UPLOAD_BODY},
)
@body_limit(service.ATTACHMENT_SETTING, service.ATTACHMENT_DEFAULT_BYTES)
def send_file(path: InboxPath):  # type: ignore[no-untyped-def]
    rt = runtime()
    claims = _session()
    files = service.store_of(rt)
    limit = files.limits.max_bytes
    if request.content_length is not None and request.content_length > limit + MULTIPART_ENVELOPE:
        raise too_large("the file", limit)
    sent = request.files.get("file") if request.mimetype == "multipart/form-data" else None
    if sent is None:
        raise InvalidInput(
            phrase("send the file as multipart/form-data"),
            errors=[FieldError("file", phrase("a file is required"), "required")],
        )
    data = sent.stream.read(limit + 1)
    if len(data) > limit:
        raise too_large("the file", limit)
    message, stored = service.upload(
        rt.database.unit_of_work(),
        GrpcContactDirectory(rt.grpc),
        files,
        inbox=_inbox(),
        claims=claims,
        data=data,
        filename=sent.filename,
        content_type=sent.mimetype,
    )
    return json_response(represent.visitor_message(Shown(message, None, [stored])), 201)


@api.get("/<inbox_id>/attachments/<attachment_id>", responses={200: DOWNLOAD}, summary="A file of the visitor's chat")
def get_file(path: FilePath):  # type: ignore[no-untyped-def]
    rt = runtime()
    files = service.store_of(rt)
    stored = service.visitor_file(
        rt.database.unit_of_work(), files, inbox=_inbox(), claims=_session(), attachment_id=path.attachment_id
    )
    return attachments_http.download(files, stored)
