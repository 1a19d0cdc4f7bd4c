"""The addresses the SMTP transport sends without parsing (``transport._PLAIN_ADDRESS``) are exactly left as they
are by smtplib's quoting, which parses them with the email package; anything else goes through smtplib."""

from __future__ import annotations

import smtplib

from hypothesis import given
from hypothesis import strategies as st

from crm_mailer.outbound.transport import _PLAIN_ADDRESS

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-"
atoms = st.lists(st.text(ATEXT, min_size=1, max_size=8), min_size=1, max_size=4).map(".".join)
labels = st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8), min_size=1, max_size=4)


@given(local=atoms, domain=labels.map(".".join))
def test_a_plain_address_is_quoted_by_smtplib_as_itself(local: str, domain: str) -> None:
    address = f"{local}@{domain}"

    assert _PLAIN_ADDRESS.fullmatch(address)
    assert smtplib.quoteaddr(address) == f"<{address}>"


@given(st.text(max_size=40))
def test_whatever_matches_is_quoted_by_smtplib_as_itself(address: str) -> None:
    if _PLAIN_ADDRESS.fullmatch(address):
        assert smtplib.quoteaddr(address) == f"<{address}>"


def test_display_names_quoted_local_parts_line_breaks_and_other_scripts_are_not_plain() -> None:
    for address in (
        "Ana <ana@example.com>",
        '"ana smith"@example.com',
        "ana@example.com\r\nRCPT TO:<eve@example.com>",
        "ana@[192.0.2.1]",
        "josé@example.com",
        "ana..b@example.com",
        ".ana@example.com",
        "ana@example..com",
        "",
    ):
        assert not _PLAIN_ADDRESS.fullmatch(address), address
