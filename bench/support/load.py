"""Load generators: closed loops in threads, wrk (or Python threads) for HTTP, grpc.aio for gRPC."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from support.infra import BENCH_DIR, BenchError
from support.report import Measure


def closed_loop(label: str, concurrency: int, seconds: float, setup: Callable[[], Callable[[], None]]) -> Measure:
    """``concurrency`` threads, each calling its own operation back to back for ``seconds``."""
    start_barrier = threading.Barrier(concurrency + 1)
    results: list[list[float]] = [[] for _ in range(concurrency)]
    errors: list[BaseException] = []
    deadline = [0.0]

    def run(index: int) -> None:
        try:
            operation = setup()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            start_barrier.abort()
            return
        start_barrier.wait()
        mine = results[index]
        clock = time.perf_counter
        try:
            while True:
                began = clock()
                if began >= deadline[0]:
                    break
                operation()
                mine.append((clock() - began) * 1000)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        deadline[0] = time.perf_counter() + 3600  # set for real once every thread is connected
        start_barrier.wait(timeout=60)
        began = time.perf_counter()
        deadline[0] = began + seconds
    except threading.BrokenBarrierError:
        pass
    for thread in threads:
        thread.join()
    if errors:
        raise BenchError(f"{label}: {errors[0]!r}") from errors[0]
    elapsed = time.perf_counter() - began
    latencies = [x for r in results for x in r]
    return Measure(label, len(latencies), elapsed, latencies)


_OFFSETS = iter(range(1_000_000, 90_000_000, 1_000_000))


def contact_body(n: int) -> str:
    return json.dumps({"name": f"Bench Contact {n}", "email": f"Bench.{n}@Example.COM", "phone": f"6{n:08d}"})


def wrk_load(label: str, url: str, token: str, concurrency: int, seconds: float) -> Measure:
    env = dict(os.environ, BENCH_TOKEN=token, BENCH_PATH="/v1/contacts", BENCH_OFFSET=str(next(_OFFSETS)))
    command = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH_DIR / "create_contact.lua"),
        url,
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise BenchError(f"wrk failed: {result.stderr.strip() or result.stdout.strip()}")
    summary = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    failed = {k: v for k, v in summary.items() if k.endswith(("_errors", "timeouts")) and v}
    if failed:
        raise BenchError(f"{label}: requests failed {failed}; see the stack logs")
    return Measure(
        label,
        summary["requests"],
        summary["duration_us"] / 1e6,
        p50_ms=summary["p50_us"] / 1000,
        p95_ms=summary["p95_us"] / 1000,
    )


def python_http_load(label: str, url: str, token: str, concurrency: int, seconds: float) -> Measure:
    """Fallback when wrk is not installed: keep-alive connections in threads (the client costs CPU)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    offset = next(_OFFSETS)
    counter = iter(range(offset, offset + 1_000_000))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def setup() -> Callable[[], None]:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)

        def post() -> None:
            connection.request("POST", "/v1/contacts", body=contact_body(next(counter)), headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 201:
                raise BenchError(f"POST /v1/contacts answered {response.status}")

        return post

    return closed_loop(label, concurrency, seconds, setup)


def http_load(
    label: str, url: str, token: str, concurrency: int, seconds: float, warmup: float, meter: Any = None
) -> Measure:
    """Warm up, then measure; ``meter`` (a context manager, e.g. ``StackCpu``) is entered around the measure."""
    load = wrk_load if shutil.which("wrk") else python_http_load
    load("warm-up", url, token, concurrency, warmup)
    with meter if meter is not None else nullcontext():
        return load(label, url, token, concurrency, seconds)


async def _grpc_closed_loop(
    target: str, method: str, request: object, metadata: tuple[tuple[str, str], ...], concurrency: int, seconds: float
) -> tuple[int, float, list[float]]:
    import grpc

    from crm.contacts.v1 import contacts_pb2

    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary(
            method,
            request_serializer=contacts_pb2.GetContactRequest.SerializeToString,
            response_deserializer=contacts_pb2.Contact.FromString,
        )
        await asyncio.wait_for(channel.channel_ready(), 10)
        latencies: list[float] = []
        clock = time.perf_counter
        deadline = clock() + seconds

        async def client() -> None:
            while (began := clock()) < deadline:
                reply = await call(request, metadata=metadata, timeout=10)
                latencies.append((clock() - began) * 1000)
                if not reply.id:
                    raise BenchError(f"{method} answered an empty message")

        began = clock()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return len(latencies), clock() - began, latencies


def grpc_load(
    label: str,
    target: str,
    method: str,
    request: object,
    metadata: tuple[tuple[str, str], ...],
    concurrency: int,
    seconds: float,
    warmup: float,
) -> Measure:
    asyncio.run(_grpc_closed_loop(target, method, request, metadata, concurrency, warmup))
    count, elapsed, latencies = asyncio.run(_grpc_closed_loop(target, method, request, metadata, concurrency, seconds))
    return Measure(label, count, elapsed, latencies)
