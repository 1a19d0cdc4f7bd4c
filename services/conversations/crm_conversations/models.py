"""The conversations service's database: one metadata holding every table, the platform's included."""

from sqlalchemy.orm import DeclarativeBase

from crm_platform.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()
