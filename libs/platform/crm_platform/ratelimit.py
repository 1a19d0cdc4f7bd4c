"""Rate limits per token and per workspace, counted in this process, answered with 429 problem+json.

Each limit is ``N`` requests a minute with the whole minute's allowance usable as a burst, kept by GCRA
(the generic cell rate algorithm): one timestamp per key, no window boundaries to game, no I/O on the request
path. Every authenticated answer carries the RateLimit headers of the limit closest to running out
(``RateLimit-Limit``, ``-Remaining``, ``-Reset``, and ``RateLimit-Policy``); a refusal adds ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from flask import Flask, Response, g, request

from crm_platform import context
from crm_platform.settings import Settings

PERIOD_SECONDS = 60.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    scope: str  # "token" or "workspace"
    limit: int
    remaining: int
    reset_seconds: float  # until the whole allowance is back
    retry_after_seconds: float = 0.0  # when refused: until one more request would pass


class Gcra:
    """``limit`` requests per ``period`` seconds for each key; not thread-safe (RateLimiter locks)."""

    def __init__(self, scope: str, limit: int, period: float = PERIOD_SECONDS) -> None:
        self.scope, self.limit, self.period = scope, limit, period
        self.interval = period / limit
        self.arrivals: dict[Hashable, float] = {}  # key -> theoretical arrival time of its next request

    def due(self, key: Hashable, now: float) -> float:
        """When the allowance would be whole again after one more request; over ``now + period`` is refused."""
        arrival = self.arrivals.get(key, now)
        return (arrival if arrival > now else now) + self.interval

    def allows(self, due: float, now: float) -> bool:
        return due - now <= self.period + 1e-9

    def decision(self, due: float, now: float) -> Decision:
        if not self.allows(due, now):
            return Decision(False, self.scope, self.limit, 0, due - self.interval - now, due - self.period - now)
        remaining = int((self.period - (due - now)) / self.interval + 1e-9)
        return Decision(True, self.scope, self.limit, remaining, due - now)

    def prune(self, now: float) -> None:
        """Forget keys whose allowance is whole again (they behave like new ones)."""
        self.arrivals = {key: due for key, due in self.arrivals.items() if due > now}


class RateLimiter:
    """The per-token and per-workspace limits of one process; a limit of 0 is off."""

    def __init__(self, *, per_token: int, per_workspace: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.token = Gcra("token", per_token) if per_token > 0 else None
        self.workspace = Gcra("workspace", per_workspace) if per_workspace > 0 else None
        self.clock = clock
        self.lock = threading.Lock()
        self.next_prune = 0.0

    @property
    def enabled(self) -> bool:
        return self.token is not None or self.workspace is not None

    def take(self, *, token: str, workspace_id: str) -> Decision | None:
        """Count one request, unless a limit refuses it; the decision of the limit closest to running out."""
        checks: list[tuple[Gcra, Hashable]] = []
        if self.token is not None:
            checks.append((self.token, _token_key(token)))
        if self.workspace is not None:
            checks.append((self.workspace, workspace_id))
        if not checks:
            return None
        with self.lock:
            now = self.clock()
            dues = [limiter.due(key, now) for limiter, key in checks]
            refused = [
                (limiter, due) for (limiter, _), due in zip(checks, dues, strict=True) if not limiter.allows(due, now)
            ]
            if refused:  # nothing is counted: a refused request uses up no allowance
                return max(
                    (limiter.decision(due, now) for limiter, due in refused), key=lambda d: d.retry_after_seconds
                )
            for (limiter, key), due in zip(checks, dues, strict=True):
                limiter.arrivals[key] = due
            if now >= self.next_prune:
                self.next_prune = now + PERIOD_SECONDS
                for limiter, _ in checks:
                    limiter.prune(now)
        # the limit closest to running out: the one whose allowance is furthest from whole
        closest = max(range(len(checks)), key=lambda i: (dues[i] - now) / checks[i][0].period)
        return checks[closest][0].decision(dues[closest], now)


def _token_key(token: str) -> bytes:
    return hashlib.blake2b(token.encode(), digest_size=16).digest()  # the key, without keeping the token


def headers(decision: Decision) -> dict[str, str]:
    """The RateLimit header fields (draft-ietf-httpapi-ratelimit-headers, the -Limit/-Remaining/-Reset form)."""
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(math.ceil(decision.reset_seconds)),
        "RateLimit-Policy": f"{decision.limit};w={int(PERIOD_SECONDS)}",
    }


def install(app: Flask, settings: Settings, refuse: Callable[[Decision], Response]) -> RateLimiter:
    """Count every authenticated request of ``app``; ``refuse`` builds the 429 answer."""
    limiter = RateLimiter(per_token=settings.rate_limit_per_token, per_workspace=settings.rate_limit_per_workspace)
    if not limiter.enabled:
        return limiter

    @app.before_request
    def _count_request() -> Response | None:
        who = context.current_caller()
        if who is None and g.get("public_route"):  # a declared public route: counted per client address
            address = f"address:{request.remote_addr}"
            decision = limiter.take(token=address, workspace_id=address)
        elif who is None:  # public paths (health, metrics, documents) are not counted
            return None
        else:
            token = request.headers.get("Authorization", "")[7:].strip()
            decision = limiter.take(token=token, workspace_id=who.workspace_id)
        if decision is None:
            return None
        g.rate_limit = decision
        if decision.allowed:
            return None
        answer = refuse(decision)
        answer.headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after_seconds)))
        return answer

    @app.after_request
    def _rate_limit_headers(response: Response) -> Response:
        if (decision := g.get("rate_limit")) is not None:
            response.headers.update(headers(decision))
        return response

    return limiter
