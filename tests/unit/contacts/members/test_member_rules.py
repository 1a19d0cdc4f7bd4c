"""Who may change which member, and that a workspace never loses its last active admin."""

from __future__ import annotations

import pytest

from crm_contacts.members import rules
from crm_platform.context import Caller, require_admin
from crm_platform.errors import Forbidden

ADMIN = Caller(workspace_id="w", user_id="admin-1", role="admin")
AGENT = Caller(workspace_id="w", user_id="agent-1", role="agent")


def test_agents_are_refused_admin_actions_and_admins_are_not() -> None:
    require_admin(ADMIN, "add members")
    with pytest.raises(Forbidden, match="only admins can add members"):
        require_admin(AGENT, "add members")


def test_member_may_change_their_own_name_and_signature() -> None:
    rules.check_may_edit(AGENT, "agent-1", ["name", "signature"])


@pytest.mark.parametrize("field", ["role", "email", "active"])
def test_member_may_not_change_their_own_role_email_or_activity(field: str) -> None:
    with pytest.raises(Forbidden, match=field):
        rules.check_may_edit(AGENT, "agent-1", ["name", field])


def test_agent_may_not_change_another_member() -> None:
    with pytest.raises(Forbidden):
        rules.check_may_edit(AGENT, "agent-2", ["name"])


def test_admin_may_change_anything_of_anyone() -> None:
    rules.check_may_edit(ADMIN, "agent-2", ["name", "email", "role", "signature", "active"])


def test_unknown_role_is_refused_on_role() -> None:
    error = rules.check_role("owner")

    assert error is not None and (error.field, error.code) == ("role", "invalid_role")
    assert rules.check_role("agent") is None


def test_removing_the_only_active_admin_leaves_none() -> None:
    assert rules.leaves_no_admin(active_admin_ids=["a"], member_id="a", still_admin=False)
    assert not rules.leaves_no_admin(active_admin_ids=["a", "b"], member_id="a", still_admin=False)
    assert not rules.leaves_no_admin(active_admin_ids=["a"], member_id="a", still_admin=True)
