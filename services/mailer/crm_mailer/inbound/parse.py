"""Raw bytes of a received message -> an InboundMessage, parsed as far as possible and never raising.

The standard library's parser (compat32 policy: it keeps headers as written and never raises on reading them)
finds the MIME structure; decoding is done here, leniently: 8-bit headers are read as UTF-8 or else
Windows-1252, unknown charsets as UTF-8 or else Windows-1252, ISO-8859-1 as its Windows-1252 superset (what
senders mean by it). Limits on size, nesting and parts turn a hostile message into a quarantine reason; whatever
was survivable is listed in ``defects``.
"""

from __future__ import annotations

import codecs
import email
import re
from datetime import UTC, datetime
from email import policy
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from crm_mailer.inbound import authresults
from crm_mailer.inbound.message import (
    Address,
    Attachment,
    Envelope,
    Fields,
    InboundMessage,
    ParseLimits,
    Report,
)

DEFAULT_LIMITS = ParseLimits()
# Every value ``quarantine`` and ``defects`` can take, so the pipeline's counters have a fixed set of labels.
QUARANTINE_REASONS = ("too_large", "too_deep", "too_many_parts", "too_many_headers", "no_headers", "parser_error")
MAX_ADDRESSES = 1000  # per header: more is a list nobody answers
MAX_REFERENCES = 100  # the newest ones are the ones that thread

