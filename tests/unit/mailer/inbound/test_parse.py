"""Parsing: decoded headers and bodies, limits that quarantine, and fuzzing that never crashes it."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_mailer.inbound import parse, reply, rules
from crm_mailer.inbound.message import Envelope, InboundMessage, ParseLimits
from tests.unit.mailer.inbound import corpus


def test_headers_addresses_ids_bodies_and_attachments_are_decoded() -> None:
    message = parse.parse(corpus.raw("gmail_es_reply.eml"))

    assert message.from_ is not None and message.from_.name == "Ana Ruiz García"
    assert message.subject == "Re: [#2e3f4a5b] La impresora no imprime"
    assert message.in_reply_to == ("<0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b@mail.acme.test>",)
    assert message.text is not None and "¿Podrías" in message.text
    assert message.html is not None and "gmail_quote" in message.html
    [png] = message.attachments
    assert (png.filename, png.content_type, png.size, png.content_id) == (
        "pantalla_impresora.png", "image/png", 2048, "f_lwz3k2p90"
    )  # fmt: skip
    assert [(r.method, r.result) for r in message.auth] == [("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]


def test_iso_8859_1_and_windows_1252_bodies_are_read_as_sent() -> None:
    assert "tóner" in (parse.parse(corpus.raw("outlook_es_reply.eml")).text or "")
    assert "We\u2019d like" in (parse.parse(corpus.raw("outlook_en_reply.eml")).text or "")
    assert parse.parse(corpus.raw("outlook_es_reply.eml")).from_.name == "María José Fernández"  # type: ignore[union-attr]


def test_malformed_mail_is_read_as_far_as_possible_with_its_defects_named() -> None:
    eight_bit = parse.parse(corpus.raw("broken_8bit_headers.eml"))
    assert eight_bit.subject == "Envío pendiente \u2013 ¿dónde está?"
    assert eight_bit.header("X-Note") == "réclamation"
    assert "8bit_header" in eight_bit.defects
    charset = parse.parse(corpus.raw("broken_bad_charset.eml"))
    assert charset.text == "Mañana os llamo." and "unknown_charset" in charset.defects
    assert charset.html is not None and "Mañana" in charset.html
    assert "missing_boundary" in parse.parse(corpus.raw("broken_missing_boundary.eml")).defects
    assert "bad_base64" in parse.parse(corpus.raw("broken_bad_base64.eml")).defects


def nested(depth: int) -> bytes:
    head = b"From: a@example.com\nSubject: deep\nMIME-Version: 1.0\n"
    body = b"hello\n"
    inner = b"Content-Type: text/plain\n\n" + body
    for level in range(depth):
        boundary = f"b{level}".encode()
        inner = (
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\n\n--' + boundary + b"\n" + inner
            + b"\n--" + boundary + b"--\n"
        )  # fmt: skip
    return head + inner


def test_deep_nesting_is_quarantined_not_raised() -> None:
    assert parse.parse(nested(5)).quarantine is None
    assert parse.parse(nested(25)).quarantine == "too_deep"
    assert parse.parse(nested(5), limits=ParseLimits(max_depth=3)).quarantine == "too_deep"
    # past the interpreter's recursion limit (with the delimiter count out of the way)
    assert parse.parse(nested(3000), limits=ParseLimits(max_parts=10_000)).quarantine == "too_deep"
    assert parse.parse(nested(3000)).quarantine == "too_many_parts"  # 6,000 delimiter lines


def test_too_many_parts_and_too_many_bytes_are_quarantined_with_the_headers_kept() -> None:
    parts = b"".join(b"--x\nContent-Type: text/plain\n\npart\n" for _ in range(30))
    many = b'From: a@example.com\nSubject: many\nContent-Type: multipart/mixed; boundary="x"\n\n' + parts + b"--x--\n"
    assert parse.parse(many, limits=ParseLimits(max_parts=10)).quarantine == "too_many_parts"

    # 100,000 parts are counted before the stdlib parses them (which takes seconds): headers only
    huge = many.replace(parts, b"--x\nContent-Type: text/plain\n\npart\n" * 100_000)
    counted = parse.parse(huge)
    assert (counted.quarantine, counted.subject, counted.text) == ("too_many_parts", "many", None)

    big = parse.parse(corpus.raw("gmail_es_reply.eml"), limits=ParseLimits(max_bytes=1000))
    assert big.quarantine == "too_large"
    assert big.subject == "Re: [#2e3f4a5b] La impresora no imprime" and big.text is None
    assert big.raw == corpus.raw("gmail_es_reply.eml")


def test_decoded_headers_carry_no_line_break_and_bodies_no_nul() -> None:
    raw = b"From: a@example.com\nSubject: =?utf-8?q?Hola=0D=0ABcc:_x@evil.test?=\n\nnul \x00 here\n"
    message = parse.parse(raw)

    assert message.subject == "Hola Bcc: x@evil.test"
    assert message.text == "nul \ufffd here\n"
    assert "control_character" in message.defects


def test_attachment_names_lose_any_folder() -> None:
    raw = corpus.raw("thunderbird_en_reply.eml").replace(b'filename="export.csv"', b'filename="../../etc/cron.d/x.csv"')

    assert [a.filename for a in parse.parse(raw).attachments] == ["x.csv"]


def test_a_flood_of_headers_is_quarantined_unread() -> None:
    flood = b"From: a@example.com\n" + b"X-Spam: yes\n" * 300_000 + b"\nhello\n"

    assert parse.parse(flood).quarantine == "too_many_headers"
    assert parse.parse(corpus.raw("gmail_es_reply.eml"), limits=ParseLimits(max_header_lines=10)).quarantine == (
        "too_many_headers"
    )


def test_garbage_without_headers_is_quarantined() -> None:
    assert parse.parse(b"\x00\xff\xfe garbage with no header at all").quarantine == "no_headers"


def test_recipients_come_from_the_envelope_then_the_headers_lower_cased() -> None:
    message = parse.parse(corpus.raw("gmail_es_reply.eml"), envelope=Envelope(rcpt_to=("<Soporte@Acme.test>",)))

    assert message.recipients == ("soporte@acme.test", "reply+tk_8f3a2c91e7@mail.acme.test")


def test_crlf_line_endings_as_smtp_delivers_them_parse_the_same() -> None:
    for name in corpus.names():
        raw = corpus.raw(name)
        crlf = parse.parse(raw.replace(b"\n", b"\r\n"))
        plain = parse.parse(raw)
        assert (crlf.subject, crlf.text, crlf.attachments, crlf.report, crlf.defects) == (
            plain.subject, plain.text, plain.attachments, plain.report, plain.defects
        ), name  # fmt: skip
        assert rules.classify(crlf) == rules.classify(plain), name


def pipeline(raw: bytes) -> InboundMessage:
    message = parse.parse(raw, limits=ParseLimits(max_bytes=200_000, max_depth=8, max_parts=60))
    assert message.quarantine is None or message.quarantine in parse.QUARANTINE_REASONS
    assert set(message.defects) <= set(parse.DEFECTS), message.defects
    for _name, value in message.headers:
        assert not any(c in value for c in "\r\n\x00"), value
    assert "\x00" not in (message.text or "") + (message.html or "")
    classification = rules.classify(message)
    rules.may_auto_reply(message, classification=classification)
    if classification.kind == "person":
        reply.extract_reply(message)
    return message


SEEDS = [corpus.raw(name) for name in corpus.names()]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A corpus message with bytes flipped, cut, duplicated or spliced with headers that break MIME."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    rng = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(1, 12))):
        operation = rng.randrange(5)
        at = rng.randrange(len(data) + 1)
        if operation == 0 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif operation == 1:
            del data[at : at + rng.randrange(200)]
        elif operation == 2:
            data[at:at] = draw(
                st.sampled_from(
                    [
                        b'\nContent-Type: multipart/mixed; boundary=""\n',
                        b"\nContent-Transfer-Encoding: base64\n\n%%%%",
                        b"=?utf-8?b?////?=",
                        b"=?x-nope?q?=FF=FE?=",
                        b"\n--",
                        b"\r\n\r\n",
                        b'\nContent-Type: text/plain; charset="utf-16"\n\n\xff',
                        b"\nContent-Type: message/rfc822\n\n",
                        b"\nContent-Type: multipart/report; report-type=delivery-status; boundary=q\n\n--q\n",
                        b'\nFrom: "unterminated <\n',
                        b"\nReferences: " + b"<a@b> " * 500 + b"\n",
                    ]
                )
            )
        elif operation == 3:
            data[at:at] = data[at : at + rng.randrange(500)]
        else:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(50)))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_corpus_messages_never_crash_parse_classify_or_reply(raw: bytes) -> None:
    message = pipeline(raw)
    assert message.raw == raw


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_crash_the_pipeline(raw: bytes) -> None:
    assert pipeline(raw).raw == raw
