"""Reply, bounce and unsubscribe tokens: signed, compact, verifiable with the key alone."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from crm_mailer.inbound.tokens import token_in
from crm_mailer.outbound import tokens
from crm_mailer.outbound.tokens import TokenKey
from crm_platform.ids import new_id
from crm_platform.settings import SettingsError

KEY = TokenKey(b"unit-tests-only-token-key-0123456789abcdef")
OTHER_KEY = TokenKey(b"another-key-another-key-another-key-0000")
WORKSPACE, THREAD = new_id(), new_id()


@pytest.mark.parametrize("kind", tokens.KINDS)
def test_a_token_round_trips_through_the_address_the_inbound_side_parses(kind: str) -> None:
    address = tokens.address(KEY, kind, "in.acme.test", workspace_id=WORKSPACE, subject_id=THREAD)

    token = token_in(address, kind)

    assert token is not None and len(address.split("@")[0]) <= 64  # fits a local part
    assert tokens.verify(KEY, kind, token) == tokens.Claims(kind=kind, workspace_id=WORKSPACE, subject_id=THREAD)


def test_a_token_is_not_valid_for_another_kind_nor_under_another_key() -> None:
    token = tokens.sign(KEY, tokens.REPLY, workspace_id=WORKSPACE, subject_id=THREAD)

    assert tokens.verify(KEY, tokens.UNSUBSCRIBE, token) is None
    assert tokens.verify(OTHER_KEY, tokens.REPLY, token) is None


def test_every_altered_character_makes_the_token_invalid() -> None:
    token = tokens.sign(KEY, tokens.BOUNCE, workspace_id=WORKSPACE, subject_id=THREAD)
    for position in range(len(token)):
        swapped = "A" if token[position] != "A" else "B"
        forged = token[:position] + swapped + token[position + 1 :]
        assert tokens.verify(KEY, tokens.BOUNCE, forged) is None, position


@pytest.mark.parametrize("junk", ["", "abc", "x" * 52, "=" * 52, "é" * 52, "reply+abc", "A" * 200])
def test_junk_is_not_a_token(junk: str) -> None:
    assert tokens.verify(KEY, tokens.REPLY, junk) is None


def test_different_threads_get_different_tokens() -> None:
    first = tokens.sign(KEY, tokens.REPLY, workspace_id=WORKSPACE, subject_id=THREAD)

    assert first != tokens.sign(KEY, tokens.REPLY, workspace_id=WORKSPACE, subject_id=new_id())
    assert first != tokens.sign(KEY, tokens.REPLY, workspace_id=new_id(), subject_id=THREAD)


def test_the_key_is_required_in_production_and_derived_from_the_jwt_secret_elsewhere() -> None:
    production: Any = SimpleNamespace(is_production=True, jwt_secret="s" * 40)
    development: Any = SimpleNamespace(is_production=False, jwt_secret="s" * 40)

    with pytest.raises(SettingsError, match="MAILER_TOKEN_KEY"):
        tokens.key_for(None, production)
    with pytest.raises(SettingsError, match="at least 32"):
        tokens.key_for("short", production)
    assert tokens.key_for(None, development) == tokens.key_for(None, development)
    assert tokens.key_for("k" * 32, production).secret == b"k" * 32
