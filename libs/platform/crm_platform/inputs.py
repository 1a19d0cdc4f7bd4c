"""The one place that refuses input no service can store or parse safely, before any view runs.

Every service's app checks here: JSON bodies nested too deep or with too many members (parsed without
recursion blowing up), NUL bytes (PostgreSQL text cannot hold them) and over-long strings in bodies,
query parameters and path parameters. Each refusal is a 422 problem naming the field, never a 500.
How large a body may be is decided earlier, before it is read (413).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_openapi3 import FileStorage
from werkzeug.datastructures import FileStorage as WerkzeugFileStorage

from crm_platform.errors import FieldError, InvalidInput

MAX_JSON_DEPTH = 32  # objects and arrays inside each other
MAX_JSON_MEMBERS = 20_000  # keys and array items in one body, all levels together (a bulk sends 10,000 ids)
MAX_BODY_STRING_CHARS = 100_000  # one string value in a JSON body (a note, a comment, a mail body)
MAX_KEY_CHARS = 200  # one object key in a JSON body
MAX_PARAMETER_CHARS = 2_000  # one query or path parameter value (a name filter, an id)
MAX_HEADER_CHARS = 200
CHECKED_HEADERS = ("Idempotency-Key", "If-Match")  # the request headers a service stores or compares

# What the depth scan looks at: whole strings (skipped, brackets inside do not count) and brackets.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _refuse(field: str, message: str, code: str) -> InvalidInput:
    return InvalidInput("the request has invalid fields", errors=[FieldError(field, message, code)])


def check_depth(text: str) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH, counted without parsing (the parser would recurse)."""
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise _refuse("body", f"nested deeper than {MAX_JSON_DEPTH} levels", "too_deep")
        elif token in "]}":
            depth -= 1


def _shown(key: str) -> str:
    """A key as a problem names it: cut short, a NUL character written out."""
    return key[:40].replace("\x00", "\\0")


def check_text(field: str, value: str, max_chars: int) -> None:
    if "\x00" in value:
        raise _refuse(field, "contains a NUL character", "nul_character")
    if len(value) > max_chars:
        raise _refuse(field, f"at most {max_chars} characters", "too_long")


def check_document(document: Any) -> None:
    """Walk a parsed body without recursion: member count, keys and string values."""
    members = 0
    pending: list[tuple[str, Any]] = [("body", document)]
    while pending:
        field, value = pending.pop()
        if isinstance(value, str):
            check_text(field, value, MAX_BODY_STRING_CHARS)
        elif isinstance(value, dict):
            members += len(value)
            for key, item in value.items():
                name = f"{field}.{_shown(key)}" if field != "body" else _shown(key)
                check_text(name, key, MAX_KEY_CHARS)
                pending.append((name, item))
        elif isinstance(value, list):
            members += len(value)
            pending.extend((f"{field}.{index}", item) for index, item in enumerate(value))
        if members > MAX_JSON_MEMBERS:
            raise _refuse("body", f"at most {MAX_JSON_MEMBERS} keys and items", "too_many_members")


def parse_json(data: str | bytes) -> Any:
    """``json.loads`` with the limits above; a malformed body is still a ValueError for Flask to answer."""
    text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    check_depth(text)
    document = json.loads(text)
    check_document(document)
    return document


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with a bounded ``loads``: every ``request.get_json`` goes through it."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json(s)


def check_request() -> None:
    """Refuse bad query and path parameters and headers, and parse a JSON body now so its limits apply
    everywhere."""
    for key, values in request.args.lists():
        check_text(f"query.{_shown(key)}", key, MAX_KEY_CHARS)
        for value in values:
            check_text(f"query.{_shown(key)}", value, MAX_PARAMETER_CHARS)
    for header in CHECKED_HEADERS:
        if (sent := request.headers.get(header)) is not None:
            check_text(header, sent, MAX_HEADER_CHARS)
    for key, argument in (request.view_args or {}).items():
        if isinstance(argument, str):
            check_text(f"path.{key}", argument, MAX_PARAMETER_CHARS)
    if request.is_json and request.method in ("POST", "PUT", "PATCH", "DELETE"):
        try:
            request.get_json(silent=False)
        except InvalidInput:
            raise
        except Exception:  # noqa: BLE001 - a malformed body is answered by the view's own validation
            return


def install(app: Flask) -> None:
    app.json = BoundedJSONProvider(app)
    app.before_request(check_request)
    app.register_error_handler(RecursionError, _too_deep)


def _too_deep(_error: RecursionError) -> Any:
    """The safety net for JSON a view parses itself (a cursor, a mapping): nested too deep is bad input."""
    from crm_platform.web import problem_from_error

    return problem_from_error(_refuse("body", "nested too deep to read", "too_deep"))


class UploadedFile(FileStorage):
    """A multipart file field: a plain form field sent in its place is a 422 on that field, not a crash."""

    @classmethod
    def validate(cls, value: Any, *_args: Any, **_kwargs: Any) -> Any:
        if not isinstance(value, WerkzeugFileStorage):
            raise ValueError("must be a file (multipart/form-data with a filename), not a plain field")
        return value
