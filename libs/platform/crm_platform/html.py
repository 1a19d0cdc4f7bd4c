"""The one HTML allowlist of the platform: what a comment or a mail's HTML may keep (nh3/ammonia).

Formatting and links only: no script, style, images, forms or event handlers; links get
``rel="noopener noreferrer"`` and only http, https and mailto targets. Tickets sanitise a comment's HTML with it
before storing it, and the mailer again before sending it (what another requester sent is never trusted)."""

from __future__ import annotations

import nh3

ALLOWED_TAGS = frozenset({"a", "b", "blockquote", "br", "code", "em", "i", "li", "ol", "p", "pre", "strong", "u", "ul"})
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def sanitize(markup: str) -> str:
    """``markup`` down to the allowlist."""
    return nh3.clean(markup, tags=set(ALLOWED_TAGS), url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer")


def text_of(markup: str) -> str:
    """The text a reader sees in ``markup``: every tag dropped, block ends as line breaks, entities decoded."""
    import html
    import re

    spaced = re.sub(r"(?i)<\s*(br|/p|/li|/blockquote|/pre)\b[^>]*>", "\n", markup)
    bare = nh3.clean(spaced, tags=set())
    lines = [" ".join(line.split()) for line in html.unescape(bare).splitlines()]
    return "\n".join(line for line in lines if line).strip()
