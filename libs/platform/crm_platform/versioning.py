"""Optimistic concurrency for every service: a row's ``version`` is its ETag, ``If-Match`` refuses a stale write."""

from __future__ import annotations

from crm_platform.errors import PreconditionFailed, Word, phrase


def etag(version: int) -> str:
    """The ``ETag`` header of a row at ``version`` (a strong tag: ``"7"``)."""
    return f'"{version}"'


def matches(version: int, if_match: str | None) -> bool:
    """Whether an ``If-Match`` header (None: not sent) lets a write on a row at ``version`` go ahead: any of its
    tags (weak or strong, quoted or not) names the version, or it is ``*``."""
    if if_match is None:
        return True
    wanted = {tag.strip().removeprefix("W/").strip('"') for tag in if_match.split(",")}
    return "*" in wanted or str(version) in wanted


def check_version(version: int, if_match: str | None, *, what: str) -> None:
    """Raise PreconditionFailed (412, with ``current_version``) when ``if_match`` names another version than the
    ``what`` (contact, ticket, ...) is at."""
    if not matches(version, if_match):
        raise PreconditionFailed(
            phrase(
                "the {what} is at version {version}, not {if_match}; read it again and retry",
                what=Word(what),
                version=version,
                if_match=(if_match or "")[:100],
            ),
            extra={"current_version": version},
        )
