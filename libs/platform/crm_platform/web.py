"""The Flask app factory every service's HTTP API is built with.

It gives each service: bearer-JWT auth scoped to the caller's workspace, problem+json errors (RFC 9457)
with field details, request ids, ``/healthz``, ``/readyz``, ``/metrics``, ``Idempotency-Key`` on POST,
and an OpenAPI 3.1 document generated from the code at ``/v1/<service>/openapi.json``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from flask import Response, current_app, g, request
from flask_openapi3 import Info, OpenAPI
from pydantic import ValidationError
from pydantic_core._pydantic_core import list_all_errors
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from crm_platform import context, inputs, limits, metrics, openapi, ratelimit, workspaces
from crm_platform.auth import TokenVerifier
from crm_platform.errors import DomainError, FieldError, InvalidInput, Unauthenticated, fill
from crm_platform.i18n import DEFAULT_LOCALE, PLATFORM_LOCALE_DIR, Translator, negotiate
from crm_platform.service import Runtime

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")  # their fields are not JSON
BEARER: dict[str, Any] = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]
F = TypeVar("F", bound=Callable[..., Any])


def problem(
    status: int,
    title: str,
    *,
    code: str,
    detail: str | None = None,
    params: Mapping[str, Any] | None = None,
    errors: Sequence[FieldError | dict[str, Any]] = (),
    **extra: Any,
) -> Response:
    """A problem+json answer; ``title``, ``detail`` (a template filled with ``params``) and the field errors'
    messages are English msgids, rendered in the caller's language (see ``problem_language``)."""
    translate = Translator(problem_language(), _locale_dirs())
    body: dict[str, Any] = {"type": f"urn:crm:problem:{code}", "title": translate(title), "status": status}
    if detail:
        body["detail"] = translate(detail, params)
    if request:
        body["instance"] = request.path
    if errors:
        body["errors"] = [
            {"field": e.field, "message": translate(e.template, e.params), "code": e.code}
            if isinstance(e, FieldError)
            else e  # already a dict: shown as given
            for e in errors
        ]
    body.update({k: v for k, v in extra.items() if v is not None})
    if rid := context.current_request_id():
        body["request_id"] = rid
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    response.headers["Content-Language"] = translate.locale
    response.vary.add("Accept-Language")
    return response


def problem_language() -> str:
    """``Accept-Language`` when it names a language we have, else the caller's workspace's first such
    language (services that know it declare ``ServiceSpec.workspace_languages``), else English."""
    if not request:
        return DEFAULT_LOCALE
    chosen = negotiate(language for language, _quality in request.accept_languages)
    if chosen is None and (who := context.current_caller()) is not None:
        rt: Runtime | None = current_app.extensions.get("crm.runtime")
        if rt is not None and rt.spec.workspace_languages is not None:
            try:
                chosen = negotiate(rt.spec.workspace_languages(rt, who.workspace_id))
            except Exception:  # a problem is still answered, in English, when the lookup fails
                log.warning("workspace languages unavailable for %s", who.workspace_id, exc_info=True)
    return chosen or DEFAULT_LOCALE


def translator() -> Translator:
    """The caller's language (as ``problem_language`` chooses it) with this service's catalogs and the platform's:
    for the words a response shows besides its problems (a report's labels, the chat widget's buttons)."""
    return Translator(problem_language(), _locale_dirs())


def _locale_dirs() -> tuple[Path, ...]:
    rt: Runtime | None = current_app.extensions.get("crm.runtime") if current_app else None
    return (rt.spec.locale_dir, PLATFORM_LOCALE_DIR) if rt is not None else (PLATFORM_LOCALE_DIR,)


def problem_from_error(error: DomainError) -> Response:
    return problem(
        error.http_status,
        error.title,
        code=error.code,
        detail=error.template,
        params=error.params,
        errors=error.errors,
        **error.extra,
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


@functools.cache
def _pydantic_templates() -> dict[str, str]:
    """Pydantic's English message template of each error type, e.g. ``string_too_long``."""
    return {info["type"]: info["message_template_python"] for info in list_all_errors()}


def _validation_field_error(error: Any) -> FieldError:
    """A pydantic error as a field error whose message is pydantic's template, so that it can be translated."""
    field = _field_path(tuple(error["loc"]))
    template = _pydantic_templates().get(error["type"])
    params = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, str | int | float)}
    if "{expected_plural}" in (template or ""):  # pydantic computes it from the limit rather than passing it
        limit = params.get("max_length", params.get("min_length"))
        params["expected_plural"] = "" if limit == 1 else "s"
    if template is not None and fill(template, params) == error["msg"]:
        return FieldError(field, template, error["type"], params=params)
    return FieldError(field, error["msg"], error["type"])


def problem_from_validation(exc: ValidationError) -> Response:
    errors = [_validation_field_error(e) for e in exc.errors()]
    if (
        request.method in ("POST", "PUT", "PATCH")
        and request.mimetype not in FORM_TYPES
        and request.get_json(silent=True) is None
        and request.content_length
    ):
        errors = [FieldError(field="body", message="the body is not valid JSON", code="json_invalid")]
    return problem_from_error(InvalidInput("the request has invalid fields", errors=errors))


def runtime() -> Runtime:
    return current_app.extensions["crm.runtime"]


def caller() -> context.Caller:
    """The caller of this request (``context.require_caller``, named for views)."""
    return context.require_caller()


