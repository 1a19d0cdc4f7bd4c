"""Helpers around flask-openapi3, the library that generates each service's OpenAPI document from the code."""

from __future__ import annotations

import copy
import functools
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
    field); it never changes, so it is built once per model."""

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return copy.deepcopy(_schema_of(cls, *args, **kwargs))
