"""What a stored file may be called and said to be, its limits, and the headers it is downloaded with."""

from __future__ import annotations

import pytest

from crm_platform.attachments.rules import (
    AttachmentTooLarge,
    Limits,
    checked_content_type,
    content_disposition,
    download_headers,
    download_type,
    normalise_content_type,
    sanitize_filename,
    sniff,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\factura 2026.xlsx", "factura 2026.xlsx"),
        ("evil\r\nContent-Type: text/html.txt", "html.txt"),
        ("evil\r\nContent-Type: text.txt", "evil Content-Type_ text.txt"),
        ("\u202eexe.pdf", "_exe.pdf"),
        ("...hidden", "hidden"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ('a<b>c:"d"|e?*.png', "a_b_c__d__e__.png"),
        ("", "attachment"),
        (None, "attachment"),
        ("////", "attachment"),
        ("año 2026 — café.txt", "año 2026 — café.txt"),
    ],
)
def test_a_filename_keeps_no_path_control_or_reserved_characters(given: str | None, kept: str) -> None:
    assert sanitize_filename(given) == kept


def test_a_long_filename_is_cut_to_200_characters_keeping_its_extension() -> None:
    name = sanitize_filename("x" * 500 + ".tar.gz")

    assert len(name) == 200
    assert name.endswith("x.gz")


@pytest.mark.parametrize(
    ("declared", "normalised"),
    [
        ("Image/PNG", "image/png"),
        ("text/plain; charset=utf-8", "text/plain"),
        ("text/html\r\nX-Evil: 1", "application/octet-stream"),
        ("nonsense", "application/octet-stream"),
        (None, "application/octet-stream"),
    ],
)
def test_a_declared_type_is_type_slash_subtype_or_octet_stream(declared: str | None, normalised: str) -> None:
    assert normalise_content_type(declared) == normalised


def test_bytes_that_are_markup_under_a_harmless_type_are_kept_as_octet_stream() -> None:
    assert (
        checked_content_type("image/png", b"  <!DOCTYPE html><script>alert(1)</script>") == "application/octet-stream"
    )
    assert checked_content_type("text/plain", b"<svg onload=alert(1)>") == "application/octet-stream"
    assert checked_content_type("text/html", b"<html></html>") == "text/html"


def test_a_recognised_format_declared_generically_takes_its_own_type() -> None:
    assert sniff(PNG) == "image/png"
    assert checked_content_type("application/octet-stream", PNG) == "image/png"
    assert checked_content_type("image/jpeg", PNG) == "image/png"
    assert checked_content_type("text/csv", b"a,b\n1,2\n") == "text/csv"


@pytest.mark.parametrize(
    "active", ["text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "multipart/mixed"]
)
def test_types_a_browser_would_render_are_downloaded_as_octet_stream(active: str) -> None:
    assert download_type(active) == "application/octet-stream"


def test_harmless_types_are_downloaded_as_themselves() -> None:
    assert download_type("image/png") == "image/png"
    assert download_type("application/pdf") == "application/pdf"


def test_an_ascii_name_is_sent_as_a_quoted_filename() -> None:
    assert content_disposition("report.pdf") == 'attachment; filename="report.pdf"'


def test_a_non_ascii_name_is_sent_with_an_ascii_fallback_and_rfc_8187_encoding() -> None:
    assert content_disposition("año 2026 €.txt") == (
        "attachment; filename=\"ano 2026 _.txt\"; filename*=UTF-8''a%C3%B1o%202026%20%E2%82%AC.txt"
    )


def test_a_name_cannot_break_out_of_the_header() -> None:
    value = content_disposition('x"; filename="evil.html\r\nSet-Cookie: a=b')

    assert "\r" not in value and "\n" not in value
    assert value.count('"') == 2  # the fallback's quotes only


def test_every_download_is_saved_never_sniffed_rendered_or_framed() -> None:
    headers = download_headers("page.html", "text/html", 12)

    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == 'attachment; filename="page.html"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "sandbox" in headers["Content-Security-Policy"]
    assert headers["Content-Length"] == "12"


def test_a_length_over_the_limit_is_refused_before_reading() -> None:
    limits = Limits(max_bytes=100)

    limits.check_declared(100)
    limits.check_declared(None)
    with pytest.raises(AttachmentTooLarge) as refused:
        limits.check_declared(101)
    assert refused.value.http_status == 413


def test_files_together_over_the_total_are_refused() -> None:
    limits = Limits(max_bytes=100, max_total_bytes=150)

    limits.check_total([100, 50])
    with pytest.raises(AttachmentTooLarge):
        limits.check_total([100, 51])
