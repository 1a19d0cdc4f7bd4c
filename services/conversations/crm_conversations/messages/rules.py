"""What a message holds: sanitized rich text, its plain-text rendering, the signature. Plain functions."""

from __future__ import annotations

import html
import re

import nh3

from crm_platform.errors import FieldError, InvalidInput

INBOUND, OUTBOUND, NOTE = "inbound", "outbound", "note"
DIRECTIONS = (INBOUND, OUTBOUND, NOTE)
MEMBER, CONTACT, VISITOR = "member", "contact", "visitor"
AUTHOR_TYPES = (MEMBER, CONTACT, VISITOR)


def is_automatic(author_type: str) -> bool:
    """Whether the system wrote the message on its own (a greeting, an auto-reply), not a person. Nothing
    writes such messages yet: members, contacts and visitors are people, so this is False for all of them."""
    return author_type not in AUTHOR_TYPES


# Delivery of an email message a member sent, as the mailer reports it.
PENDING, QUEUED, SENT, SUPPRESSED, SKIPPED, BOUNCED, FAILED = (
    "pending",
    "queued",
    "sent",
    "suppressed",
    "skipped",
    "bounced",
    "failed",
)
# A later report never goes back to an earlier state: a late "queued" answer does not undo "sent".
_DELIVERY_RANK = {PENDING: 0, QUEUED: 1, SKIPPED: 2, SENT: 2, SUPPRESSED: 3, FAILED: 3, BOUNCED: 4}

# What the composer offers: bold, italic, links, paragraphs and lists; emoji are text.
ALLOWED_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "s", "a", "ul", "ol", "li", "blockquote", "code", "pre"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}

_BLOCK_END = re.compile(r"</(p|li|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def sanitize(raw: str) -> str:
    """Rich text as it may be stored and shown: only the composer's tags, links with safe schemes only (and
    rel=noopener noreferrer), scripts and their content gone."""
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        clean_content_tags={"script", "style"},
    ).strip()


def to_text(body_html: str) -> str:
    """The plain-text rendering of sanitized HTML: blocks and line breaks become new lines, links keep their
    target after the text (``docs (https://...)``), entities are decoded."""
    with_links = re.sub(
        r'<a\s[^>]*href="([^"]*)"[^>]*>(.*?)</a>',
        lambda m: (
            m.group(2) if _TAG.sub("", m.group(2)) == html.unescape(m.group(1)) else f"{m.group(2)} ({m.group(1)})"
        ),
        body_html,
        flags=re.IGNORECASE | re.DOTALL,
    )
    text = _BLOCK_END.sub("\n", with_links)
    text = html.unescape(_TAG.sub("", text))
    lines = [line.rstrip() for line in text.splitlines()]
    return "\n".join(lines).strip()


def from_text(text: str) -> str:
    """HTML for plain text (inbound mail's reply, a signature): escaped, line breaks kept."""
    return "<br>".join(html.escape(line) for line in text.strip().splitlines())


def compose(raw: str) -> tuple[str, str]:
    """(sanitized HTML, plain text) of what a member wrote; nothing left to say after sanitizing is refused."""
    body = sanitize(raw)
    text = to_text(body)
    if not text.strip():
        raise InvalidInput(
            "the message has invalid fields", errors=[FieldError("body", "must not be empty", "required")]
        )
    return body, text


def check_message_body(body: str) -> None:
    """A message says something: a body of only spaces is refused."""
    compose(body)


def with_signature_html(body_html: str, signature: str | None) -> str:
    """The email's HTML: the body, then the signature set apart as mail clients show one."""
    if not signature:
        return body_html
    return f'{body_html}<br><div class="signature">-- <br>{from_text(signature)}</div>'


def with_signature_text(text: str, signature: str | None) -> str:
    """The email's text: the body, then the conventional ``-- `` line and the signature."""
    return f"{text}\n\n-- \n{signature.strip()}" if signature else text


def delivery_moves(current: str | None, reported: str) -> bool:
    """Whether a report of ``reported`` changes a message now at ``current``: only forward."""
    if current is None:
        return False  # a note or an inbound message has no delivery
    return _DELIVERY_RANK.get(reported, 0) > _DELIVERY_RANK.get(current, 0)
