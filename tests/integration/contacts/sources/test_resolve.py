"""The lookups other features use when a contact is written: its type and stage, and its source."""

from __future__ import annotations

import pytest

from crm_contacts.funnel import service as funnel
from crm_contacts.sources import service as sources
from crm_platform.errors import InvalidInput
from tests.integration.contacts.support.config_team import Team


def test_no_type_or_stage_means_the_contact_type_and_its_first_stage(team: Team) -> None:
    with team.api.rt.database.unit_of_work() as uow:
        contact_type, stage = funnel.resolve(uow.session, team.workspace_id)

    assert (contact_type.key, stage.name) == ("contact", "Contact")


def test_type_by_key_or_id_gives_its_first_stage_and_a_stage_alone_gives_its_type(team: Team) -> None:
    with team.api.rt.database.unit_of_work() as uow:
        by_key, first = funnel.resolve(uow.session, team.workspace_id, type_key_or_id="collaborator")
        by_id, _ = funnel.resolve(uow.session, team.workspace_id, type_key_or_id=by_key.id)
        last = funnel.stages_of(uow.session, by_key.id)[-1]
        of_stage, stage = funnel.resolve(uow.session, team.workspace_id, stage_id=last.id)

    assert (by_key.key, first.name, by_id.key) == ("collaborator", "Contact", "collaborator")
    assert (of_stage.key, stage.name) == ("collaborator", "Active")


def test_unknown_or_foreign_type_and_stage_are_field_errors(team: Team, other_team: Team) -> None:
    with team.api.rt.database.unit_of_work() as uow:
        _, foreign_stage = funnel.resolve(uow.session, other_team.workspace_id)
        _, collaborator_stage = funnel.resolve(uow.session, team.workspace_id, type_key_or_id="collaborator")
        cases = [
            ({"type_key_or_id": "investor"}, "type"),
            ({"stage_id": "not-an-id"}, "stage_id"),
            ({"stage_id": foreign_stage.id}, "stage_id"),
            ({"type_key_or_id": "contact", "stage_id": collaborator_stage.id}, "stage_id"),
        ]
        for arguments, field in cases:
            with pytest.raises(InvalidInput) as refused:
                funnel.resolve(uow.session, team.workspace_id, **arguments)  # type: ignore[arg-type]
            assert [e.field for e in refused.value.errors] == [field], arguments


def test_source_defaults_to_manual_and_unknown_ones_are_field_errors(team: Team, other_team: Team) -> None:
    with team.api.rt.database.unit_of_work() as uow:
        manual = sources.resolve(uow.session, team.workspace_id)
        web = sources.resolve(uow.session, team.workspace_id, key="web")
        by_id = sources.resolve(uow.session, team.workspace_id, source_id=web.id)
        foreign = sources.resolve(uow.session, other_team.workspace_id)
        for arguments in ({"source_id": foreign.id}, {"source_id": "nope"}, {"key": "billboard"}):
            with pytest.raises(InvalidInput) as refused:
                sources.resolve(uow.session, team.workspace_id, **arguments)
            assert [e.field for e in refused.value.errors] == ["source_id"]

    assert (manual.key, web.key, by_id.id) == ("manual", "web", web.id)
