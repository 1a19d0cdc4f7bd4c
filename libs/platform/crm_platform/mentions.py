"""How any text of the platform mentions a member: ``@[Name](member-id)``.

The name in square brackets is what readers see, the member id in parentheses is who is notified. Anything
else that starts with ``@`` is plain text. Contacts' timeline comments and tickets' comments both use it."""

from __future__ import annotations

import re
from dataclasses import dataclass

MENTION_SYNTAX = "@[Name](member-id)"
# The id part takes any run of non-space characters, so a mistyped id is reported, not silently ignored.
_MENTION = re.compile(r"@\[(?P<name>[^\[\]\r\n]{1,200})\]\((?P<member_id>[^()\s]{1,100})\)")


@dataclass(frozen=True)
class Mention:
    member_id: str
    name: str


def parse_mentions(body: str) -> list[Mention]:
    """Every mention written ``@[Name](member-id)`` in ``body``, in order, repeats included."""
    return [Mention(m["member_id"], m["name"].strip()) for m in _MENTION.finditer(body)]


def mentioned_ids(body: str) -> list[str]:
    """The distinct member ids mentioned in ``body``, in order of first mention."""
    return list(dict.fromkeys(mention.member_id for mention in parse_mentions(body)))


def plain_text(body: str) -> str:
    """The body as a reader sees it: each mention shown as ``@Name``."""
    return _MENTION.sub(lambda m: "@" + m["name"].strip(), body)
