"""Authentication-Results header values (RFC 8601) as data: which methods passed, according to whom."""

from __future__ import annotations

import re

from crm_mailer.inbound.message import AuthResult

_COMMENT = re.compile(r"\([^()]*\)")
_PROPERTY = re.compile(r"([A-Za-z0-9_.-]+)\s*=\s*(\"[^\"]*\"|\S+)")


def parse(value: str) -> tuple[AuthResult, ...]:
    """``mx.example.com; dkim=pass header.d=example.com; spf=fail ...`` -> one result per method.

    Comments are dropped (nested ones as far as two levels); a method without a result is left out."""
    text = _COMMENT.sub(" ", _COMMENT.sub(" ", value))
    pieces = [piece.strip() for piece in text.split(";")]
    if not pieces or not pieces[0]:
        return ()
    authserv_id = pieces[0].split()[0] if pieces[0].split() else ""
    results: list[AuthResult] = []
    for piece in pieces[1:]:
        pairs = _PROPERTY.findall(piece)
        if not pairs:
            continue
        (method, result), properties = pairs[0], pairs[1:]
        results.append(
            AuthResult(
                method=method.lower().split("/")[0],
                result=result.strip('"').lower(),
                authserv_id=authserv_id,
                properties=tuple((name.lower(), found.strip('"')) for name, found in properties),
            )
        )
    return tuple(results)
