"""Source icons are checked by their bytes: a real 22x22 image of a known format, at most 64 KiB."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from crm_contacts.sources import rules


def image_bytes(size: tuple[int, int], fmt: str) -> bytes:
    buffer = io.BytesIO()
    mode = "RGB" if fmt in ("JPEG", "GIF") else "RGBA"
    extra = {"sizes": [size]} if fmt == "ICO" else {}
    Image.new(mode, size, (200, 30, 30)).save(buffer, fmt, **extra)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("PNG", "image/png"),
        ("GIF", "image/gif"),
        ("JPEG", "image/jpeg"),
        ("WEBP", "image/webp"),
        ("ICO", "image/x-icon"),
    ],
)
def test_22x22_image_is_accepted_with_the_content_type_of_its_bytes(fmt: str, content_type: str) -> None:
    assert rules.check_icon(image_bytes((22, 22), fmt)) == (content_type, None)


@pytest.mark.parametrize(("size", "found"), [((23, 22), "23x22"), ((22, 21), "22x21"), ((44, 44), "44x44")])
def test_image_of_another_size_is_refused_saying_the_size_found(size: tuple[int, int], found: str) -> None:
    content_type, error = rules.check_icon(image_bytes(size, "PNG"))

    assert content_type is None
    assert error is not None
    assert (error.field, error.code) == ("icon", "wrong_size")
    assert found in error.message


@pytest.mark.parametrize(
    "data",
    [
        b"just some text pretending to be a png",
        image_bytes((22, 22), "PNG")[:40],  # a truncated file: the header is fine, the pixels are missing
        image_bytes((22, 22), "BMP"),  # an image, but not a format icons may have
    ],
)
def test_bytes_that_are_not_an_accepted_image_are_refused(data: bytes) -> None:
    content_type, error = rules.check_icon(data)

    assert content_type is None
    assert error is not None and (error.field, error.code) == ("icon", "not_an_image")


def test_icon_larger_than_64_kib_is_refused() -> None:
    _, error = rules.check_icon(image_bytes((22, 22), "PNG") + b"\0" * rules.ICON_MAX_BYTES)

    assert error is not None and (error.field, error.code) == ("icon", "too_large")


@pytest.mark.parametrize("url", ["https://cdn.example.com/fair.png", "http://example.com/i.ico"])
def test_http_icon_urls_are_accepted(url: str) -> None:
    assert rules.check_icon_url(url) == (url, None)


@pytest.mark.parametrize("url", ["ftp://example.com/i.png", "javascript:alert(1)", "example.com/i.png", "https://"])
def test_other_icon_urls_are_refused(url: str) -> None:
    _, error = rules.check_icon_url(url)

    assert error is not None and (error.field, error.code) == ("icon_url", "invalid_url")
