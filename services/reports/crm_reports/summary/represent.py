"""How the summary is shown: its JSON (the API)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any


def summary(start: datetime, end: datetime, counts: Mapping[str, int]) -> dict[str, Any]:
    return {"from": start.isoformat(), "to": end.isoformat(), **counts}
