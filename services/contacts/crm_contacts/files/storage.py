"""Where the bytes of contact files live: one directory, written through a temporary file and an atomic rename.

Keys are made by the service from ids it generated (``<workspace id>/<file id>``), never from what a user sent,
so no upload can choose or guess where its bytes land.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from crm_contacts.settings import ContactsSettings


class Incoming:
    """A file being received: bytes go to a temporary file next to their final place, hashed as they come."""

    def __init__(self, temp: Path, final: Path, handle: BinaryIO) -> None:
        self.temp = temp
        self.final = final
        self.size = 0
        self.committed = False
        self._handle = handle
        self._digest = hashlib.sha256()

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self._digest.update(chunk)
        self.size += len(chunk)

    def commit(self) -> None:
        """Make the bytes durable and move them to their final name in one step."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self.temp, self.final)
        self.committed = True


class Storage:
    """A directory of stored files addressed by key."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @classmethod
    def from_settings(cls, settings: ContactsSettings) -> Storage:
        return cls(settings.storage_dir)

    def path_of(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"storage key {key!r} leaves the storage directory")
        return path

    @contextmanager
    def incoming(self, key: str) -> Iterator[Incoming]:
        """Receive the bytes of ``key``; unless ``commit`` is called, nothing is left behind."""
        final = self.path_of(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")
        with temp.open("xb") as handle:
            receiving = Incoming(temp, final, handle)
            try:
                yield receiving
            finally:
                if not receiving.committed:
                    handle.close()
                    temp.unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)
