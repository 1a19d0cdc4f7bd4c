"""The new text of a reply, apart from the quoted history and the signature (the full original stays in the
message's ``raw``, ``text`` and ``html``).

mail-parser-reply does the splitting (English and Spanish attribution lines, Outlook's From:/Sent: and
De:/Enviado: blocks, signatures, "Sent from my iPhone"). Its Spanish "El ... escribió:" pattern (1.36) only
matches quoted lines, so Gmail's, Apple Mail's and Thunderbird's Spanish attribution lines are cut here first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

from crm_mailer.inbound.message import InboundMessage

MAX_REPLY_INPUT = 64 * 1024  # the new text is at the top; the parser's regexes need not see a long history
LANGUAGES = ("es", "en")
MAX_SIGN_OFF = 30  # "Kind regards, Peter Walsh" is a sign-off; a longer first line is a sentence

# "El lun, 3 jun 2024 a las 10:15, Ana (<ana@x>) escribió:", possibly wrapped onto a second line.
_SPANISH_ATTRIBUTION = re.compile(r"^[> ]*El\s[^\n]*\d[^\n]*(?:\n[^\n]*)?\sescribi[oó]\s?:[ \t]*$", re.MULTILINE)
_OUTLOOK_RULE = re.compile(r"^_{20,}\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Reply:
    text: str  # what the person wrote this time, without quotes or signature
    source: str  # "text" or "html": which body it came from
    cut: bool  # whether anything (history, signature) was cut


class _HtmlText(HTMLParser):
    """HTML -> text good enough for splitting: block elements break lines, blockquotes are quoted with '>'."""

    _BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.quote = 0
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head", "title"):
            self.skip += 1
        elif tag == "blockquote":
            self.quote += 1
            self._break()
        elif tag in self._BLOCKS:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
            self._break()
        elif tag in self._BLOCKS:
            self._break()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.lines[-1] and self.quote:
            self.lines[-1] = "> " * self.quote
        self.lines[-1] += " ".join(data.split()) if data.strip() else (" " if self.lines[-1] else "")

    def _break(self) -> None:
        self.lines.append("")


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html[: MAX_REPLY_INPUT * 4])
        parser.close()
    except Exception:  # noqa: BLE001 - broken HTML gives what was read before it broke
        pass
    text = "\n".join(line.rstrip() for line in parser.lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@lru_cache(maxsize=1)
def _parser():  # type: ignore[no-untyped-def]
    from mailparser_reply import EmailReplyParser

    return EmailReplyParser(languages=list(LANGUAGES))


def extract_reply(message: InboundMessage) -> Reply:
    """The new text of a person's message; the whole body when nothing looks quoted."""
    if message.text and message.text.strip():
        body, source = message.text, "text"
    elif message.html:
        body, source = html_to_text(message.html), "html"
    else:
        return Reply(text="", source="text", cut=False)
    return Reply(text=(new := new_text(body)), source=source, cut=new != body.strip())


def _without_signature(reply) -> str:  # type: ignore[no-untyped-def]
    """The library's body, unless its signature starts on a sentence rather than a sign-off: it takes any line
    beginning "Thanks," for one, so "Thanks, the new cartridge fixed it." would be lost."""
    signature = (reply.signatures or "").strip()
    first = signature.splitlines()[0] if signature else ""
    if len(first) <= MAX_SIGN_OFF:
        return str(reply.body)
    return str(reply.content.replace(reply.headers or "", "", 1))


def new_text(body: str) -> str:
    text = body.replace("\r\n", "\n")[:MAX_REPLY_INPUT]
    attribution = _SPANISH_ATTRIBUTION.search(text)
    if attribution is not None:
        text = text[: attribution.start()]
    try:
        parsed = _parser().read(text)
        top = _without_signature(parsed.replies[0]) if parsed.replies else text
    except Exception:  # noqa: BLE001 - a parser failure keeps the text whole rather than losing it
        top = text
    if not top.strip() and text.strip():  # everything looked quoted (a reply written inside the quote)
        top = text
    return top.strip()
