"""Helpers around flask-openapi3, the library that generates each service's OpenAPI document from the code."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable
from typing import Any

from flask_openapi3 import APIBlueprint, OpenAPI
from pydantic import BaseModel


def register_apis(app: OpenAPI, blueprints: Iterable[APIBlueprint]) -> None:
    """Register blueprints, merging the document's entries when two of them serve different methods of one
    path (flask-openapi3 keeps only the last blueprint's entry, so ``GET /v1/contacts`` would vanish)."""
    for blueprint in blueprints:
        before = dict(app.paths)
        app.register_api(blueprint)
        for path, item in before.items():
            added = app.paths.get(path)
            if added is not None and added is not item:
                app.paths[path] = item.model_copy(update={k: v for k, v in added if v is not None})


@functools.cache
def _schema_of(model: type[BaseModel], *args: Any, **kwargs: Any) -> dict[str, Any]:
    return BaseModel.model_json_schema.__func__(model, *args, **kwargs)  # type: ignore[attr-defined]


class QueryModel(BaseModel):
    """Base of query-string models: flask-openapi3 asks for the JSON schema on every request (~0.5 ms a
    field); it never changes, so it is built once per model.

    Asked without arguments (what the request validation does: it only reads the properties) the cached
    schema itself is returned, since copying it cost about 1 ms a request; with arguments (the document's
    generation, which may change what it gets) a copy."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if not args and not kwargs:
            return _schema_of(cls)
        return copy.deepcopy(_schema_of(cls, *args, **kwargs))


# The document as served --------------------------------------------------------------------------
PROBLEM_JSON = "application/problem+json"
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error (RFC 9457); validation errors list each field in `errors`.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "urn:crm:problem:<code>, stable"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message", "code"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "string"}},
            },
        },
    },
}
# What every operation may answer besides its own success, and what writes and PATCH add.
PROBLEMS_OF_EVERY_OPERATION = {
    400: "The request could not be read (e.g. a malformed multipart body)",
    401: "No valid bearer token, or the token names a workspace that does not exist",
    403: "The caller's role may not do this",
    404: "Not found in the caller's workspace",
    413: "The request is larger than allowed",
    422: "Invalid fields: a problem listing each in `errors`",
    429: "Too many requests: retry after the `Retry-After` header",
    503: "A service this request needs is unavailable",
}
PROBLEMS_OF_WRITES = {409: "Conflicts with the current state (e.g. a duplicate)"}
PROBLEMS_OF_PATCH = {412: "The resource changed since you read it (`If-Match`)"}
WRITES = ("post", "put", "patch", "delete")


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _with_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Every error an operation can answer, documented as the problem+json it really is."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("ValidationErrorModel", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            problems = dict(PROBLEMS_OF_EVERY_OPERATION)
            if method in WRITES:
                problems |= PROBLEMS_OF_WRITES
            if method == "patch":
                problems |= PROBLEMS_OF_PATCH
            responses = operation.setdefault("responses", {})
            for status, description in problems.items():
                responses[str(status)] = _problem_response(description)
    return document


def served_document(app: OpenAPI) -> dict[str, Any]:
    """The service's OpenAPI document with its errors documented as served; built once per app."""
    cached = app.extensions.get("crm.openapi")
    if cached is None:
        cached = app.extensions["crm.openapi"] = _with_problems(copy.deepcopy(app.api_doc))
    return cached


def namespaced(document: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The document with every schema renamed ``<namespace>.<name>``, so that two services' ``CommentIn``
    stay two schemas once merged; every ``$ref`` follows."""
    old_prefix, new_prefix = '"#/components/schemas/', f'"#/components/schemas/{namespace}.'
    text = json.dumps(document).replace(old_prefix, new_prefix)
    renamed = json.loads(text)
    schemas = renamed.get("components", {}).get("schemas", {})
    renamed.setdefault("components", {})["schemas"] = {f"{namespace}.{name}": s for name, s in schemas.items()}
    return renamed


def merged(documents: dict[str, dict[str, Any]], *, title: str = "CRM platform API") -> dict[str, Any]:
    """One document for the whole platform from each service's (by service name), schemas namespaced."""
    result: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "0.1.0"},
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
    }
    for name, document in sorted(documents.items()):
        renamed = namespaced(document, name)
        result["paths"].update(renamed.get("paths", {}))
        for section in ("schemas", "securitySchemes"):
            result["components"][section].update(renamed.get("components", {}).get(section, {}))
    return result
