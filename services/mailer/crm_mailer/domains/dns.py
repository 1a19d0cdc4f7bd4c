"""Reading TXT records from DNS (dnspython), from the system's resolver or the one the settings name."""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.name
import dns.resolver

from crm_platform.settings import SettingsError


class DnsUnavailable(Exception):
    """The DNS server did not answer (timeout, SERVFAIL, unreachable): nothing can be concluded about the name."""


@dataclass(frozen=True)
class ResolverAddress:
    host: str
    port: int = 53


def parse_resolver(raw: str) -> ResolverAddress:
    """``127.0.0.1``, ``127.0.0.1:5353`` or ``[::1]:5353``."""
    text = raw.strip()
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"MAILER_DNS_RESOLVER must be host or host:port, got {raw!r}")
    return ResolverAddress(host, int(port))


class TxtLookup:
    """TXT lookups with a deadline; each record's strings joined, as DKIM, SPF and DMARC read them."""

    def __init__(self, address: ResolverAddress | None, *, timeout: float) -> None:
        if address is None:
            self._resolver = dns.resolver.Resolver()  # /etc/resolv.conf
        else:
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [address.host]
            self._resolver.port = address.port
        self._resolver.lifetime = timeout
        self._resolver.timeout = timeout

    def txt(self, name: str) -> list[str]:
        """The TXT records at ``name``; none when the name or the type does not exist."""
        try:
            answer = self._resolver.resolve(dns.name.from_text(name), "TXT", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.NoResolverConfiguration) as exc:
            raise DnsUnavailable(f"the DNS server did not answer for {name}") from exc
        except dns.exception.DNSException as exc:
            raise DnsUnavailable(f"the DNS lookup of {name} failed: {type(exc).__name__}") from exc
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]  # type: ignore[attr-defined]
