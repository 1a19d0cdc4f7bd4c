"""The contacts service's own settings (CONTACTS_*), declared once and checked when a contacts process starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crm_platform.settings import SettingsError, setting

DEFAULT_STORAGE_DIR = Path("./var/contacts-files")
DEFAULT_MAX_FILE_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_IMPORT_BYTES = 32 * 1024 * 1024  # about 450,000 rows of a typical export
DEFAULT_MAX_ICON_BYTES = 64 * 1024  # the upload's cap; the icon rule refuses a larger image anyway

# The variables of the upload caps, which the views' ``body_limit`` also names (the HTTP layer's check).
MAX_FILE_BYTES = "CONTACTS_MAX_FILE_BYTES"
MAX_IMPORT_BYTES = "CONTACTS_MAX_IMPORT_BYTES"
MAX_ICON_BYTES = "CONTACTS_MAX_ICON_BYTES"


@dataclass(frozen=True)
class ContactsSettings:
    storage_dir: Path = setting(
        "CONTACTS_STORAGE_DIR", DEFAULT_STORAGE_DIR, doc="contact files and CSV imports (shared by http and worker)"
    )
    max_file_bytes: int = setting(MAX_FILE_BYTES, DEFAULT_MAX_FILE_BYTES, doc="largest file attached to a contact")
    max_import_bytes: int = setting(MAX_IMPORT_BYTES, DEFAULT_MAX_IMPORT_BYTES, doc="largest CSV import")
    max_icon_bytes: int = setting(MAX_ICON_BYTES, DEFAULT_MAX_ICON_BYTES, doc="largest source icon upload")

    def check(self) -> None:
        for variable, value in (
            (MAX_FILE_BYTES, self.max_file_bytes),
            (MAX_IMPORT_BYTES, self.max_import_bytes),
            (MAX_ICON_BYTES, self.max_icon_bytes),
        ):
            if value < 1:
                raise SettingsError(f"{variable} must be a positive number of bytes, got {value}")
        if not str(self.storage_dir).strip():
            raise SettingsError("CONTACTS_STORAGE_DIR must name a folder")

    @property
    def imports_dir(self) -> Path:
        """Where an uploaded CSV waits for the worker that imports it."""
        return self.storage_dir / "imports"
