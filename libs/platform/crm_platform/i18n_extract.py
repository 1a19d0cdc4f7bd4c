"""A Babel extraction method for problem messages: the English msgids the code hands to errors.

Babel's own Python extractor finds ``_("...")`` calls; our msgids are the literal first argument of an
error (``NotFound("...")``), the message of a ``FieldError``, a ``phrase``/``msgid``/``Word``, the ``what``
of ``get_in_workspace``, the action of ``require_admin``, the title and detail of ``problem(...)`` and the
``title`` of an error class.
``make messages`` runs it (see ``babel.cfg``); a test checks that every msgid it finds is translated.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import IO, Any

ERROR_CLASSES = {
    "DomainError",
    "InvalidInput",
    "NotFound",
    "Conflict",
    "PreconditionFailed",
    "Unauthenticated",
    "Forbidden",
    "Unavailable",
}
# call name -> (positional index, keyword) of the message argument(s)
MESSAGE_ARGUMENTS: dict[str, tuple[tuple[int, str], ...]] = {
    **{name: ((0, "detail"),) for name in ERROR_CLASSES},
    "FieldError": ((1, "message"),),
    "phrase": ((0, "template"),),
    "msgid": ((0, "message"),),
    "Word": ((0, ""),),
    "get_in_workspace": ((-1, "what"),),
    "require_admin": ((1, "action"),),
    "problem": ((1, "title"), (-1, "detail")),
}

Extracted = tuple[int, str | None, str, list[str]]


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def messages_in(source: str) -> Iterator[tuple[int, str]]:
    """(line, msgid) of every literal message of ``source``; f-strings are not msgids and are skipped."""
    tree = ast.parse(source)
    error_classes = set(ERROR_CLASSES)
    for node in ast.walk(tree):
        is_error = isinstance(node, ast.ClassDef) and (
            node.name in error_classes or any(_name(base) in error_classes for base in node.bases)
        )
        if isinstance(node, ast.ClassDef) and is_error:
            error_classes.add(node.name)
            for item in node.body:
                if isinstance(item, ast.Assign) and any(_name(t) == "title" for t in item.targets):
                    if (title := _literal(item.value)) is not None:
                        yield item.lineno, title
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or (name := _name(node.func)) is None:
            continue
        places = MESSAGE_ARGUMENTS.get(name) or (((0, "detail"),) if name in error_classes else ())
        for index, keyword in places:
            argument = node.args[index] if 0 <= index < len(node.args) else None
            argument = argument or next((k.value for k in node.keywords if keyword and k.arg == keyword), None)
            if (found := _literal(argument)) is not None and found.strip():
                yield node.lineno, found


def extract_problems(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[Extracted]:
    """Babel extraction method (``crm_platform.i18n_extract:extract_problems`` in ``babel.cfg``)."""
    for line, message in messages_in(fileobj.read().decode(options.get("encoding", "utf-8"))):
        yield line, None, message, []
