"""The corpus of real-world shaped messages under tests/fixtures/mail, read once per test session."""

from __future__ import annotations

from functools import cache
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[3] / "fixtures" / "mail"


def names() -> list[str]:
    return sorted(path.name for path in CORPUS.glob("*.eml"))


@cache
def raw(name: str) -> bytes:
    return (CORPUS / name).read_bytes()
