"""A service's attachment store: each file's bytes in the service's own database (in 64 KiB chunks, so neither
writing nor reading holds a whole file) or under a folder of its settings, its metadata in the database.

Writing is limited before the bytes go anywhere: a length announced over the limit is refused before a byte is
read, and a stream without one is counted and cut at the limit. The bytes are hashed (sha256) and their type
checked against what they start with. Every row carries its workspace; reads name it, so another workspace's
id is not found.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, MetaData, String, Table, and_, select
from sqlalchemy.orm import Session

from crm.platform.v1 import attachments_pb2
from crm_platform import migrations
from crm_platform.attachments import rules
from crm_platform.attachments.rules import CHUNK_BYTES, Limits
from crm_platform.db import Database, UtcDateTime, utcnow
from crm_platform.errors import NotFound
from crm_platform.ids import new_id

BRANCH = "attachments"
IN_DATABASE, ON_DISK = "database", "disk"
_READ_BATCH = 16  # chunks fetched per query when reading from the database (1 MiB)
_SPOOL_IN_MEMORY = 1024 * 1024  # an upload larger than this waits on disk until it is checked
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

Source = IO[bytes] | bytes | Iterable[bytes]


class AttachmentTables:
    """The store's two tables in one service's metadata (the shared ``attachments`` migration branch)."""

    def __init__(self, metadata: MetaData) -> None:
        migrations.opt_in(metadata, BRANCH)
        self.files = Table(
            "attachments",
            metadata,
            Column("workspace_id", String(36), primary_key=True),
            Column("id", String(36), primary_key=True),
            # What the file belongs to in its service (an inbound message, a comment): listed and checked by it.
            Column("owner_id", String(64)),
            Column("filename", String(255), nullable=False),
            Column("content_type", String(255), nullable=False),
            Column("size", BigInteger, nullable=False),
            Column("sha256", String(64), nullable=False),
            Column("location", String(10), nullable=False),  # database (attachment_chunks) or disk
            Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
            Index("ix_attachments_workspace_id_owner_id", "workspace_id", "owner_id"),
        )
        self.chunks = Table(
            "attachment_chunks",
            metadata,
            Column("workspace_id", String(36), primary_key=True),
            Column("attachment_id", String(36), primary_key=True),
            Column("seq", Integer, primary_key=True, autoincrement=False),
            Column("data", LargeBinary, nullable=False),
        )


@dataclass(frozen=True)
class StoredAttachment:
    """One stored file's metadata; ``ref`` is what events and requests carry instead of its bytes."""

    service: str
    workspace_id: str
    id: str
    owner_id: str | None
    filename: str
    content_type: str
    size: int
    sha256: str
    location: str
    created_at: datetime

    def ref(self) -> attachments_pb2.AttachmentRef:
        return attachments_pb2.AttachmentRef(
            service=self.service,
            attachment_id=self.id,
            filename=self.filename,
            content_type=self.content_type,
            size=self.size,
            sha256=self.sha256,
        )