def create_app(rt: Runtime, *, version: str = "0.1.0") -> OpenAPI:
    """Build the HTTP app of one service around a runtime."""
    name = rt.spec.name
    app = OpenAPI(
        f"crm_{name}",
        info=Info(title=f"CRM {name} API", version=version),
        security_schemes=BEARER,
        doc_ui=False,
        validation_error_status=422,
        validation_error_callback=problem_from_validation,
    )
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["crm.runtime"] = rt
    verifier = TokenVerifier(rt.settings)
    service_metrics = rt.metrics
    public_paths = {"/healthz", "/readyz", "/metrics", f"/v1/{name}/openapi.json"}

    @app.before_request
    def _begin() -> Response | None:
        g.started = time.perf_counter()
        g.context = context.bound(request_id=request.headers.get("X-Request-ID") or context.new_request_id())
        g.context.__enter__()
        if request.path in public_paths:
            return None
        if request.url_rule is not None and request.url_rule.rule in rt.spec.public_http:
            g.public_route = True  # declared on the ServiceSpec: the view checks its own signed token
            return None
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return problem_from_error(Unauthenticated("send Authorization: Bearer <token>"))
        try:
            found = verifier.verify(header[7:].strip())
        except Unauthenticated as error:
            return problem_from_error(error)
        g.caller_token = context.caller_var.set(found)
        return None

    @app.after_request
    def _finish(response: Response) -> Response:
        if rid := context.current_request_id():
            response.headers["X-Request-ID"] = rid
        route = request.url_rule.rule if request.url_rule else "unmatched"
        service_metrics.http_requests.labels(request.method, route, str(response.status_code)).inc()
        if started := g.get("started"):
            service_metrics.http_latency.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.teardown_request
    def _teardown(_exc: BaseException | None) -> None:
        if token := g.pop("caller_token", None):
            context.caller_var.reset(token)
        if ctx := g.pop("context", None):
            ctx.__exit__(None, None, None)

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        return problem_from_error(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = (error.name or "error").lower().replace(" ", "-")
        return problem(error.code or 500, error.name, code=code, detail=error.description)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "Internal error", code="internal", detail="the error was logged with this request id")

    def healthz() -> Response:
        return Response('{"status":"ok"}', mimetype="application/json")

    def readyz() -> Response:
        try:
            rt.database.ping()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return problem(503, "Not ready", code="not-ready", detail=f"database: {exc.__class__.__name__}")
        return Response('{"status":"ready"}', mimetype="application/json")

    def metrics_view() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)

    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
    app.add_url_rule("/metrics", "metrics", metrics_view)
    app.add_url_rule(f"/v1/{name}/openapi.json", "openapi_json", lambda: openapi.served_document(app))
    rt.spec.register_http(app, rt)
    # The checks run in this order, after authentication: the body's size (before anything reads it; after
    # every view is registered, since each may declare its own cap), the rate, what the body and parameters
    # hold, and last whether the token's workspace exists (which may ask contacts).
    limits.install(app, rt.settings)
    ratelimit.install(app, rt.settings, _too_many_requests)
    inputs.install(app)
    workspaces.install(app, workspace_lookup(rt))
    return app


def workspace_lookup(rt: Runtime) -> workspaces.Lookup:
    if rt.spec.workspace_lookup is not None:
        return rt.spec.workspace_lookup(rt)
    from crm_platform.clients.contacts import GrpcWorkspaceLookup

    return GrpcWorkspaceLookup(rt.grpc)


def _too_many_requests(decision: ratelimit.Decision) -> Response:
    return problem(
        429,
        "Too many requests",
        code="rate-limited",
        detail="more than {limit} requests a minute for this {scope}; retry later",
        params={"limit": decision.limit, "scope": decision.scope},
        scope=decision.scope,
    )


def idempotent(view: F) -> F:
    """Honour ``Idempotency-Key`` on a POST: the same key and body replay the first answer."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        if len(key) > 200:
            raise InvalidInput(
                "Idempotency-Key is too long", errors=[FieldError("Idempotency-Key", "at most 200 characters")]
            )
        who = caller()
        digest = hashlib.sha256(request.method.encode() + request.path.encode() + request.get_data()).hexdigest()
        database = runtime().database
        table = database.idempotency_keys
        with database.engine.connect() as connection:
            stored = connection.execute(
                select(table).where(table.c.workspace_id == who.workspace_id, table.c.key == key)
            ).first()
        if stored is not None:
            if stored.request_hash != digest:
                raise InvalidInput(
                    "this Idempotency-Key was used for a different request",
                    errors=[FieldError("Idempotency-Key", "reused with a different method, path or body", "reused")],
                )
            replay = Response(stored.body, status=stored.status, mimetype="application/json")
            if stored.location:
                replay.headers["Location"] = stored.location
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        response = current_app.make_response(view(*args, **kwargs))
        if 200 <= response.status_code < 300:
            try:
                with database.engine.begin() as connection:
                    connection.execute(
                        insert(table).values(
                            workspace_id=who.workspace_id,
                            key=key,
                            request_hash=digest,
                            status=response.status_code,
                            body=response.get_data(as_text=True),
                            location=response.headers.get("Location"),
                        )
                    )
            except IntegrityError:
                log.info("Idempotency-Key %s stored concurrently", key)
        return response

    return wrapper  # type: ignore[return-value]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body, default=str), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
