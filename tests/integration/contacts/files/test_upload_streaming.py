"""A large upload is streamed to the storage directory: memory stays flat whatever the file's size."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.contacts.support.activity_world import World
from tests.support.stack import RunningService, running

FILE_BYTES = 40 * 1024 * 1024
BOUNDARY = "activity-test-boundary-7d1f"
PATTERN = bytes(range(256)) * 256  # 64 KiB


class LazyMultipartBody(io.RawIOBase):
    """A multipart body with one file part, produced as it is read: the test never holds the file either."""

    def __init__(self, size: int) -> None:
        self.pieces = self._pieces(size)
        self.pending = b""
        self.total = self.length(size)
        self.position = 0  # only to let the test client measure the body, which it does before reading

    @staticmethod
    def _pieces(size: int) -> Iterator[bytes]:
        yield (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="video.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        for start in range(0, size, len(PATTERN)):
            yield PATTERN[: min(len(PATTERN), size - start)]
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    @staticmethod
    def length(size: int) -> int:
        return sum(len(piece) for piece in LazyMultipartBody._pieces(0)) + size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = self.total if whence == io.SEEK_END else offset
        return self.position

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        while not self.pending:
            self.pending = next(self.pieces, b"")
            if not self.pending:
                return 0
        count = min(len(buffer), len(self.pending))
        buffer[:count] = self.pending[:count]
        self.pending = self.pending[count:]
        return count


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[RunningService]:  # type: ignore[no-untyped-def]
    from crm_contacts.app import SERVICE

    folder: Path = tmp_path_factory.mktemp("streaming")
    with running(
        SERVICE,
        f"sqlite:///{folder}/contacts.db",
        folder,
        CONTACTS_STORAGE_DIR=str(folder / "files"),
        CONTACTS_MAX_FILE_BYTES=str(64 * 1024 * 1024),
    ) as service:
        yield service


def test_a_40_mib_upload_is_stored_intact_without_holding_it_in_memory(world: World) -> None:
    contact = world.contact()
    expected = hashlib.sha256()
    for _ in range(FILE_BYTES // len(PATTERN)):
        expected.update(PATTERN)

    tracemalloc.start()
    try:
        answer = world.api.client.post(
            f"/v1/contacts/{contact}/files",
            input_stream=LazyMultipartBody(FILE_BYTES),
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
            headers=world.headers(),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert answer.status_code == 201, answer.get_json()
    stored = answer.get_json()
    assert (stored["size"], stored["sha256"], stored["content_type"]) == (FILE_BYTES, expected.hexdigest(), "video/mp4")
    assert peak < 4 * 1024 * 1024, f"peak Python memory {peak} bytes for a {FILE_BYTES}-byte upload"
