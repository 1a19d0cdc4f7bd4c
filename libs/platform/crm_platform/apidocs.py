"""The front doors' shared pages: the browsable API reference at ``/docs`` (Swagger UI, its assets from
the swagger-ui-bundle package, never a CDN) and problem+json for paths no service serves."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
DOCUMENT_URL = "/v1/openapi.json"
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png")

INDEX = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"><title>CRM platform API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"><link rel="icon" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "%s", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout"});
</script>
</body>
</html>
"""


def problem_body(status: int, title: str, path: str, *, detail: str | None = None) -> bytes:
    code = title.lower().replace(" ", "-")
    body: dict[str, Any] = {"type": f"urn:crm:problem:{code}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = path
    return json.dumps(body).encode()


def docs_page(path: str) -> tuple[int, str, bytes] | None:
    """``(status, content type, body)`` for a path under ``/docs``; None for any other path."""
    if path in ("/docs", "/docs/"):
        return 200, "text/html; charset=utf-8", (INDEX % DOCUMENT_URL).encode()
    if path.startswith("/docs/") and path[len("/docs/") :] in ASSETS:
        from swagger_ui_bundle import swagger_ui_path

        name = path[len("/docs/") :]
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return 200, content_type, (swagger_ui_path / name).read_bytes()
    return None


def serve_docs(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes] | None:
    """WSGI: answer a ``/docs`` path (for the gateway), or None to let the caller route it."""
    page = docs_page(environ.get("PATH_INFO", ""))
    if page is None:
        return None
    status, content_type, body = page
    start_response(f"{status} OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def install(app: Flask) -> None:
    """Serve ``/docs`` on a front door's Flask app and answer every HTTP error there as problem+json."""

    def docs(asset: str = "") -> Response:
        page = docs_page(request.path)
        if page is None:
            return Response(problem_body(404, "Not found", request.path), 404, mimetype=PROBLEM_JSON)
        status, content_type, body = page
        return Response(body, status, content_type=content_type)

    app.add_url_rule("/docs", "docs", docs)
    app.add_url_rule("/docs/<asset>", "docs_asset", docs)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        return Response(problem_body(status, error.name, request.path), status, mimetype=PROBLEM_JSON)
