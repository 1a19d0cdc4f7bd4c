"""The soft-bounce counter of an address: soft bounces in a row, reset by a hard outcome (the limit-th turns the
address off: ``rules.bounce_outcome``)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, delete
from sqlalchemy.dialects import postgresql, sqlite

from crm_mailer.inbound.models import SoftBounceRow
from crm_platform.db import UnitOfWork, utcnow


def count_soft_bounce(uow: UnitOfWork, workspace_id: str, address: str) -> int:
    """Add a soft bounce to the address's counter (``INSERT ... ON CONFLICT DO UPDATE SET in_a_row = in_a_row +
    1``) and return its count, this one included: two messages processed side by side about one address each add
    theirs (no read-modify-write to lose one)."""
    connection = uow.session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    table = SoftBounceRow.__table__
    statement = dialect.insert(table).values(workspace_id=workspace_id, address=address, in_a_row=1, last_at=utcnow())
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.workspace_id, table.c.address],
        set_={"in_a_row": table.c.in_a_row + 1, "last_at": statement.excluded.last_at},
    ).returning(table.c.in_a_row)
    return int(connection.execute(statement).scalar_one())


def reset_soft_bounces(uow: UnitOfWork, workspace_id: str, address: str) -> None:
    """A hard outcome resets the address's count of soft bounces in a row."""
    table = cast(Table, SoftBounceRow.__table__)
    uow.session.connection().execute(
        delete(table).where(table.c.workspace_id == workspace_id, table.c.address == address)
    )
