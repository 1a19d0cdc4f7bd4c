"""A create's drafts are written as the rows the ORM would have written: every column, with its default."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts import all_models  # noqa: F401  (every model mapped)
from crm_contacts.record.drafts import DraftContact, DraftEmail, DraftInterest, DraftPhone, DraftTag


def _default(column: Any) -> Any:
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


DRAFTS = [
    DraftContact(workspace_id="w", created_by=None),
    DraftEmail(workspace_id="w", address="ana@example.com"),
    DraftPhone(workspace_id="w", number="+34600000000"),
    DraftTag(workspace_id="w", tag="vip"),
    DraftInterest(workspace_id="w", criteria=[], text=""),
]


@pytest.mark.parametrize("draft", DRAFTS, ids=lambda d: type(d).__name__)
def test_a_drafts_row_has_every_column_of_its_table(draft: Any) -> None:
    assert set(draft.row()) == {column.key for column in type(draft).table.columns}


@pytest.mark.parametrize("draft", DRAFTS, ids=lambda d: type(d).__name__)
def test_a_drafts_unset_columns_hold_the_models_python_defaults(draft: Any) -> None:
    table = type(draft).table
    row = draft.row()
    given = {"id", "workspace_id", "name", "address", "number", "tag", "criteria", "text"}
    for column in table.columns:
        if column.key in given or column.key in ("created_at", "updated_at"):
            continue  # set by the create, or when the row is written
        assert row[column.key] == _default(column), column.key
