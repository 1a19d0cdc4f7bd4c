"""Subjects: the reply and forward prefixes mail clients add, in the languages our customers write in, and the
ticket reference the outbound side puts in a subject (``[#2e3f4a5b]``, ``[#1234]``)."""

from __future__ import annotations

import re
import unicodedata

# Re (every language), Fwd/Fw, Spanish RV (reenviado) and Res/Enc (Portuguese), Italian Rif/R/I, German AW/WG,
# Nordic SV/VS/VB/VL/Antw, Dutch Antw/Doorst, French TR/REF, Polish Odp/PD, Turkish YNT/ILT, Greek ΑΠ/ΣΧΕΤ,
# each optionally numbered (Re[2]:, Re^2:, RE(3):) and followed by ':' or a full-width colon.
_PREFIX = re.compile(
    r"^\s*(?:re|fwd?|rv|res|enc|rif|r|i|aw|wg|sv|vs|vb|vl|antw|doorst|tr|ref|odp|pd|ynt|ilt|ap|απ|σχετ|回复|转发)"
    r"\s*(?:\[\d+\]|\^\d+|\(\d+\))?\s*[:\uff1a]\s*",
    re.IGNORECASE,
)
# Tags clients and gateways put in front: [EXTERNAL], [EXT], [SPAM], [Externo], *EXTERNAL*
_TAG = re.compile(r"^\s*(?:\[(?:external|ext|externo|spam|posible spam|possible spam)\]|\*external\*)\s*", re.I)
TICKET_REF = re.compile(r"\[#([A-Za-z0-9]{1,36})\]")
_EMPTY = {"(no subject)", "(sin asunto)", "no subject", "sin asunto"}
MAX_PREFIXES = 50  # "Re: " a thousand times is still one subject, and the loop stays short


def strip_prefixes(subject: str) -> str:
    """``RE: Fwd: RV: [EXTERNAL] Hola`` -> ``Hola``; the subject's own text is untouched."""
    text = subject
    for _ in range(MAX_PREFIXES):
        stripped = _TAG.sub("", _PREFIX.sub("", text, count=1), count=1)
        if stripped == text:
            break
        text = stripped
    return text.strip()


def normalise_subject(subject: str) -> str:
    """The key two subjects of one conversation share: prefixes, tags and the ticket reference gone, case and
    spacing folded, Unicode composed. Empty for an empty or placeholder subject (never a thread key)."""
    text = TICKET_REF.sub(" ", strip_prefixes(subject))
    text = strip_prefixes(text)
    text = " ".join(unicodedata.normalize("NFC", text).casefold().split())
    return "" if text in _EMPTY else text


def ticket_refs(subject: str) -> tuple[str, ...]:
    """The ticket references in a subject, in order: ``[#1234] Re: [#2e3f4a5b]`` -> ("1234", "2e3f4a5b")."""
    return tuple(dict.fromkeys(match.lower() for match in TICKET_REF.findall(subject)))
