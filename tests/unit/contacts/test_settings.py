"""The contacts service's own settings (CONTACTS_*) are declared once and checked when a process starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_contacts.app import SERVICE as CONTACTS
from crm_contacts.settings import ContactsSettings
from crm_platform.service import bootstrap
from crm_platform.settings import SettingsError, load, read_declared


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "CONTACTS_DATABASE_URL": f"sqlite:///{tmp_path}/contacts.db",
        "CRM_LOCAL_BUS_URL": f"sqlite:///{tmp_path}/bus.db",
        "CRM_JWT_SECRET": "unit-tests-only-secret-0123456789abcdef",
        **extra,
    }


def test_unset_settings_keep_their_defaults(tmp_path: Path) -> None:
    settings = read_declared(ContactsSettings, load("contacts", env(tmp_path)))

    assert settings.storage_dir == Path("./var/contacts-files")
    assert settings.imports_dir == Path("./var/contacts-files/imports")
    assert (settings.max_file_bytes, settings.max_import_bytes, settings.max_icon_bytes) == (
        25 * 1024 * 1024,
        32 * 1024 * 1024,
        64 * 1024,
    )


def test_the_contacts_runtime_carries_its_settings_read_from_the_environment(tmp_path: Path) -> None:
    rt = bootstrap(
        CONTACTS,
        load(
            "contacts", env(tmp_path, CONTACTS_STORAGE_DIR=str(tmp_path / "files"), CONTACTS_MAX_FILE_BYTES="1048576")
        ),
    )
    try:
        assert isinstance(rt.service_settings, ContactsSettings)
        assert rt.service_settings.storage_dir == tmp_path / "files"
        assert rt.service_settings.max_file_bytes == 1048576
    finally:
        rt.close()


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        ("CONTACTS_MAX_FILE_BYTES", "25MB", "CONTACTS_MAX_FILE_BYTES must be a number, got '25MB'"),
        ("CONTACTS_MAX_FILE_BYTES", "0", "CONTACTS_MAX_FILE_BYTES must be a positive number of bytes, got 0"),
        ("CONTACTS_MAX_IMPORT_BYTES", "-5", "CONTACTS_MAX_IMPORT_BYTES must be a positive number of bytes"),
        ("CONTACTS_MAX_ICON_BYTES", "lots", "CONTACTS_MAX_ICON_BYTES must be a number"),
    ],
)
def test_a_bad_value_stops_the_process_at_start_naming_the_variable(
    tmp_path: Path, variable: str, raw: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        bootstrap(CONTACTS, load("contacts", env(tmp_path, **{variable: raw})))


def test_the_spec_declares_them() -> None:
    assert CONTACTS.settings is ContactsSettings
