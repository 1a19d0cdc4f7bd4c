"""Use cases on files attached to a contact: streamed upload, listing, download and delete."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_contacts.files import rules
from crm_contacts.files.models import ContactFile
from crm_contacts.files.storage import Storage
from crm_contacts.record.access import visible_contact
from crm_contacts.record.history import record
from crm_platform.context import Caller
from crm_platform.db import UnitOfWork, get_in_workspace
from crm_platform.errors import DomainError, FieldError, Forbidden, InvalidInput, NotFound
from crm_platform.ids import new_id

log = logging.getLogger(__name__)


class FileTooLarge(DomainError):
    code = "file-too-large"
    http_status = 413
    title = "The file is too large"


def too_large(max_bytes: int) -> FileTooLarge:
    return FileTooLarge(
        f"files are limited to {max_bytes} bytes",
        errors=[FieldError("file", f"at most {max_bytes} bytes", "too_large")],
        extra={"max_bytes": max_bytes},
    )


def add(
    uow: UnitOfWork,
    storage: Storage,
    *,
    caller: Caller,
    contact_id: str,
    filename: str | None,
    declared_type: str | None,
    chunks: Iterable[bytes],
    max_bytes: int,
) -> ContactFile:
    """Stream an upload into storage, refusing executables (by content) and files over ``max_bytes``.

    The contact is checked before any byte is read; no transaction stays open while the bytes arrive.
    """
    with uow:
        workspace_id = visible_contact(uow.session, caller, contact_id).workspace_id
    file_id = new_id()
    key = f"{workspace_id}/{file_id}"
    name = rules.clean_filename(filename)
    with storage.incoming(key) as incoming:
        head = b""
        for chunk in chunks:
            if len(head) < rules.HEAD_BYTES:
                head += chunk[: rules.HEAD_BYTES - len(head)]
                if len(head) == rules.HEAD_BYTES:
                    _refuse_executable(head)
            incoming.write(chunk)
            if incoming.size > max_bytes:
                raise too_large(max_bytes)
        _refuse_executable(head)
        incoming.commit()
    try:
        with uow:
            visible_contact(uow.session, caller, contact_id)  # it may have been deleted during the upload
            stored = ContactFile(
                id=file_id,
                workspace_id=workspace_id,
                contact_id=contact_id,
                filename=name,
                content_type=rules.content_type_for(declared_type, name),
                size=incoming.size,
                sha256=incoming.sha256,
                storage_key=key,
                uploaded_by=caller.user_id,
            )
            uow.session.add(stored)
            uow.session.flush()
            _recorded(uow, stored, kind="file_added", actor_id=caller.user_id)
            uow.commit()
    except BaseException:
        storage.delete(key)
        raise
    return stored


def list_page(
    uow: UnitOfWork, *, caller: Caller, contact_id: str, limit: int, after_id: str | None
) -> list[ContactFile]:
    """Up to ``limit + 1`` of a contact's files, newest first, after the cursor's file."""
    with uow:
        visible_contact(uow.session, caller, contact_id)
        query = select(ContactFile).where(
            ContactFile.workspace_id == caller.workspace_id, ContactFile.contact_id == contact_id
        )
        if after_id is not None:
            query = query.where(ContactFile.id < after_id)
        return list(uow.session.scalars(query.order_by(ContactFile.id.desc()).limit(limit + 1)))


def get(
    uow: UnitOfWork, storage: Storage, *, caller: Caller, contact_id: str, file_id: str
) -> tuple[ContactFile, Path]:
    """A file's facts and where its bytes are, for download."""
    with uow:
        stored = _file(uow.session, caller, contact_id, file_id)
    path = storage.path_of(stored.storage_key)
    if not path.is_file():
        log.error("the bytes of file %s are missing from storage (%s)", stored.id, stored.storage_key)
        raise NotFound(f"the content of file {file_id} is missing")
    return stored, path


def delete(uow: UnitOfWork, storage: Storage, *, caller: Caller, contact_id: str, file_id: str) -> None:
    """Delete a file (its uploader or an admin): the row, then its bytes; writes file_deleted to the history."""
    with uow:
        stored = _file(uow.session, caller, contact_id, file_id)
        if not rules.may_delete(
            caller_id=caller.user_id, caller_is_admin=caller.is_admin, uploaded_by=stored.uploaded_by
        ):
            raise Forbidden("only the member who uploaded the file or an admin may delete it")
        uow.session.delete(stored)
        _recorded(uow, stored, kind="file_deleted", actor_id=caller.user_id)
        uow.commit()
    # After the commit: a crash here leaves unreferenced bytes, never a row without its bytes.
    storage.delete(stored.storage_key)


def _refuse_executable(head: bytes) -> None:
    kind = rules.executable_kind(head)
    if kind is not None:
        raise InvalidInput(
            "executable files are not accepted",
            errors=[FieldError("file", f"the content is {kind}; executables are refused", "executable")],
        )


def _file(session: Session, caller: Caller, contact_id: str, file_id: str) -> ContactFile:
    visible_contact(session, caller, contact_id)
    stored = get_in_workspace(session, ContactFile, file_id, workspace_id=caller.workspace_id, what="file")
    if stored.contact_id != contact_id:
        raise NotFound(f"file {file_id} not found")
    return stored


def _recorded(uow: UnitOfWork, stored: ContactFile, *, kind: str, actor_id: str) -> None:
    record(
        uow,
        workspace_id=stored.workspace_id,
        contact_id=stored.contact_id,
        kind=kind,
        actor_id=actor_id,
        data={
            "file_id": stored.id,
            "filename": stored.filename,
            "size": stored.size,
            "content_type": stored.content_type,
        },
    )
