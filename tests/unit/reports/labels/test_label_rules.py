"""What contacts' naming and settings events become: label rows, and a time zone only when it is a real one."""

from __future__ import annotations

from crm.events.v1 import contacts_pb2
from crm_reports.labels import rules


def test_stages_are_kept_under_their_types_key_in_funnel_order() -> None:
    payload = contacts_pb2.FunnelChanged(
        types=[
            contacts_pb2.FunnelType(
                id="t1",
                key="contact",
                name="Contact",
                position=0,
                stages=[
                    contacts_pb2.FunnelStage(id="s1", name="New", position=0),
                    contacts_pb2.FunnelStage(id="s2", name="Won?", position=1),
                ],
            )
        ]
    )
    assert rules.of_funnel(payload) == [
        rules.LabelRow("type", "contact", "Contact"),
        rules.LabelRow("stage", "s1", "New", parent="contact"),
        rules.LabelRow("stage", "s2", "Won?", position=1, parent="contact"),
    ]


def test_a_source_without_an_english_name_is_named_in_spanish() -> None:
    payload = contacts_pb2.SourcesChanged(sources=[contacts_pb2.SourceName(id="x", name_es="Feria", name_en="")])
    assert rules.of_sources(payload) == [rules.LabelRow("source", "x", "Feria", "Feria")]


def test_a_member_without_a_name_is_shown_by_email() -> None:
    payload = contacts_pb2.MemberChanged(member_id="m1", email="ana@example.com")
    assert rules.of_member(payload).name == "ana@example.com"


def test_only_a_known_iana_time_zone_is_taken() -> None:
    def zone(name: str) -> str | None:
        return rules.time_zone_of(contacts_pb2.WorkspaceSettingsChanged(time_zone=name))

    assert zone("America/Bogota") == "America/Bogota"
    assert zone("") is None
    assert zone("Mars/Olympus") is None
    assert zone("../etc/passwd") is None