_MESSAGE_ID = re.compile(r"<([^<>\s]{1,998})>")
_FOLD = re.compile(r"\r?\n[ \t]*")
# In a decoded header: no line break (a subject is reused in "Re: ..." headers) and no control character.
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]+")
_LATIN1 = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "iso_8859-1", "cp819", "iso-ir-100"}
_UNDECLARED = {"", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined"}
_DEFECTS = {
    "StartBoundaryNotFoundDefect": "missing_boundary",
    "NoBoundaryInMultipartDefect": "missing_boundary",
    "CloseBoundaryNotFoundDefect": "unclosed_boundary",
    "MultipartInvariantViolationDefect": "broken_multipart",
    "InvalidBase64PaddingDefect": "bad_base64",
    "InvalidBase64CharactersDefect": "bad_base64",
    "InvalidBase64LengthDefect": "bad_base64",
    "MissingHeaderBodySeparatorDefect": "missing_header_separator",
    "FirstHeaderLineIsContinuationDefect": "bad_header",
    "MisplacedEnvelopeHeaderDefect": "bad_header",
    "InvalidMultipartContentTransferEncodingDefect": "bad_transfer_encoding",
}
DEFECTS = (
    *dict.fromkeys(_DEFECTS.values()),
    "mime_defect",  # any other defect the stdlib reports
    "8bit_header",
    "header_truncated",
    "bad_encoded_word",
    "bad_address",
    "no_from",
    "bad_date",
    "unknown_charset",
    "bad_charset",
    "text_truncated",
    "control_character",
)


class _Defects:
    """Codes collected while parsing, each once, in the order met."""

    def __init__(self) -> None:
        self.codes: dict[str, None] = {}

    def add(self, code: str) -> None:
        self.codes.setdefault(code, None)

    def of(self, part: Message) -> None:
        for defect in getattr(part, "defects", ()):
            self.add(_DEFECTS.get(type(defect).__name__, "mime_defect"))


def decode_bytes(data: bytes, charset: str | None, defects: _Defects) -> str:
    """Bytes in a declared charset -> text, falling back rather than failing."""
    name = (charset or "").strip().strip("\"'").lower()
    if name in _UNDECLARED:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            if name not in ("", "unknown-8bit"):
                defects.add("bad_charset")
            return data.decode("cp1252", errors="replace")
    if name in _LATIN1:
        name = "cp1252"
    try:
        codecs.lookup(name)
    except LookupError:
        defects.add("unknown_charset")
        return decode_bytes(data, "", defects)
    try:
        return data.decode(name)
    except UnicodeDecodeError:
        defects.add("bad_charset")
        if name in ("utf-8", "utf8"):  # a charset lie, most often Windows-1252 sent as UTF-8
            return data.decode("cp1252", errors="replace")
        return data.decode(name, errors="replace")
    except Exception:  # noqa: BLE001 - some codecs raise other errors on bad input (e.g. utf-7, idna)
        defects.add("bad_charset")
        return data.decode("utf-8", errors="replace")


def decode_header_value(
    raw: str, defects: _Defects, limit: int = DEFAULT_LIMITS.max_header_chars, *, words: bool = True
) -> str:
    """A header as stored by the parser (8-bit bytes as surrogates, RFC 2047 words, folded) -> its text.

    ``words=False`` leaves encoded words alone: address lists are split first, their names decoded after."""
    if len(raw) > limit:
        raw = raw[:limit]
        defects.add("header_truncated")
    if not raw.isascii():
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:  # surrogate-escaped 8-bit bytes
            defects.add("8bit_header")
            raw = decode_bytes(raw.encode("utf-8", "surrogateescape"), "", defects)
    value = _FOLD.sub(" ", raw).strip()
    if words and "=?" in value:
        try:
            chunks = decode_header(value)
        except Exception:  # noqa: BLE001 - malformed encoded words stay as written
            defects.add("bad_encoded_word")
        else:
            value = "".join(
                chunk if isinstance(chunk, str) else decode_bytes(chunk, charset, defects) for chunk, charset in chunks
            ).strip()
    if _HEADER_CONTROL.search(value):
        defects.add("control_character")
        value = _HEADER_CONTROL.sub(" ", value).strip()
    return value


def _addresses(values: list[str], defects: _Defects) -> tuple[Address, ...]:
    found: list[Address] = []
    try:
        pairs = getaddresses(values)
    except Exception:  # noqa: BLE001 - an address list the stdlib cannot read is left out
        defects.add("bad_address")
        return ()
    for name, address in pairs[:MAX_ADDRESSES]:
        address = address.strip()
        if "@" not in address:
            if address or name:
                defects.add("bad_address")
            continue
        found.append(Address(email=address, name=decode_header_value(name, defects) if name else ""))
    return tuple(found)


def _basename(filename: str) -> str:
    """A sender's file name without any folder in it ("../../x.pdf", "C:\\x.pdf" -> "x.pdf")."""
    return re.split(r"[\\/]", filename)[-1].strip().lstrip(".") or "attachment"


def message_ids(value: str | None) -> tuple[str, ...]:
    """Every <id> in a Message-ID/In-Reply-To/References value; a bare id without brackets counts as one."""
    if not value:
        return ()
    found = tuple(f"<{item}>" for item in _MESSAGE_ID.findall(value))
    if found:
        return found
    bare = value.strip().split()
    return (f"<{bare[0]}>",) if len(bare) == 1 and "@" in bare[0] else ()


def _date(value: str | None, defects: _Defects) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.add("bad_date")
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _header_block(raw: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator, 0, 1024 * 1024)
        if end >= 0:
            return raw[: end + len(separator)]
    return raw[: 1024 * 1024]


def parse(raw: bytes, envelope: Envelope | None = None, limits: ParseLimits = DEFAULT_LIMITS) -> InboundMessage:
    """Parse one received message; malformed input yields defects or a quarantine reason, never an exception."""
    envelope = envelope or Envelope()
    defects = _Defects()
    quarantine: str | None = None
    source = raw
    if _header_block(raw).count(b"\n") > limits.max_header_lines:  # the stdlib would take seconds over them
        return InboundMessage(raw=raw, envelope=envelope, quarantine="too_many_headers")
    if len(raw) > limits.max_bytes:
        quarantine, source = "too_large", _header_block(raw)
    elif raw.count(b"\n--") > 2 * limits.max_parts:
        # Each part needs a delimiter line; counting them first spares the stdlib parsing 100,000 parts (seconds)
        # only for the walk to stop at the limit. A text with that many lines starting "--" is quarantined too.
        quarantine, source = "too_many_parts", _header_block(raw)
    try:
        root = email.message_from_bytes(source, policy=policy.compat32)
    except RecursionError:
        return InboundMessage(raw=raw, envelope=envelope, quarantine="too_deep")
    except Exception:  # noqa: BLE001 - what the stdlib cannot parse at all is quarantined, never raised
        return InboundMessage(raw=raw, envelope=envelope, quarantine="parser_error")
    try:
        return _build(raw, root, envelope, limits, defects, quarantine)
    except RecursionError:
        return InboundMessage(raw=raw, envelope=envelope, quarantine="too_deep")
    except Exception:  # noqa: BLE001 - same promise for anything past the structure
        return InboundMessage(raw=raw, envelope=envelope, quarantine="parser_error")


def _build(
    raw: bytes, root: Message, envelope: Envelope, limits: ParseLimits, defects: _Defects, quarantine: str | None
) -> InboundMessage:
    defects.of(root)
    headers: Fields = tuple(
        (name, decode_header_value(value, defects, limits.max_header_chars))
        for name, value in root.raw_items()
        if isinstance(value, str)
    )
    if not headers:
        quarantine = quarantine or "no_headers"

    def first(name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in headers if key.lower() == wanted), None)

    def raw_all(name: str) -> list[str]:
        wanted = name.lower()
        return [
            decode_header_value(value, defects, limits.max_header_chars, words=False)
            for key, value in root.raw_items()
            if key.lower() == wanted and isinstance(value, str)
        ]

    from_ = _addresses(raw_all("From"), defects)
    if not from_:
        defects.add("no_from")
    sender = _addresses(raw_all("Sender"), defects)
    body = _Body(limits, defects)
    if quarantine not in ("too_large", "too_many_parts"):  # only the headers were parsed for those
        quarantine = body.walk(root) or quarantine
    auth_values = tuple(value for key, value in headers if key.lower() == "authentication-results")
    return InboundMessage(
        raw=raw,
        headers=headers,
        envelope=envelope,
        subject=first("Subject") or "",
        from_=from_[0] if from_ else None,
        sender=sender[0] if sender else None,
        reply_to=_addresses(raw_all("Reply-To"), defects),
        to=_addresses(raw_all("To"), defects),
        cc=_addresses(raw_all("Cc"), defects),
        message_id=next(iter(message_ids(first("Message-ID"))), None),
        in_reply_to=message_ids(first("In-Reply-To")),
        references=message_ids(first("References"))[-MAX_REFERENCES:],
        date=_date(first("Date"), defects),
        content_type=root.get_content_type(),
        text=body.text,
        html=body.html,
        attachments=tuple(body.attachments),
        report=body.report(),
        authentication_results=auth_values,
        auth=tuple(result for value in auth_values for result in authresults.parse(value)),
        defects=tuple(defects.codes),
        quarantine=quarantine,
    )


