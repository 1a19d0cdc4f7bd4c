"""Figure 2: gRPC GetContact against a raw grpcio unary echo server with the same thread pool."""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack

from support.infra import BENCH_DIR, BenchError


def start_echo_server(stack: ExitStack, port: int, threads: int) -> str:
    process = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "grpc_echo_server.py"), str(port), str(threads)],
        stdout=subprocess.PIPE,
        text=True,
    )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    stack.callback(stop)
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise BenchError("the gRPC echo server did not start")
    return f"127.0.0.1:{port}"
