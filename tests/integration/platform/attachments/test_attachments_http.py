"""Uploading into a store over HTTP: the multipart file kept, a body announced over the limit refused before it
is parsed; and the download streamed back with its safe headers."""

from __future__ import annotations

import io

import pytest
from flask import Flask

from crm_platform.attachments.http import download, upload
from crm_platform.attachments.rules import AttachmentTooLarge
from crm_platform.errors import InvalidInput
from crm_platform.ids import new_id

from .conftest import Owner

WORKSPACE = new_id()
app = Flask(__name__)


class Unread(io.BytesIO):
    """A body that must not be read (seekable, as the test request builder wants)."""

    def read(self, size: int | None = -1) -> bytes:
        raise AssertionError("the body was read")

    readline = read  # type: ignore[assignment]


def test_an_uploaded_file_is_stored_and_downloaded_back_with_safe_headers(owner: Owner) -> None:
    data = b"<svg onload=alert(1)>" + b" " * 70_000
    with app.test_request_context(
        "/upload", method="POST", data={"file": (io.BytesIO(data), "../logo.svg", "image/svg+xml")}
    ):
        with owner.store.database.unit_of_work() as uow:
            stored = upload(owner.store, uow.session, workspace_id=WORKSPACE, owner_id="comment-1")
            uow.commit()
        answer = download(owner.store, stored)

    assert (stored.filename, stored.content_type, stored.size) == ("logo.svg", "image/svg+xml", len(data))
    assert answer.headers["Content-Type"] == "application/octet-stream"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="logo.svg"'
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert b"".join(answer.response) == data  # type: ignore[arg-type]


def test_a_body_announced_over_the_limit_is_refused_before_it_is_parsed(owner: Owner) -> None:
    too_long = owner.store.limits.max_bytes + 70 * 1024
    with app.test_request_context(
        "/upload",
        method="POST",
        input_stream=Unread(),
        content_type="multipart/form-data; boundary=x",
        environ_overrides={"CONTENT_LENGTH": str(too_long)},
    ):
        with owner.store.database.unit_of_work() as uow, pytest.raises(AttachmentTooLarge):
            upload(owner.store, uow.session, workspace_id=WORKSPACE)


def test_a_request_without_the_file_is_a_field_error(owner: Owner) -> None:
    with app.test_request_context("/upload", method="POST", json={"file": "not a file"}):
        with owner.store.database.unit_of_work() as uow, pytest.raises(InvalidInput) as refused:
            upload(owner.store, uow.session, workspace_id=WORKSPACE)

    assert refused.value.errors[0].field == "file"
