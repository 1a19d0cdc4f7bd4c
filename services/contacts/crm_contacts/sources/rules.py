"""Pure rules of sources: their names, icon URLs, and the 22x22 icon an upload must be."""

from __future__ import annotations

import io
import warnings
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from crm_platform.errors import FieldError

ICON_SIZE = (22, 22)
ICON_MAX_BYTES = 64 * 1024
# Pillow format name -> the content type the icon is served with
ICON_FORMATS = {
    "PNG": "image/png",
    "GIF": "image/gif",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "ICO": "image/x-icon",
}


def check_icon(data: bytes) -> tuple[str | None, FieldError | None]:
    """The content type of an uploaded icon, judged by its bytes alone, or why it is refused."""
    if not data:
        return None, FieldError("icon", "the file is empty", "required")
    if len(data) > ICON_MAX_BYTES:
        return None, FieldError("icon", f"{len(data)} bytes; at most {ICON_MAX_BYTES // 1024} KiB", "too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(ICON_FORMATS)) as image:
                fmt, size = image.format, image.size
                if size != ICON_SIZE:
                    width, height = size
                    return None, FieldError(
                        "icon", f"the image is {width}x{height} px; icons must be exactly 22x22 px", "wrong_size"
                    )
                image.load()  # the header alone could lie: the pixels must decode too
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return None, FieldError("icon", "not a PNG, GIF, JPEG, WebP or ICO image", "not_an_image")
    if fmt not in ICON_FORMATS:  # pragma: no cover - Image.open was limited to these formats
        return None, FieldError("icon", "not a PNG, GIF, JPEG, WebP or ICO image", "not_an_image")
    return ICON_FORMATS[fmt], None


def check_icon_url(url: str, *, field: str = "icon_url") -> tuple[str, FieldError | None]:
    """An absolute http(s) URL of at most 500 characters."""
    cleaned = url.strip()
    parts = urlsplit(cleaned)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return cleaned, FieldError(field, "must be an http or https URL", "invalid_url")
    if len(cleaned) > 500 or any(c.isspace() for c in cleaned):
        return cleaned, FieldError(field, "must be a URL of at most 500 characters without spaces", "invalid_url")
    return cleaned, None


def check_name(name: str, *, field: str) -> tuple[str, FieldError | None]:
    cleaned = " ".join(name.split())
    if not cleaned:
        return cleaned, FieldError(field, "must not be empty", "required")
    if len(cleaned) > 100:
        return cleaned, FieldError(field, "must be at most 100 characters", "too_long")
    return cleaned, None
