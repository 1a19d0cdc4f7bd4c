"""The attachment store on SQLite and PostgreSQL, in the database and on disk: bytes kept exactly and hashed,
limits applied before and while reading, every read scoped to its workspace."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from sqlalchemy import func, select

from crm_platform.attachments.rules import AttachmentTooLarge
from crm_platform.errors import NotFound
from crm_platform.ids import new_id

from .conftest import Owner

WORKSPACE = new_id()


def count_rows(owner: Owner) -> tuple[int, int]:
    tables = owner.store.tables
    with owner.store.database.engine.connect() as connection:
        files = connection.execute(select(func.count()).select_from(tables.files)).scalar_one()
        chunks = connection.execute(select(func.count()).select_from(tables.chunks)).scalar_one()
    return files, chunks


class Unreadable(io.RawIOBase):
    """A body that must not be read: a test fails if the store reads a byte of it."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the store read a body it should have refused")


def test_a_file_is_kept_byte_for_byte_with_its_sha256(owner: Owner) -> None:
    data = os.urandom(300 * 1024 + 7)  # several 64 KiB chunks and a short last one

    stored = owner.put(data, workspace_id=WORKSPACE, filename="../Factura año.pdf", owner_id="comment-1")
    with owner.store.database.unit_of_work() as uow:
        found = owner.store.get(uow.session, workspace_id=WORKSPACE, attachment_id=stored.id)
    read = b"".join(owner.store.chunks(found))

    assert read == data
    assert (found.size, found.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert (found.filename, found.owner_id) == ("Factura año.pdf", "comment-1")
    assert found.ref().service == "tickets"
    assert found.location == ("disk" if owner.store.directory else "database")


def test_another_workspaces_file_is_not_found(owner: Owner) -> None:
    stored = owner.put(b"%PDF-1.7 secret", workspace_id=WORKSPACE)

    with owner.store.database.unit_of_work() as uow, pytest.raises(NotFound):
        owner.store.get(uow.session, workspace_id=new_id(), attachment_id=stored.id)


def test_a_file_announced_over_the_limit_is_refused_before_a_byte_is_read(owner: Owner) -> None:
    with owner.store.database.unit_of_work() as uow, pytest.raises(AttachmentTooLarge):
        owner.store.put(
            uow.session,
            Unreadable(),
            workspace_id=WORKSPACE,
            filename="big.bin",
            content_type=None,
            declared_size=owner.store.limits.max_bytes + 1,
        )

    assert count_rows(owner) == (0, 0)


def test_a_stream_without_a_length_is_cut_at_the_limit_and_nothing_is_kept(owner: Owner) -> None:
    chunks = (b"x" * 65536 for _ in range(17))  # 1 MiB + 64 KiB, never announced

    with owner.store.database.unit_of_work() as uow:
        with pytest.raises(AttachmentTooLarge):
            owner.store.put(uow.session, chunks, workspace_id=WORKSPACE, filename="big.bin", content_type=None)
        uow.commit()

    assert count_rows(owner) == (0, 0)
    if owner.store.directory is not None:
        assert [p for p in owner.store.directory.rglob("*") if p.is_file()] == []


def test_a_file_exactly_at_the_limit_is_kept(owner: Owner) -> None:
    stored = owner.put(b"y" * owner.store.limits.max_bytes, workspace_id=WORKSPACE)

    assert stored.size == owner.store.limits.max_bytes


def test_markup_sent_as_an_image_is_kept_as_octet_stream(owner: Owner) -> None:
    with owner.store.database.unit_of_work() as uow:
        stored = owner.store.put(
            uow.session,
            b"<html><script>alert(1)</script>",
            workspace_id=WORKSPACE,
            filename="cat.png",
            content_type="image/png",
        )
        uow.commit()

    assert stored.content_type == "application/octet-stream"
