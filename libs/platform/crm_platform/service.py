"""What a service declares about itself (ServiceSpec) and what a running process gives it (Runtime).

Each service package exposes one ``SERVICE = ServiceSpec(...)`` under the ``crm.services`` entry point
group; the CLI finds services there, so a container holds only the services installed in it.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData

from crm_platform import bus as bus_module
from crm_platform import metrics
from crm_platform.consumer import Subscriptions
from crm_platform.db import Database, Emitted, UnitOfWork, create_db_engine
from crm_platform.metrics import ServiceMetrics, for_service
from crm_platform.settings import Settings, read_declared

if TYPE_CHECKING:
    import grpc
    from flask_openapi3 import OpenAPI

    from crm_platform.grpc_client import GrpcClients


@dataclass(frozen=True)
class GrpcBinding:
    """A servicer, the generated function that adds it to a server, and who may call each of its methods."""

    service_name: str  # full protobuf name, e.g. crm.contacts.v1.ContactsService
    add_to_server: Callable[[Any, grpc.Server], None]
    servicer: Any
    # The services that may call each method, e.g. {"FindOrCreateContactByEmail": {"mailer", "conversations"}};
    # any other caller, and every caller of a method left out, gets PERMISSION_DENIED.
    callers: Mapping[str, Collection[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ProcessType:
    """A process type of a service's own besides http, grpc and worker (the mailer's ``smtp``).

    ``run`` is ``crm serve <service> <name>``: it serves until SIGTERM. ``embed`` starts the same thing inside
    all-in-one mode's process (on loopback) and returns the function that stops it; None leaves it out there."""

    run: Callable[[Runtime], None]
    embed: Callable[[Runtime], Callable[[], None]] | None = None
    # The variable naming the port it listens on (e.g. MAILER_INBOUND_SMTP_PORT), for development stacks.
    port_variable: str | None = None


BUILTIN_PROCESS_TYPES = ("http", "grpc", "worker")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    metadata: MetaData
    migrations_dir: Path
    register_http: Callable[[OpenAPI, Runtime], None]
    grpc_bindings: Callable[[Runtime], list[GrpcBinding]] = lambda runtime: []
    subscriptions: Subscriptions = field(default_factory=Subscriptions)
    # Long-running loops of the worker process besides the relay and the consumer (e.g. sending mail).
    loops: tuple[Callable[[Runtime, threading.Event], None], ...] = ()
    # Process types of its own, by name (e.g. {"smtp": ProcessType(...)}), next to http, grpc and worker.
    process_types: Mapping[str, ProcessType] = field(default_factory=dict)
    # Extra CLI commands: called with the top-level subparsers.
    cli: Callable[[argparse._SubParsersAction], None] | None = None
    # All-in-one first run: create demo data, return what to show the newcomer (e.g. the workspace id).
    demo_seed: Callable[[Runtime], dict[str, str]] | None = None
    # The service's own settings (<SERVICE>_*): a frozen dataclass of ``settings.setting`` fields, read and
    # checked by ``bootstrap`` so that a process with a missing or malformed one stops at start.
    settings: type | None = None
    # The languages of a workspace, first preferred, for problems of callers who send no Accept-Language.
    workspace_languages: Callable[[Runtime, str], list[str]] | None = None
    # Development stacks on one machine (``crm run``, ``crm up``): where this service's processes listen,
    # as an offset from the stack's base port (http +0, grpc +1, its metrics +2, the worker's metrics +3),
    # chosen once per service so that adding one moves no other; and the settings such a stack gives it
    # (``local_settings(data_folder, smtp_port)``: the SMTP sink's port, or None without one).
    dev_port_offset: int | None = None
    local_settings: Callable[[Path, int | None], Mapping[str, str]] | None = None
    # What the first-run banner shows a newcomer to try: (method, path, JSON body or None) requests.
    demo_requests: tuple[tuple[str, str, str | None], ...] = ()
    # HTTP routes served without a bearer token, as Flask rules (e.g. "/v1/mailer/unsubscribe/<token>"): each
    # must authenticate what it serves itself (a signed token in the path). Still size-limited, and rate-limited
    # per client address with the per-token limit.
    public_http: tuple[str, ...] = ()
    # Called in the transaction of every event the service emits (``Database.on_emit``), e.g. to keep a log.
    on_emit: Callable[[UnitOfWork, Sequence[Emitted]], None] | None = None

    @property
    def locale_dir(self) -> Path:
        """The package's message catalogs (``locale/<lang>/LC_MESSAGES/messages.po``, beside ``migrations/``)."""
        return self.migrations_dir.parent / "locale"

    # Whether a workspace exists, for the check every request passes (crm_platform.workspaces); by default
    # the contacts service, which owns workspaces, is asked over gRPC.
    workspace_lookup: Callable[[Runtime], Callable[[str], bool]] | None = None

    @property
    def queue(self) -> str:
        return bus_module.queue_name(self.name)


@dataclass
class Runtime:
    """Everything a process built from settings: connections are created here, never at import."""

    spec: ServiceSpec
    settings: Settings
    database: Database
    metrics: ServiceMetrics
    grpc: GrpcClients
    service_settings: Any = None  # an instance of ``spec.settings``, when the service declares some

    def connect_bus(self) -> bus_module.Bus:
        return bus_module.connect(
            amqp_url=self.settings.amqp_url,
            local_bus_url=self.settings.local_bus_url,
            retry=bus_module.RetryPolicy(
                max_attempts=self.settings.event_max_attempts,
                base_delay=self.settings.event_retry_base_seconds,
                delivery_limit=self.settings.event_delivery_limit,
            ),
        )

    def close(self) -> None:
        self.grpc.close()
        self.database.dispose()


def bootstrap(spec: ServiceSpec, settings: Settings) -> Runtime:
    from crm_platform.grpc_client import GrpcClients

    service_settings = read_declared(spec.settings, settings) if spec.settings is not None else None
    database = Database(spec.name, create_db_engine(settings.database_url), spec.metadata, on_emit=spec.on_emit)
    metrics.OUTBOX.watch(spec.name, database)
    return Runtime(
        spec=spec,
        settings=settings,
        database=database,
        metrics=for_service(spec.name),
        grpc=GrpcClients(settings),
        service_settings=service_settings,
    )


def discover() -> dict[str, ServiceSpec]:
    """Every service installed in this environment, by name (see ``crm_platform.discovery``)."""
    from crm_platform import discovery

    return discovery.specs()
