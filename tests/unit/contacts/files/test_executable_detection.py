"""Executables are recognised by their first bytes, whatever their name; names are made safe to send back."""

from __future__ import annotations

import pytest

from crm_contacts.files import rules

# The first bytes of real files of each format, as their toolchains write them.
ELF_X86_64 = bytes.fromhex("7f454c4602010100000000000000000003003e00010000004010000000000000")
ELF_ARM32 = bytes.fromhex("7f454c4601010100000000000000000002002800010000000000000000000000")
PE_WINDOWS = bytes.fromhex("4d5a90000300000004000000ffff0000b800000000000000400000000000000000")
MACH_O_64_ARM = bytes.fromhex("cffaedfe0c000001000000000200000011000000")
MACH_O_32 = bytes.fromhex("cefaedfe070000000300000002000000")
MACH_O_UNIVERSAL = bytes.fromhex("cafebabe0000000201000007000000030000400000")
JAVA_CLASS = bytes.fromhex("cafebabe0000003d000a0a000200030700040c0005")
SHELL_SCRIPT = b"#!/usr/bin/env bash\nset -e\n"
WINDOWS_SHORTCUT = bytes.fromhex("4c0000000114020000000000c000000000000046" + "9b00080020000000")

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452")
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
ZIP_DOCX = bytes.fromhex("504b0304140006000800000021000000000000")
GZIP = bytes.fromhex("1f8b0800000000000003")
UTF8_TEXT = "Presupuesto: 1.200 € — gracias\n".encode()


@pytest.mark.parametrize(
    ("head", "word"),
    [
        (ELF_X86_64, "ELF"),
        (ELF_ARM32, "ELF"),
        (PE_WINDOWS, "Windows"),
        (MACH_O_64_ARM, "Mach-O"),
        (MACH_O_32, "Mach-O"),
        (MACH_O_UNIVERSAL, "Mach-O"),
        (JAVA_CLASS, "Java"),
        (SHELL_SCRIPT, "#!"),
        (WINDOWS_SHORTCUT, "shortcut"),
    ],
)
def test_executables_are_recognised_by_their_first_bytes(head: bytes, word: str) -> None:
    kind = rules.executable_kind(head[: rules.HEAD_BYTES])

    assert kind is not None and word in kind


@pytest.mark.parametrize("head", [PDF, PNG, JPEG, ZIP_DOCX, GZIP, UTF8_TEXT, b"", b"M", b"#", b"\x7fEL"])
def test_documents_images_archives_and_text_are_not_executables(head: bytes) -> None:
    assert rules.executable_kind(head) is None


def test_enough_bytes_are_read_to_tell_the_longest_signature() -> None:
    assert rules.HEAD_BYTES == len(WINDOWS_SHORTCUT[:20])
    assert rules.executable_kind(WINDOWS_SHORTCUT[:19]) is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Presupuesto año.pdf", "Presupuesto año.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\contrato.docx", "contrato.docx"),
        ('say "hi".txt', "say 'hi'.txt"),
        ("line\r\nX-Injected: 1.txt", "line X-Injected: 1.txt"),
        ("tab\there\x00.txt", "tab here .txt"),
        (".hidden", "hidden"),
        ("", "file"),
        (None, "file"),
        ("../", "file"),
    ],
)
def test_file_names_lose_folders_control_characters_and_quotes(raw: str | None, clean: str) -> None:
    assert rules.clean_filename(raw) == clean


def test_a_very_long_name_keeps_its_extension() -> None:
    name = rules.clean_filename("a" * 400 + ".pdf")

    assert len(name) == rules.MAX_FILENAME_CHARS
    assert name.endswith("a.pdf")


@pytest.mark.parametrize(
    ("declared", "filename", "stored"),
    [
        ("application/pdf", "x.bin", "application/pdf"),
        ("Image/PNG; charset=binary", "x", "image/png"),
        ("application/octet-stream", "notes.txt", "text/plain"),
        (None, "photo.jpg", "image/jpeg"),
        ("not a type", "data", "application/octet-stream"),
        ("text/html\r\nX: y", "page", "application/octet-stream"),
    ],
)
def test_the_stored_type_is_the_declared_one_when_well_formed_else_guessed(
    declared: str | None, filename: str, stored: str
) -> None:
    assert rules.content_type_for(declared, filename) == stored
