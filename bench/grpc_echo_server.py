"""The gRPC baseline: a raw grpcio unary echo server (one generic handler, no interceptors, no database).

Run as ``python bench/grpc_echo_server.py PORT THREADS``; it prints ``ready`` once it listens and serves
until SIGTERM. bench/run.py gives it the thread pool size of the stack's gRPC servers (``CRM_GRPC_WORKERS``,
default ``DEFAULT_GRPC_WORKERS``), so the two servers differ only in what the platform adds: interceptor,
metrics, context, the database read.
"""

from __future__ import annotations

import signal
import sys
import threading
from concurrent import futures

import grpc

METHOD = "/bench.Echo/Echo"


def _echo(request: bytes, _context: grpc.ServicerContext) -> bytes:
    return request


class _Handler(grpc.GenericRpcHandler):
    def service(self, handler_call_details: grpc.HandlerCallDetails):  # type: ignore[no-untyped-def]
        if handler_call_details.method == METHOD:
            return grpc.unary_unary_rpc_method_handler(_echo)  # bytes in, bytes out
        return None


def main() -> None:
    port, threads = int(sys.argv[1]), int(sys.argv[2])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads), options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((_Handler(),))
    if server.add_insecure_port(f"127.0.0.1:{port}") == 0:
        raise SystemExit(f"cannot listen on {port}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print("ready", flush=True)
    stop.wait()
    server.stop(1).wait()


if __name__ == "__main__":
    main()
