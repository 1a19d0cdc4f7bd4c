"""gRPC server: health (NOT_SERVING on shutdown, then a graceful stop), reflection, and an interceptor
that authenticates every call (unary, or server-streaming as Attachments.Read), checks which service may call
the method, counts it and maps errors."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from concurrent import futures
from dataclasses import replace
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from crm_platform import context
from crm_platform.auth import TokenVerifier
from crm_platform.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Unauthenticated,
    Unavailable,
)
from crm_platform.metrics import ServiceMetrics
from crm_platform.service import GrpcBinding
from crm_platform.service_tokens import SERVICE_TOKEN_METADATA, ServiceTokenVerifier
from crm_platform.settings import DEFAULT_GRPC_WORKERS, Settings

log = logging.getLogger(__name__)

STATUS_OF_ERROR: dict[type[DomainError], grpc.StatusCode] = {
    NotFound: grpc.StatusCode.NOT_FOUND,
    InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    Conflict: grpc.StatusCode.ALREADY_EXISTS,
    PreconditionFailed: grpc.StatusCode.FAILED_PRECONDITION,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    Forbidden: grpc.StatusCode.PERMISSION_DENIED,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
}

# Health stays open: the kubelet's gRPC probes carry no credential. Reflection is open when it is on at all.
_PUBLIC_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


def status_of(error: DomainError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in STATUS_OF_ERROR:
            return STATUS_OF_ERROR[cls]
    return grpc.StatusCode.INVALID_ARGUMENT


class CallAuthenticator:
    """The caller of a gRPC call, from verified credentials only: a service token always, and the end user's
    bearer token when the work started from their request. Identity metadata (x-user-id, ...) is ignored."""

    def __init__(self, settings: Settings) -> None:
        self.users = TokenVerifier(settings)
        self.services = ServiceTokenVerifier(settings.trusted_service_keys)

    def caller_of(
        self, metadata: Sequence[tuple[str, Any]] | None, *, audience: str, allowed: Collection[str]
    ) -> tuple[context.Caller, str | None]:
        """The caller and request id; Unauthenticated, Forbidden (a service not allowed here) or NotFound."""
        service_token = authorization = claimed_workspace = request_id = None
        for key, value in metadata or ():
            if key == SERVICE_TOKEN_METADATA:
                service_token = value
            elif key == "authorization":
                authorization = value
            elif key == "x-workspace-id":
                claimed_workspace = value
            elif key == "x-request-id":
                request_id = value
        if not service_token:
            raise Unauthenticated(f"a service token ({SERVICE_TOKEN_METADATA} metadata) is required")
        credential = self.services.verify(str(service_token), audience)
        if credential.service not in allowed:
            raise Forbidden(f"the {credential.service} service may not call this method")
        if authorization:
            scheme, _, token = str(authorization).partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise Unauthenticated("authorization metadata must be Bearer <token>")
            caller = self.users.verify(token.strip())
        elif credential.caller is not None:
            caller = credential.caller
        else:
            raise Unauthenticated("the call names no workspace: forward the user's token or act for a workspace")
        if claimed_workspace is not None and claimed_workspace != caller.workspace_id:
            raise NotFound("the workspace is not one the call's credentials cover")
        return caller, request_id


class _Interceptor(grpc.ServerInterceptor):
    def __init__(
        self,
        metrics_of: Callable[[str], ServiceMetrics],
        authenticator: CallAuthenticator,
        callers_of: Callable[[str], Collection[str]],
    ) -> None:
        self.metrics_of = metrics_of
        self.authenticator = authenticator
        self.callers_of = callers_of
        # gRPC asks the interceptor for every call: the wrapped handler of a method is built once.
        self._wrapped: dict[str, tuple[Any, Any]] = {}

    def intercept_service(self, continuation: Any, handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_PUBLIC_PREFIXES):
            return handler
        if handler.unary_unary is None and handler.unary_stream is None:  # client streaming would skip the checks
            return None  # answered UNIMPLEMENTED
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped_handler = self._wrap(method, handler)
        self._wrapped[method] = (handler, wrapped_handler)
        return wrapped_handler

    def _wrap(self, method: str, handler: Any) -> Any:
        streaming = handler.unary_unary is None  # a server-streaming method (Attachments.Read)
        inner = handler.unary_stream if streaming else handler.unary_unary
        metrics = self.metrics_of(method)
        # The labelled children, looked up once per method (and status code) instead of on every call.
        latency = metrics.grpc_latency.labels(method)
        counted: dict[grpc.StatusCode, Any] = {}
        audience = method.split("/")[1]  # the protobuf service: a token minted for another is refused
        allowed = frozenset(self.callers_of(method))
        caller_of = self.authenticator.caller_of

        def wrapped(request: Any, servicer_context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                caller, request_id = caller_of(
                    servicer_context.invocation_metadata(), audience=audience, allowed=allowed
                )
                with context.bound(request_id=request_id or context.new_request_id(), caller=caller):
                    return inner(request, servicer_context)
            except DomainError as error:
                code = status_of(error)
                servicer_context.abort(code, error.detail)
            except Exception:
                code = servicer_context.code() or grpc.StatusCode.INTERNAL
                if servicer_context.code() is None:  # a bug, not an abort() by the servicer
                    log.exception("unhandled error in %s", method)
                    servicer_context.abort(grpc.StatusCode.INTERNAL, "internal error")
                raise
            finally:
                requests = counted.get(code)
                if requests is None:
                    requests = counted[code] = metrics.grpc_requests.labels(method, code.name)
                requests.inc()
                latency.observe(time.perf_counter() - started)

        def wrapped_stream(request: Any, servicer_context: grpc.ServicerContext) -> Any:
            # The same checks as ``wrapped``, before the first message and around every one the servicer yields.
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                caller, request_id = caller_of(
                    servicer_context.invocation_metadata(), audience=audience, allowed=allowed
                )
                with context.bound(request_id=request_id or context.new_request_id(), caller=caller):
                    yield from inner(request, servicer_context)
            except DomainError as error:
                code = status_of(error)
                servicer_context.abort(code, error.detail)
            except Exception:
                code = servicer_context.code() or grpc.StatusCode.INTERNAL
                if servicer_context.code() is None:
                    log.exception("unhandled error in %s", method)
                    servicer_context.abort(grpc.StatusCode.INTERNAL, "internal error")
                raise
            finally:
                requests = counted.get(code)
                if requests is None:
                    requests = counted[code] = metrics.grpc_requests.labels(method, code.name)
                requests.inc()
                latency.observe(time.perf_counter() - started)

        if streaming:
            return grpc.unary_stream_rpc_method_handler(
                wrapped_stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return grpc.unary_unary_rpc_method_handler(
            wrapped, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )


def merged(bindings: Sequence[tuple[GrpcBinding, ServiceMetrics]]) -> list[tuple[GrpcBinding, ServiceMetrics]]:
    """The bindings with those of one protobuf service joined, as all-in-one mode's single server needs them:
    every service that keeps files binds ``crm.platform.v1.Attachments``. Their servicers must say how to join
    (``merged_with``); the callers of each method are those of either."""
    joined: list[tuple[GrpcBinding, ServiceMetrics]] = []
    index: dict[str, int] = {}
    for binding, metrics in bindings:
        at = index.get(binding.service_name)
        if at is None:
            index[binding.service_name] = len(joined)
            joined.append((binding, metrics))
            continue
        first, first_metrics = joined[at]
        merge = getattr(first.servicer, "merged_with", None)
        if merge is None:
            raise ValueError(f"{binding.service_name} is bound twice and its servicer cannot merge")
        callers = {
            method: (*first.callers.get(method, ()), *binding.callers.get(method, ()))
            for method in (*first.callers, *binding.callers)
        }
        joined[at] = (replace(first, servicer=merge(binding.servicer), callers=callers), first_metrics)
    return joined


class GrpcServer:
    """A started server; ``stop`` flips health to NOT_SERVING, then lets calls in flight finish."""

    def __init__(
        self,
        bindings: Sequence[tuple[GrpcBinding, ServiceMetrics]],
        *,
        address: str,
        settings: Settings,
        max_workers: int = DEFAULT_GRPC_WORKERS,
        max_connection_age_seconds: float = 300.0,
    ) -> None:
        """``max_workers`` threads run the calls; more calls wait for one. A few are enough, and faster: a
        call is mostly Python holding the GIL, and each extra thread adds GIL hand-offs and context switches
        (measured on 2 cores, GetContact: 4 threads serve more calls than 16, with less CPU per call).

        A client's connection is closed (GOAWAY, after its calls in flight, up to 30 s) once it is
        ``max_connection_age_seconds`` old, so that clients resolve the target again: behind a headless
        Service they then also connect to the replicas started since (see the chart's README).

        ``settings`` give the keys calls are authenticated with and whether reflection is on.
        """
        bindings = merged(bindings)
        by_service = {binding.service_name: metrics for binding, metrics in bindings}
        fallback = bindings[0][1] if bindings else None

        def metrics_of(method: str) -> ServiceMetrics:
            service_name = method.split("/")[1] if "/" in method else ""
            return by_service.get(service_name) or fallback  # type: ignore[return-value]

        callers = {binding.service_name: binding.callers for binding, _metrics in bindings}

        def callers_of(method: str) -> Collection[str]:
            _, service_name, method_name = method.split("/", 2) if method.count("/") == 2 else ("", "", "")
            return callers.get(service_name, {}).get(method_name, ())

        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers),
            interceptors=[_Interceptor(metrics_of, CallAuthenticator(settings), callers_of)],
            options=[
                ("grpc.so_reuseport", 0),
                ("grpc.max_connection_age_ms", int(max_connection_age_seconds * 1000)),
                ("grpc.max_connection_age_grace_ms", 30_000),
            ],
        )
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        names = [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME]
        for binding, _metrics in bindings:
            binding.add_to_server(binding.servicer, self.server)
            names.append(binding.service_name)
        if settings.grpc_reflection:  # off in production unless CRM_GRPC_REFLECTION=true: it maps the API
            reflection.enable_server_reflection(names, self.server)
        self.service_names = [binding.service_name for binding, _ in bindings]
        self.port = self.server.add_insecure_port(address)
        if self.port == 0:
            raise RuntimeError(f"cannot listen for gRPC on {address}")

    def start(self) -> None:
        self.server.start()
        for name in ("", *self.service_names):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def stop(self, grace: float = 10.0) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()

    def wait(self) -> None:
        self.server.wait_for_termination()
