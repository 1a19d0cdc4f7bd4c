"""gRPC clients: one lazily created channel per target and process (safe across gunicorn's fork),
a deadline on every call, credentials (a service token, and the end user's token when there is one), and
retries for idempotent reads only."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from typing import Any

import grpc

from crm_platform import context
from crm_platform.errors import InvalidInput, NotFound, Unauthenticated, Unavailable
from crm_platform.service_tokens import SERVICE_TOKEN_METADATA, ServiceTokenMinter
from crm_platform.settings import Settings


def _service_config(service_name: str, idempotent: Sequence[str]) -> str:
    # round_robin: one connection to every address the target resolves to (each pod behind a headless
    # Service, dns:///...), calls spread over them; the default (pick_first) would send all to one pod.
    config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}], "methodConfig": []}
    if idempotent:
        config["methodConfig"].append(
            {
                "name": [{"service": service_name, "method": method} for method in idempotent],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        )
    return json.dumps(config)


def call_metadata(minter: ServiceTokenMinter, audience: str) -> list[tuple[str, str]]:
    """The credentials of a call to ``audience``: the end user's token, forwarded, when the work started from
    their request; otherwise the service token names the workspace the service acts for (an event's)."""
    caller = context.current_caller()
    if caller is not None and caller.token:
        metadata = [(SERVICE_TOKEN_METADATA, minter.token(audience)), ("authorization", f"Bearer {caller.token}")]
    else:
        metadata = [(SERVICE_TOKEN_METADATA, minter.token(audience, caller.workspace_id if caller else None))]
    if (request_id := context.current_request_id()) is not None:
        metadata.append(("x-request-id", request_id))
    return metadata


class Client:
    """Calls one gRPC service with the caller's identity and a deadline; maps failures to domain errors."""

    def __init__(
        self, clients: GrpcClients, target_service: str, stub_class: type, service_name: str, idempotent: Sequence[str]
    ):
        self._clients = clients
        self._target_service = target_service
        self._stub_class = stub_class
        self._service_name = service_name
        self._idempotent = tuple(idempotent)

    def call(self, method: str, request: Any, *, timeout: float | None = None) -> Any:
        return self.start(method, request, timeout=timeout).result()

    def start(self, method: str, request: Any, *, timeout: float | None = None) -> Pending:
        """The call sent now, its answer read later (``Pending.result``): several calls to one or more services
        wait side by side, not one after the other. The caller's credentials are taken here, on this thread."""
        stub = self._clients.stub(self._target_service, self._stub_class, self._service_name, self._idempotent)
        try:
            metadata = call_metadata(self._clients.minter, self._service_name)
        except Unauthenticated as exc:  # this service has no key: a deployment fault, not the user's
            return Pending(self._target_service, method, error=Unavailable(exc.detail))
        future = getattr(stub, method).future(
            request,
            timeout=timeout or self._clients.settings.grpc_deadline_seconds,
            metadata=metadata,
            wait_for_ready=method in self._idempotent,
        )
        return Pending(self._target_service, method, future=future)


class Pending:
    """A call under way; ``result`` waits for its answer (within the call's deadline) and maps a failure to the
    domain's errors: NotFound, InvalidInput, otherwise Unavailable."""

    def __init__(self, target_service: str, method: str, *, future: Any = None, error: Exception | None = None) -> None:
        self._target_service, self._method = target_service, method
        self._future, self._error = future, error

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        try:
            return self._future.result()
        except grpc.RpcError as exc:
            code = exc.code()  # type: ignore[attr-defined]
            detail = exc.details()  # type: ignore[attr-defined]
            if code == grpc.StatusCode.NOT_FOUND:
                raise NotFound(detail or "not found") from exc
            if code == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidInput(detail or "invalid argument") from exc
            raise Unavailable(f"{self._target_service} {self._method}: {code.name} {detail or ''}".strip()) from exc


class GrpcClients:
    """The process's channels, keyed by target service; recreated after a fork."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.minter = ServiceTokenMinter(settings.service, settings.service_key)
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._channels: dict[str, grpc.Channel] = {}
        self._stubs: dict[str, Any] = {}

    def client(
        self, target_service: str, stub_class: type, service_name: str, *, idempotent: Sequence[str] = ()
    ) -> Client:
        return Client(self, target_service, stub_class, service_name, idempotent)

    def stub(self, target_service: str, stub_class: type, service_name: str, idempotent: Sequence[str]) -> Any:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's channels are unusable here
                self._channels.clear()
                self._stubs.clear()
                self._pid = os.getpid()
            # By target and protobuf service: several services serve crm.platform.v1.Attachments.
            key = f"{target_service}/{service_name}"
            stub = self._stubs.get(key)
            if stub is None:
                target = self.settings.grpc_targets.get(target_service)
                if target is None:
                    raise Unavailable(f"CRM_{target_service.upper()}_GRPC_TARGET is not configured")
                channel = grpc.insecure_channel(
                    target,
                    options=[
                        ("grpc.enable_retries", 1),
                        ("grpc.service_config", _service_config(service_name, idempotent)),
                        ("grpc.keepalive_time_ms", 30000),
                    ],
                )
                self._channels[key] = channel
                stub = self._stubs[key] = stub_class(channel)
            return stub

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
            self._stubs.clear()
