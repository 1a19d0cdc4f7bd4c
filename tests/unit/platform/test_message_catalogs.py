"""Every problem message the code can show has a reviewed Spanish translation with the same placeholders,
and the check notices a message someone adds without one."""

from __future__ import annotations

import string
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from crm_contacts.contacts import duplicates
from crm_contacts.record import emailstatus
from crm_platform.errors import Conflict, NotFound
from crm_platform.i18n import PLATFORM_LOCALE_DIR, Translator, catalog_path
from crm_platform.i18n_extract import messages_in

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = [ROOT / "libs/platform/crm_platform", *sorted(p.parent for p in ROOT.glob("services/*/crm_*/__init__.py"))]


def _catalog(locale_dir: Path) -> Catalog:
    path = catalog_path(locale_dir, "es")
    if not path.is_file():
        return Catalog(locale="es")
    with path.open("rb") as po:
        return read_po(po, locale="es")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def untranslated(package: Path, sources: Iterable[tuple[str, str]]) -> list[str]:
    """Where a msgid of ``sources`` (name, code) lacks a usable Spanish translation in ``package``'s catalogs."""
    catalogs = [_catalog(package / "locale"), _catalog(PLATFORM_LOCALE_DIR)]
    found = []
    for name, source in sources:
        for line, msgid in messages_in(source):
            entry = next((m for c in catalogs if (m := c.get(msgid)) is not None and m.string), None)
            if entry is None or entry.fuzzy:
                found.append(f"{name}:{line}: {msgid!r} has no Spanish translation")
            elif not _placeholders(entry.string) <= _placeholders(msgid):  # one it may leave out, none it may add
                found.append(f"{name}:{line}: {msgid!r} is translated with a placeholder the code does not fill")
    return found


def _sources(package: Path) -> list[tuple[str, str]]:
    return [
        (str(path.relative_to(ROOT)), path.read_text())
        for path in sorted(package.rglob("*.py"))
        if "migrations" not in path.parts
    ]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_every_problem_message_of_the_package_has_a_spanish_translation(package: Path) -> None:
    assert untranslated(package, _sources(package)) == [], "run `make messages` and translate the new entries"


def test_a_new_message_without_translation_is_caught() -> None:
    source = 'def f():\n    raise NotFound("the widget is gone")\n'
    fstring = 'def f(x):\n    raise NotFound(f"widget {x} is gone")\n'  # not a msgid: it cannot be translated

    assert untranslated(PACKAGES[0], [("new.py", source)]) == [
        "new.py:2: 'the widget is gone' has no Spanish translation"
    ]
    assert untranslated(PACKAGES[0], [("fstring.py", fstring)]) == []


def test_the_extraction_finds_titles_field_messages_phrases_and_words() -> None:
    source = """
class Gone(Conflict):
    title = "Gone for good"
def f(session):
    FieldError("name", "too plain", "plain")
    phrase("{a} then {b}", a=1, b=2)
    get_in_workspace(session, Model, "x", workspace_id="w", what="gadget")
    problem(410, "Went away", code="gone", detail="it left")
"""
    assert sorted(m for _, m in messages_in(source)) == sorted(
        ["Gone for good", "too plain", "{a} then {b}", "gadget", "Went away", "it left"]
    )


def test_the_thirty_day_reactivation_refusal_reads_in_spanish() -> None:
    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    refusal = Conflict(emailstatus.refusal_detail("ana@example.com", when))
    spanish = Translator("es", [PACKAGES[1] / "locale", PLATFORM_LOCALE_DIR])

    assert refusal.detail.startswith("ana@example.com was reactivated less than 30 days ago")
    assert spanish(refusal.template, refusal.params) == (
        "ana@example.com se reactivó hace menos de 30 días; podrá reactivarse de nuevo a partir del 2026-03-01 "
        "(2026-03-01T09:30:00+00:00)"
    )
    assert spanish(Conflict.title) == "Conflicto"


def test_nobody_responsible_and_not_found_words_are_translated_too() -> None:
    spanish = Translator("es", [PACKAGES[1] / "locale", PLATFORM_LOCALE_DIR])
    refusal = duplicates.problem(duplicates.Duplicate("c1", "Ana Ruiz", None, None, "email", "ana@example.com"))
    missing = NotFound("{what} {id} not found", params={"what": duplicates.Word("contact type"), "id": "t1"})

    assert refusal.detail == "Email in use by: Ana Ruiz; Responsible: nobody"
    assert spanish(refusal.template, refusal.params) == "Email en uso por: Ana Ruiz; Responsable: nadie"
    assert spanish(missing.template, missing.params) == "No se encuentra el tipo de contacto t1"
