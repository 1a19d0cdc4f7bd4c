"""Alembic wiring shared by every service: one env.py and template here, each service's revisions in
its own ``migrations/versions`` folder (a branch labelled with the service's name), applied to the service's
own database beside the ``platform`` branch here (``alembic/versions``), which creates the tables every
service has (outbox, processed events, idempotency keys) once for all of them.

Tables some services share are opt-in branches here too, each in a folder of its own under ``alembic/``:
a service runs one when its metadata declares the tables (``opt_in``), e.g. the ``visibility`` branch of
``crm_platform.visibility``'s copy, which tickets, conversations and the mailer keep, and the ``attachments``
branch of ``crm_platform.attachments.store``'s files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

from crm_platform.service import ServiceSpec

_HERE = Path(__file__).parent / "alembic"
PLATFORM_BRANCH = "platform"
# The opt-in shared branches, each a version folder under alembic/ named as its branch label.
SHARED_BRANCHES = ("visibility", "attachments")
_OPTED_IN = "crm.shared_branches"  # key of MetaData.info: the shared branches a service's tables need


def opt_in(metadata: MetaData, branch: str) -> None:
    """Declare that ``metadata`` holds the tables of the shared ``branch``: its service migrates it too."""
    if branch not in SHARED_BRANCHES:
        raise ValueError(f"no shared migration branch {branch!r}; there are {', '.join(SHARED_BRANCHES)}")
    metadata.info.setdefault(_OPTED_IN, set()).add(branch)


def branches(spec: ServiceSpec) -> tuple[str, ...]:
    """The shared branches the service runs beside its own: the platform's, then those it opted in to."""
    opted = spec.metadata.info.get(_OPTED_IN, set())
    return (PLATFORM_BRANCH, *(branch for branch in SHARED_BRANCHES if branch in opted))


def for_dialect(dialect_name: str) -> Callable[..., bool]:
    """An Alembic ``include_object`` hook leaving out what a model declares for other backends only
    (``Index(...).ddl_if(dialect="postgresql")``), so SQLite is not told a PostgreSQL-only index is missing."""

    def include_object(obj: Any, _name: Any, _type: Any, _reflected: Any, _compare_to: Any) -> bool:
        ddl_if = getattr(obj, "_ddl_if", None)
        if ddl_if is None or ddl_if.dialect is None:
            return True
        dialects = (ddl_if.dialect,) if isinstance(ddl_if.dialect, str) else tuple(ddl_if.dialect)
        return dialect_name in dialects

    return include_object


def config(spec: ServiceSpec, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    shared = [_HERE / ("versions" if branch == PLATFORM_BRANCH else branch) for branch in branches(spec)]
    locations = (spec.migrations_dir / "versions", *shared)
    cfg.set_main_option("version_locations", os.pathsep.join(str(location) for location in locations))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["crm.metadata"] = spec.metadata
    cfg.attributes["crm.database_url"] = database_url
    return cfg


def upgrade(spec: ServiceSpec, database_url: str, revision: str = "heads") -> None:
    """To ``heads`` (the service's branch and the shared ones it runs) unless a revision is named."""
    command.upgrade(config(spec, database_url), revision)


def downgrade(spec: ServiceSpec, database_url: str, revision: str) -> None:
    command.downgrade(config(spec, database_url), revision)


def revision(spec: ServiceSpec, database_url: str, message: str) -> None:
    """Autogenerate a revision from the difference between the models and the database."""
    command.revision(config(spec, database_url), message=message, autogenerate=True, head=f"{spec.name}@head")
