"""Members' uploads wait as drafts of one member on one conversation until a message names them."""

from __future__ import annotations

import pytest

from crm_conversations.attachments import rules
from crm_platform.attachments.rules import refuse_executable
from crm_platform.errors import InvalidInput


def test_a_draft_belongs_to_one_member_on_one_conversation() -> None:
    mine = rules.draft_owner("conversation-1", "luis")
    assert mine == rules.draft_owner("conversation-1", "luis")
    assert mine != rules.draft_owner("conversation-1", "eva")
    assert mine != rules.draft_owner("conversation-2", "luis")
    assert rules.is_draft(mine) and len(mine) <= 64  # the store's owner_id column


def test_a_messages_id_is_not_a_draft() -> None:
    assert not rules.is_draft("0b7e2b1c-6c57-4c8e-9a0e-1b2c3d4e5f60")
    assert not rules.is_draft(None)


def test_an_executable_head_is_refused_and_a_document_is_not() -> None:
    with pytest.raises(InvalidInput) as refused:
        refuse_executable(b"MZ\x90\x00" + b"\x00" * 60)
    assert [(e.field, e.code) for e in refused.value.errors] == [("file", "executable")]
    refuse_executable(b"%PDF-1.4\n")
