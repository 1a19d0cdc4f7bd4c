"""Request body caps, enforced before a body is read: each upload endpoint its own, every other body 1 MiB.

A view that takes an upload declares its cap with ``@body_limit(setting, default)`` (below its route
decorator); any other body is JSON and capped by ``CRM_MAX_JSON_BODY_BYTES``. The app refuses a body whose
``Content-Length`` is over the cap with 413 before reading a byte of it, and cuts a body sent without a length
(chunked) at the same cap while reading. The HTTP server (``crm_platform.httpserver``) asks the same app for
the cap as soon as it has a request's headers, so an oversized body is not buffered either.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from crm_platform import context
from crm_platform.settings import DEFAULT_MAX_JSON_BODY_BYTES, Settings, SettingsError

F = TypeVar("F", bound=Callable[..., Any])
PROBLEM_JSON = "application/problem+json"
# Room for the multipart boundary and part headers around an uploaded file.
MULTIPART_ENVELOPE = 64 * 1024
BodyCap = Callable[[str, str], int]  # (method, path) -> the most bytes that request's body may have


@dataclass(frozen=True)
class BodyLimit:
    """What a view declares: the setting naming its cap, the default, and the form field that carries it."""

    setting: str
    default: int
    field: str = "body"
    envelope: int = 0

    def content_bytes(self, settings: Settings) -> int:
        raw = settings.extra.get(self.setting)
        if raw is None:
            return self.default
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            raise SettingsError(f"{self.setting} must be a positive number of bytes, got {raw!r}")
        return value


def body_limit(
    setting: str, default: int, *, field: str = "file", envelope: int = MULTIPART_ENVELOPE
) -> Callable[[F], F]:
    """Give a view that takes an upload its own body cap (the file's bytes plus the multipart envelope)."""

    def mark(view: F) -> F:
        view.crm_body_limit = BodyLimit(setting, default, field, envelope)  # type: ignore[attr-defined]
        return view

    return mark


@dataclass(frozen=True)
class Cap:
    body_bytes: int  # what the body may have, envelope included
    content_bytes: int  # what the caller is told: the file (or JSON document) itself
    field: str


class BodyLimits:
    """The body cap of every endpoint of one app, resolved from its settings when the app is built."""

    def __init__(self, app: Flask, settings: Settings) -> None:
        self.default = Cap(settings.max_json_body_bytes, settings.max_json_body_bytes, "body")
        self.by_endpoint: dict[str, Cap] = {}
        for endpoint, view in app.view_functions.items():
            declared: BodyLimit | None = getattr(view, "crm_body_limit", None)
            if declared is not None:
                content = declared.content_bytes(settings)
                self.by_endpoint[endpoint] = Cap(content + declared.envelope, content, declared.field)
        self.url_map = app.url_map

    def for_endpoint(self, endpoint: str | None) -> Cap:
        return self.by_endpoint.get(endpoint or "", self.default)

    def for_request(self, method: str, path: str) -> int:
        """The cap of the endpoint ``method path`` routes to; the JSON cap for anything else."""
        if not self.by_endpoint:
            return self.default.body_bytes
        try:
            endpoint, _ = self.url_map.bind("localhost").match(path, method)
        except HTTPException:  # not found, method not allowed, redirect: the app answers, with the JSON cap
            return self.default.body_bytes
        return self.for_endpoint(str(endpoint)).body_bytes

    def largest(self) -> int:
        return max([self.default.body_bytes, *(cap.body_bytes for cap in self.by_endpoint.values())])


def problem_document(status: int, title: str, *, code: str, detail: str, **extra: Any) -> bytes:
    """A problem+json body for answers given where no Flask request exists (the HTTP server itself)."""
    body: dict[str, Any] = {"type": f"urn:crm:problem:{code}", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return json.dumps(body).encode()


def too_large(cap: Cap) -> Response:
    body = json.loads(
        problem_document(
            413,
            "The request body is too large",
            code="body-too-large",
            detail=f"this endpoint takes at most {cap.content_bytes} bytes",
            errors=[{"field": cap.field, "message": f"at most {cap.content_bytes} bytes", "code": "too_large"}],
            max_bytes=cap.content_bytes,
            instance=request.path,
            request_id=context.current_request_id(),
        )
    )
    return Response(json.dumps(body), status=413, mimetype=PROBLEM_JSON)


def install(app: Flask, settings: Settings) -> BodyLimits:
    """Cap every request's body in ``app``; call it once every view is registered."""
    limits = BodyLimits(app, settings)
    app.extensions["crm.body_limits"] = limits

    @app.before_request
    def _cap_body() -> Response | None:
        cap = limits.for_endpoint(request.endpoint)
        if request.content_length is not None:
            return too_large(cap) if request.content_length > cap.body_bytes else None
        if request.environ.get("wsgi.input_terminated"):  # a body without a length: cut while it is read
            request.environ["wsgi.input"] = CappedStream(request.environ["wsgi.input"], cap.body_bytes)
        return None

    @app.errorhandler(RequestEntityTooLarge)
    def _cut_body(_error: RequestEntityTooLarge) -> Response:
        return too_large(limits.for_endpoint(request.endpoint))

    return limits


class CappedStream(io.RawIOBase):
    """A body of unknown length that raises 413 as soon as more than ``cap`` bytes of it are read."""

    def __init__(self, stream: Any, cap: int) -> None:
        self.stream, self.left = stream, cap

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        data = self.stream.read(min(len(view), self.left + 1))
        if len(data) > self.left:
            raise RequestEntityTooLarge()
        self.left -= len(data)
        view[: len(data)] = data
        return len(data)


def body_cap_of(wsgi: Any) -> BodyCap:
    """How the HTTP server asks a WSGI app (one service's, or all-in-one's dispatcher) for a request's cap."""
    found = getattr(wsgi, "crm_body_cap", None)
    if found is not None:
        return found  # type: ignore[no-any-return]
    limits = getattr(wsgi, "extensions", {}).get("crm.body_limits")
    if limits is None:  # an app not built by create_app (a benchmark floor, a test app): the JSON default
        return lambda _method, _path: DEFAULT_MAX_JSON_BODY_BYTES
    return limits.for_request  # type: ignore[no-any-return]


def largest_cap_of(wsgi: Any) -> int:
    found = getattr(wsgi, "crm_largest_body", None)
    if found is not None:
        return int(found)
    limits = getattr(wsgi, "extensions", {}).get("crm.body_limits")
    return DEFAULT_MAX_JSON_BODY_BYTES if limits is None else int(limits.largest())
