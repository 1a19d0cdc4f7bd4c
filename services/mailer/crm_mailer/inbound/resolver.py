"""DNS for checking a sender's authentication: dnspython with a deadline on every lookup, and a bounded cache.

Answers (and "no such name"/"no such record") are kept as long as their TTL says, never longer than
``MAILER_INBOUND_DNS_CACHE_SECONDS``, in a cache of a bounded number of names (least recently used go first).
A lookup that gets no answer in time raises ``DnsTempError``: SPF, DKIM and DMARC then say "temperror" for the
message, which is delivered as unchecked, never quarantined for it. Such failures are remembered a few seconds
only, so a burst of mail from one unreachable domain waits once, not once per message."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import cachetools
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from crm_mailer.domains.dns import ResolverAddress

FAILURE_SECONDS = 5.0  # how long a lookup that timed out answers temperror without asking again
CACHE_SIZE = 10_000  # names (with their type) kept at most


class DnsTempError(Exception):
    """The DNS server did not answer in time, or failed: nothing can be concluded about the name."""


Records = tuple[Any, ...]  # rdata objects of one answer, () for no such name or record type


class CachingResolver:
    def __init__(
        self,
        address: ResolverAddress | None,
        *,
        timeout: float,
        max_ttl: float,
        size: int = CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if address is None:
            self._resolver = dns.resolver.Resolver()  # /etc/resolv.conf
        else:
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [address.host]
            self._resolver.port = address.port
        self._resolver.lifetime = timeout
        self._resolver.timeout = timeout
        self.max_ttl = max_ttl
        self.lookups = 0  # asked of the server (cache misses), for tests and metrics
        # Each entry: (records, seconds to keep, or an error); the cache expires it after those seconds.
        self._cache: cachetools.TLRUCache[tuple[str, str], tuple[Records | DnsTempError, float]] = cachetools.TLRUCache(
            maxsize=size, ttu=lambda _key, value, now: now + value[1], timer=clock
        )
        self._lock = threading.Lock()

    def records(self, name: str, rdtype: str) -> Records:
        """The records of that type at ``name`` (``()`` when there are none); raises ``DnsTempError``."""
        key = (name.strip().rstrip(".").lower(), rdtype.upper())
        with self._lock:
            found = self._cache.get(key)
        if found is None:
            found = self._ask(*key)
            with self._lock:
                self._cache[key] = found
        value = found[0]
        if isinstance(value, DnsTempError):
            raise value
        return value

    def _ask(self, name: str, rdtype: str) -> tuple[Records | DnsTempError, float]:
        self.lookups += 1
        try:
            answer = self._resolver.resolve(dns.name.from_text(name), rdtype, search=False)
        except dns.resolver.NXDOMAIN as exc:
            return (), self._negative_ttl(exc)
        except dns.resolver.NoAnswer as exc:
            return (), self._negative_ttl(exc)
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.NoResolverConfiguration) as exc:
            return DnsTempError(f"no answer for {rdtype} {name}: {type(exc).__name__}"), FAILURE_SECONDS
        except (dns.exception.DNSException, ValueError) as exc:  # a malformed name is no name
            return DnsTempError(f"the lookup of {rdtype} {name} failed: {type(exc).__name__}"), FAILURE_SECONDS
        ttl = float(answer.rrset.ttl) if answer.rrset is not None else 0.0
        return tuple(answer), max(0.0, min(ttl, self.max_ttl))

    def _negative_ttl(self, _exc: Exception) -> float:
        return min(60.0, self.max_ttl)  # a name published a moment later is seen within a minute

    def txt(self, name: str) -> list[str]:
        """Each TXT record's strings joined, as SPF, DKIM and DMARC read them."""
        return [b"".join(r.strings).decode("utf-8", "replace") for r in self.records(name, "TXT")]

    def txt_for_dkim(self, name: bytes, timeout: float = 5) -> bytes | None:
        """dkimpy's ``dnsfunc``: the first TXT record at ``name``, or None."""
        found = self.records(name.decode("ascii", "replace"), "TXT")
        return b"".join(found[0].strings) if found else None
