"""Which services are installed here: each service's package declares itself under the ``crm.services``
entry point group (``<name> = crm_<name>.app:SERVICE``), so the library knows no service by name.

``names()`` reads only the installed distributions' metadata (no service is imported); ``specs()`` loads
each service's ``ServiceSpec``. Everything a service is called in settings derives from its name
(``variable``): ``<NAME>_DATABASE_URL``, ``<NAME>_SERVICE_KEY``, ``CRM_<NAME>_GRPC_TARGET``.
"""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crm_platform.service import ServiceSpec

GROUP = "crm.services"
# A service's name is a path segment (/v1/<name>), a queue, a database suffix and a variable prefix.
NAME = re.compile(r"[a-z][a-z0-9]*")


def names() -> tuple[str, ...]:
    """The installed services' names, sorted."""
    return tuple(sorted({entry.name for entry in entry_points(group=GROUP)}))


def specs() -> dict[str, ServiceSpec]:
    """Every installed service's spec, by name (sorted); an entry whose spec has another name is refused."""
    found = {}
    for entry in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        if entry.name in found:
            continue
        spec = entry.load()
        if spec.name != entry.name or not NAME.fullmatch(spec.name):
            raise RuntimeError(
                f"entry point {entry.name} = {entry.value} in {GROUP} must name a ServiceSpec called "
                f"{entry.name!r} (lower-case letters and digits), got {spec.name!r}"
            )
        found[entry.name] = spec
    return found


def variable(service: str, suffix: str) -> str:
    """The name of a service's own setting, e.g. ``variable("billing", "DATABASE_URL")`` -> BILLING_DATABASE_URL."""
    return f"{service.upper()}_{suffix}"


def grpc_target_variable(service: str) -> str:
    """Where the service's gRPC server is found, as the processes that call it are told."""
    return f"CRM_{service.upper()}_GRPC_TARGET"
