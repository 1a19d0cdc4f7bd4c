"""The unit of work: a change and the events it causes commit together or not at all, on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from crm.events.v1 import contacts_pb2
from crm_events import contacts
from crm_platform.db import AlreadyProcessed, Database
from crm_platform.events import unpack
from tests.integration.platform.tiny_service import NOTE_ADDED, Note, Tag, count, new_id, tiny_database


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = tiny_database(database_url)
    yield db
    db.dispose()


def created(name: str) -> contacts_pb2.ContactCreated:
    return contacts_pb2.ContactCreated(contact_id=new_id(), name=name)


def test_a_committed_change_and_its_outbox_row_are_stored_together(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.session.add(Note(id=new_id(), workspace_id="ws-1", text="hello"))
        event_id = uow.emit(NOTE_ADDED, created("Ada"), workspace_id="ws-1")
        uow.commit()

    with database.engine.connect() as connection:
        row = connection.execute(select(database.outbox)).one()
    assert count(database, Note.__table__) == 1
    assert (row.event_id, row.event_type, row.workspace_id) == (event_id, "tiny.note.added", "ws-1")
    assert row.published_at is None and row.unroutable is False
    assert unpack(row.body).producer == "tiny"


def test_a_service_emitting_another_services_event_is_refused_and_nothing_is_stored(database: Database) -> None:
    with pytest.raises(ValueError, match=r"tiny may not publish contacts\.contact\.created"):
        with database.unit_of_work() as uow:
            uow.emit(contacts.CONTACT_CREATED, created("Ada"), workspace_id="ws-1")
            uow.commit()

    assert count(database, database.outbox) == 0


def test_leaving_without_commit_stores_neither_the_change_nor_its_outbox_row(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.session.add(Note(id=new_id(), workspace_id="ws-1", text="hello"))
        uow.session.flush()
        uow.emit(NOTE_ADDED, created("Ada"), workspace_id="ws-1")

    assert count(database, Note.__table__) == 0
    assert count(database, database.outbox) == 0


def test_an_error_after_emitting_rolls_back_the_outbox_row(database: Database) -> None:
    with pytest.raises(RuntimeError), database.unit_of_work() as uow:
        uow.session.add(Note(id=new_id(), workspace_id="ws-1", text="hello"))
        uow.emit(NOTE_ADDED, created("Ada"), workspace_id="ws-1")
        raise RuntimeError("the use case failed half-way")

    assert count(database, Note.__table__) == 0
    assert count(database, database.outbox) == 0


def test_an_explicit_rollback_discards_what_was_emitted_before_it(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.emit(NOTE_ADDED, created("discarded"), workspace_id="ws-1")
        uow.rollback()
        kept = uow.emit(NOTE_ADDED, created("kept"), workspace_id="ws-1")
        uow.commit()

    with database.engine.connect() as connection:
        assert list(connection.scalars(select(database.outbox.c.event_id))) == [kept]


def test_objects_read_in_a_unit_of_work_stay_readable_after_the_block(database: Database) -> None:
    note_id = new_id()
    with database.unit_of_work() as uow:
        uow.session.add(Note(id=note_id, workspace_id="ws-1", text="hello", tags=[Tag(id=new_id(), name="vip")]))
        uow.commit()
        written = uow.session.get(Note, note_id)

    with database.unit_of_work() as uow:
        read = uow.session.get(Note, note_id)
    with database.unit_of_work() as uow:
        listed = list(uow.session.scalars(select(Note)))

    assert written is not None and written.text == "hello"
    assert read is not None and (read.id, read.workspace_id, read.text) == (note_id, "ws-1", "hello")
    assert [tag.name for tag in read.tags] == ["vip"]
    assert [note.text for note in listed] == ["hello"]


def test_a_unit_of_work_can_be_entered_again_after_it_closed(database: Database) -> None:
    uow = database.unit_of_work()
    with uow:
        uow.session.add(Note(id=new_id(), workspace_id="ws-1", text="first"))
        uow.commit()
    with uow:
        uow.session.add(Note(id=new_id(), workspace_id="ws-1", text="second"))
        uow.commit()

    assert count(database, Note.__table__) == 2


def test_recording_the_same_event_twice_for_one_consumer_raises_already_processed(database: Database) -> None:
    event_id = new_id()
    with database.unit_of_work() as uow:
        uow.mark_processed(consumer="reports", event_id=event_id, event_type="t.x.y", workspace_id="ws-1")
        uow.commit()

    with pytest.raises(AlreadyProcessed), database.unit_of_work() as uow:
        uow.mark_processed(consumer="reports", event_id=event_id, event_type="t.x.y", workspace_id="ws-1")
        uow.commit()
    with database.unit_of_work() as uow:
        uow.mark_processed(consumer="mailer", event_id=event_id, event_type="t.x.y", workspace_id="ws-1")
        uow.commit()

    table = database.processed_events
    handled_by = count(database, table, table.c.event_id == event_id)
    assert handled_by == 2  # one row per consumer: the same event is new to another consumer


def test_the_database_answers_a_ping(database: Database) -> None:
    database.ping()


def test_writes_sent_in_a_pipeline_are_committed_with_the_rest(database: Database) -> None:
    note_id = new_id()
    with database.unit_of_work() as uow:
        uow.session.add(Note(id=note_id, workspace_id="ws-1", text="added before"))
        with uow.pipeline():
            uow.session.connection().execute(insert(Tag.__table__), {"id": new_id(), "note_id": note_id, "name": "a"})
            uow.session.connection().execute(insert(Tag.__table__), {"id": new_id(), "note_id": note_id, "name": "b"})
            uow.emit(NOTE_ADDED, created("Ada"), workspace_id="ws-1")
        assert uow.session.execute(select(func.count()).select_from(Tag.__table__)).scalar_one() == 2
        uow.commit()

    assert count(database, Note.__table__) == 1
    assert count(database, Tag.__table__) == 2
    assert count(database, database.outbox) == 1


def test_a_constraint_broken_in_a_pipeline_raises_and_commits_nothing(database: Database) -> None:
    with pytest.raises(IntegrityError), database.unit_of_work() as uow:
        with uow.pipeline():
            uow.emit(NOTE_ADDED, created("Ada"), workspace_id="ws-1")
            row = {"id": "same-id", "workspace_id": "ws-1", "text": "twice"}
            uow.session.connection().execute(insert(Note.__table__), row)
            uow.session.connection().execute(insert(Note.__table__), row)
        uow.commit()

    assert count(database, Note.__table__) == 0
    assert count(database, database.outbox) == 0


def test_what_is_added_to_the_session_inside_a_pipeline_is_flushed_after_it(database: Database) -> None:
    with database.unit_of_work() as uow:
        with uow.pipeline():
            uow.session.add(Note(id=new_id(), workspace_id="ws-1", text="added inside"))
            uow.emit(NOTE_ADDED, created("Ada"), workspace_id="ws-1")
        uow.commit()

    assert count(database, Note.__table__) == 1
    assert count(database, database.outbox) == 1


def test_rows_inserted_with_core_statements_commit_with_the_change_and_roll_back_without_it(
    database: Database,
) -> None:
    notes = [Note(id=new_id(), workspace_id="ws-1", text=f"note {n}") for n in range(3)]
    with database.unit_of_work() as uow, uow.pipeline():
        uow.insert(Note, notes)  # new ORM objects: one multi-row INSERT
        uow.insert(Tag.__table__, {"id": new_id(), "note_id": notes[0].id, "name": "vip"})  # a dict, on the table
        uow.insert(Tag, [])  # nothing to write
    assert count(database, Note.__table__) == 0  # left without commit: rolled back

    with database.unit_of_work() as uow, uow.pipeline():
        uow.insert(Note, notes)
        uow.insert(Tag.__table__, {"id": new_id(), "note_id": notes[0].id, "name": "vip"})
        uow.emit(NOTE_ADDED, created("Ada"), workspace_id="ws-1")
        uow.commit()

    assert count(database, Note.__table__) == 3 and count(database, Tag.__table__) == 1
    assert count(database, database.outbox) == 1
    with database.unit_of_work() as uow:
        assert sorted(uow.session.scalars(select(Note.text))) == ["note 0", "note 1", "note 2"]


def test_a_core_insert_breaking_a_constraint_fails_the_unit_of_work(database: Database) -> None:
    note = Note(id=new_id(), workspace_id="ws-1", text="hello")
    with pytest.raises(IntegrityError), database.unit_of_work() as uow:
        uow.insert(Note, note)
        uow.insert(Note, {"id": note.id, "workspace_id": "ws-1", "text": "the same id"})
        uow.commit()

    assert count(database, Note.__table__) == 0