class _Body:
    """Walks the MIME tree without recursion, under the limits, picking the bodies, attachments and report."""

    def __init__(self, limits: ParseLimits, defects: _Defects) -> None:
        self.limits, self.defects = limits, defects
        self.text: str | None = None
        self.html: str | None = None
        self.attachments: list[Attachment] = []
        self.report_type: str | None = None
        self.groups: list[Fields] = []
        self.human_text = ""
        self.original: Fields = ()

    def walk(self, root: Message) -> str | None:
        stack: list[tuple[Message, int, bool]] = [(root, 0, False)]
        parts = 0
        while stack:
            part, depth, in_report = stack.pop()
            parts += 1
            if parts > self.limits.max_parts:
                return "too_many_parts"
            if depth > self.limits.max_depth:
                return "too_deep"
            self.defects.of(part)
            ctype = part.get_content_type()
            payload = part.get_payload()
            if part.get_content_maintype() == "multipart":
                if isinstance(payload, list):
                    report = ctype == "multipart/report"
                    if report and self.report_type is None:
                        self.report_type = str(part.get_param("report-type") or "").lower() or "unknown"
                    stack.extend(
                        (child, depth + 1, in_report or report)
                        for child in reversed(payload)
                        if isinstance(child, Message)
                    )
                    continue
                self.defects.add("missing_boundary")  # the body is read as the text it probably is
                ctype = "text/plain"
            if not (in_report and self._report_part(part, ctype, payload)):
                self._leaf(part, ctype, payload)
            self.defects.of(part)  # again: decoding a body adds its own (bad base64, ...)
        return None

    def _report_part(self, part: Message, ctype: str, payload: object) -> bool:
        if ctype in ("message/delivery-status", "message/feedback-report", "message/disposition-notification"):
            if isinstance(payload, list):
                self.groups.extend(self._fields(group) for group in payload if isinstance(group, Message))
            return True
        if ctype == "message/rfc822" and isinstance(payload, list) and payload and not self.original:
            self.original = self._fields(payload[0])
            return True
        if ctype == "text/rfc822-headers" and not self.original:
            text = self._decoded(part, ctype)
            self.original = self._fields(email.message_from_string(text or "", policy=policy.compat32))
            return True
        if ctype == "text/plain" and not self.human_text:
            self.human_text = self._decoded(part, ctype) or ""
            if self.text is None:
                self.text = self.human_text
            return True
        return False

    def _fields(self, part: Message) -> Fields:
        return tuple(
            (name, decode_header_value(value, self.defects, self.limits.max_header_chars))
            for name, value in part.raw_items()
            if isinstance(value, str)
        )

    def _leaf(self, part: Message, ctype: str, payload: object) -> None:
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
        textual = ctype in ("text/plain", "text/html")
        if textual and disposition != "attachment" and not filename:
            if ctype == "text/plain" and self.text is None:
                self.text = self._decoded(part, ctype)
                return
            if ctype == "text/html" and self.html is None:
                self.html = self._decoded(part, ctype)
                return
        if isinstance(payload, list):  # message/rfc822 and the like: a forwarded message, kept as one file
            data = _forwarded_bytes(payload)
        else:
            data = self._payload_bytes(part)
        size = len(data)
        content_ids = message_ids(str(part.get("Content-ID") or ""))
        self.attachments.append(
            Attachment(
                filename=_basename(decode_header_value(str(filename), self.defects)) if filename else "",
                content_type=ctype,
                size=size,
                disposition="inline" if disposition == "inline" else "attachment",
                content_id=content_ids[0][1:-1] if content_ids else None,
                data=data,
            )
        )

    def _payload_bytes(self, part: Message) -> bytes:
        data = part.get_payload(decode=True)
        return data if isinstance(data, bytes) else b""

    def _decoded(self, part: Message, ctype: str) -> str | None:
        text = decode_bytes(self._payload_bytes(part), part.get_content_charset(), self.defects)
        if len(text) > self.limits.max_text_chars:
            self.defects.add("text_truncated")
            text = text[: self.limits.max_text_chars]
        if "\x00" in text:  # no database text column takes NUL (PostgreSQL refuses it)
            self.defects.add("control_character")
            text = text.replace("\x00", "\ufffd")
        return text.replace("\r\n", "\n")

    def report(self) -> Report | None:
        if self.report_type is None:
            return None
        return Report(
            report_type=self.report_type,
            groups=tuple(self.groups),
            human_text=self.human_text,
            original=self.original,
        )


def _forwarded_bytes(payload: list[object]) -> bytes:
    """A message/rfc822 part's message as bytes (what a recipient saves as .eml)."""
    out = []
    for item in payload:
        try:
            out.append(item.as_bytes() if isinstance(item, Message) else str(item).encode("utf-8", "replace"))
        except (UnicodeError, LookupError, ValueError):  # a header the serializer cannot write back
            out.append(str(item).encode("utf-8", "replace"))
    return b"".join(out)