class AttachmentStore:
    """Where one service keeps the files it received. ``directory`` None: in its database."""

    def __init__(
        self, tables: AttachmentTables, database: Database, *, service: str, limits: Limits, directory: Path | None
    ) -> None:
        self.tables = tables
        self.database = database
        self.service = service
        self.limits = limits
        self.directory = directory

    # writing ---------------------------------------------------------------------------------------
    def put(
        self,
        session: Session,
        source: Source,
        *,
        workspace_id: str,
        filename: str | None,
        content_type: str | None,
        declared_size: int | None = None,
        owner_id: str | None = None,
        check_head: Callable[[bytes], None] | None = None,
    ) -> StoredAttachment:
        """Store one file in the caller's transaction (its row commits with the caller's change). Raises
        ``AttachmentTooLarge`` before reading when ``declared_size`` is over the limit, or once the bytes
        counted pass it (nothing is kept then). ``check_head`` (e.g. ``rules.refuse_executable``) is given the
        file's first bytes as soon as they are read, and may raise to refuse it before the rest is."""
        _check_id(workspace_id)
        self.limits.check_declared(declared_size)
        attachment_id = new_id()
        digest = hashlib.sha256()
        size, head = 0, b""
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY, dir=self._spool_dir(workspace_id)) as spool:
            for chunk in _chunks(source):
                size += len(chunk)
                if size > self.limits.max_bytes:
                    raise rules.too_large("the file", self.limits.max_bytes)
                if len(head) < 512:
                    head += chunk[: 512 - len(head)]
                if check_head is not None and len(head) >= rules.HEAD_BYTES:
                    check_head(head)
                    check_head = None
                digest.update(chunk)
                spool.write(chunk)
            if check_head is not None:  # a file shorter than the longest signature
                check_head(head)
            spool.seek(0)
            location = IN_DATABASE if self.directory is None else ON_DISK
            if location == IN_DATABASE:
                self._write_chunks(session, spool, workspace_id, attachment_id)
            else:
                self._write_file(spool, workspace_id, attachment_id)
        stored = StoredAttachment(
            service=self.service,
            workspace_id=workspace_id,
            id=attachment_id,
            owner_id=owner_id,
            filename=rules.sanitize_filename(filename),
            content_type=rules.checked_content_type(content_type, head),
            size=size,
            sha256=digest.hexdigest(),
            location=location,
            created_at=utcnow(),
        )
        session.execute(
            self.tables.files.insert().values(
                workspace_id=workspace_id,
                id=attachment_id,
                owner_id=owner_id,
                filename=stored.filename,
                content_type=stored.content_type,
                size=size,
                sha256=stored.sha256,
                location=location,
                created_at=stored.created_at,
            )
        )
        return stored

    def _write_chunks(self, session: Session, spool: IO[bytes], workspace_id: str, attachment_id: str) -> None:
        seq = 0
        while data := spool.read(CHUNK_BYTES):
            session.execute(
                self.tables.chunks.insert().values(
                    workspace_id=workspace_id, attachment_id=attachment_id, seq=seq, data=data
                )
            )
            seq += 1

    def _write_file(self, spool: IO[bytes], workspace_id: str, attachment_id: str) -> None:
        final = self._path(workspace_id, attachment_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_suffix(".part")
        with partial.open("wb") as out:
            while data := spool.read(CHUNK_BYTES):
                out.write(data)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(final)

    def _spool_dir(self, workspace_id: str) -> str | None:
        if self.directory is None:
            return None
        folder = self.directory / self.service / workspace_id
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)

    def _path(self, workspace_id: str, attachment_id: str) -> Path:
        assert self.directory is not None
        _check_id(workspace_id)
        _check_id(attachment_id)
        return self.directory / self.service / workspace_id / attachment_id

    # reading ---------------------------------------------------------------------------------------
    def get(
        self, session: Session, *, workspace_id: str, attachment_id: str, owner_id: str | None = None
    ) -> StoredAttachment:
        """One file of the workspace (and of ``owner_id``, when given); NotFound otherwise."""
        files = self.tables.files.c
        query = select(self.tables.files).where(files.workspace_id == workspace_id, files.id == attachment_id)
        if owner_id is not None:
            query = query.where(files.owner_id == owner_id)
        row = session.execute(query).mappings().first() if _SAFE_ID.fullmatch(attachment_id) else None
        if row is None:
            raise NotFound(f"attachment {attachment_id} not found")
        return StoredAttachment(service=self.service, **{k: row[k] for k in _FIELDS})

    def of_owner(self, session: Session, *, workspace_id: str, owner_id: str) -> list[StoredAttachment]:
        """The files of one owner (an inbound message...), oldest first."""
        files = self.tables.files.c
        rows = session.execute(
            select(self.tables.files)
            .where(files.workspace_id == workspace_id, files.owner_id == owner_id)
            .order_by(files.created_at, files.id)
        ).mappings()
        return [StoredAttachment(service=self.service, **{k: row[k] for k in _FIELDS}) for row in rows]

    def of_owners(
        self, session: Session, *, workspace_id: str, owner_ids: Sequence[str]
    ) -> dict[str, list[StoredAttachment]]:
        """The files of each of several owners (a page of messages), oldest first, in one query; an owner with
        none is left out."""
        found: dict[str, list[StoredAttachment]] = {}
        if not owner_ids:
            return found
        files = self.tables.files.c
        rows = session.execute(
            select(self.tables.files)
            .where(files.workspace_id == workspace_id, files.owner_id.in_(list(owner_ids)))
            .order_by(files.created_at, files.id)
        ).mappings()
        for row in rows:
            found.setdefault(row["owner_id"], []).append(
                StoredAttachment(service=self.service, **{k: row[k] for k in _FIELDS})
            )
        return found

    def chunks(self, stored: StoredAttachment) -> Iterator[bytes]:
        """The bytes of a file, in order, at most 64 KiB at a time; no transaction stays open between pieces."""
        if stored.location == ON_DISK:
            if self.directory is None:
                raise NotFound(f"attachment {stored.id} is on disk, but no attachments folder is configured")
            with self._path(stored.workspace_id, stored.id).open("rb") as source:
                while data := source.read(CHUNK_BYTES):
                    yield data
            return
        chunks = self.tables.chunks.c
        seq = 0
        while True:
            with self.database.engine.connect() as connection:
                batch = list(
                    connection.execute(
                        select(chunks.seq, chunks.data)
                        .where(
                            and_(
                                chunks.workspace_id == stored.workspace_id,
                                chunks.attachment_id == stored.id,
                                chunks.seq >= seq,
                            )
                        )
                        .order_by(chunks.seq)
                        .limit(_READ_BATCH)
                    )
                )
            for row in batch:
                yield bytes(row.data)
            if len(batch) < _READ_BATCH:
                return
            seq = batch[-1].seq + 1


_FIELDS = ("workspace_id", "id", "owner_id", "filename", "content_type", "size", "sha256", "location", "created_at")


def _check_id(value: str) -> None:
    if not _SAFE_ID.fullmatch(value or ""):
        raise NotFound("attachment not found")


def _chunks(source: Source) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        for start in range(0, len(data), CHUNK_BYTES):
            yield data[start : start + CHUNK_BYTES]
        return
    read = getattr(source, "read", None)
    if read is not None:
        while data := read(CHUNK_BYTES):
            yield data
        return
    for data in source:  # type: ignore[union-attr]
        if data:
            yield bytes(data)
