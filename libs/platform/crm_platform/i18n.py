"""Problem messages in the caller's language: gettext catalogs read with Babel, and which language to use.

Messages are English msgids in the code (an error's ``detail`` template, its class ``title``, a field
error's ``message``); each package keeps its translations in ``<package>/locale/<lang>/LC_MESSAGES/
messages.po``. The ``.po`` files are compiled in memory the first time a language is needed (Babel's
``read_po`` and ``write_mo``, a few milliseconds), so a fresh clone and an installed wheel need no build
step and no ``.mo`` file is ever stale. English needs no catalog: the msgids are the English text.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Mapping
from gettext import NullTranslations
from pathlib import Path
from typing import Any

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from crm_platform.errors import Phrase, Word, fill

DEFAULT_LOCALE = "en"
LOCALES = ("en", "es")
PLATFORM_LOCALE_DIR = Path(__file__).resolve().parent / "locale"
CATALOG = "messages.po"


def catalog_path(locale_dir: Path, locale: str) -> Path:
    return locale_dir / locale / "LC_MESSAGES" / CATALOG


def negotiate(preferred: Iterable[str]) -> str | None:
    """The first of ``preferred`` (``es-ES``, ``en``, ...) we have messages in, if any."""
    wanted = [tag for tag in preferred if tag and tag != "*"]
    return negotiate_locale(wanted, list(LOCALES), sep="-") if wanted else None


@functools.cache
def translations(locale: str, locale_dirs: tuple[Path, ...]) -> NullTranslations:
    """``locale``'s catalog from each folder, the first folder's entries winning (read once per process)."""
    found: NullTranslations | None = None
    for folder in locale_dirs if locale != DEFAULT_LOCALE else ():
        path = catalog_path(folder, locale)
        if not path.is_file():
            continue
        with path.open("rb") as po:
            catalog = read_po(po, locale=locale)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)  # fuzzy entries are left out: an unreviewed translation is not shown
        compiled.seek(0)
        loaded = Translations(compiled)
        if found is None:
            found = loaded
        else:
            found.add_fallback(loaded)
    return found or NullTranslations()


class Translator:
    """Renders English msgid templates in one language, from the given catalog folders."""

    def __init__(self, locale: str, locale_dirs: Iterable[Path]) -> None:
        self.locale = locale
        self._catalog = translations(locale, tuple(locale_dirs))

    def __call__(self, template: str, params: Mapping[str, Any] | None = None) -> str:
        if isinstance(template, Phrase):  # a message passed on as a plain string still knows its template
            passed_on = template
            template, params = passed_on.template, {**passed_on.params, **(params or {})}
        translated = {k: self._catalog.gettext(v) if isinstance(v, Word) else v for k, v in (params or {}).items()}
        return fill(self._catalog.gettext(template), translated)
