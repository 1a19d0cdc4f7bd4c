"""A real DNS server on loopback (dnslib, UDP and TCP) whose TXT records a test sets and changes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dns.resolver
from dnslib import QTYPE, RCODE, RR, TXT, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

from tests.support.infra import free_port


def _chunks(value: str) -> list[bytes]:
    """A TXT value as strings of at most 255 bytes, as a DNS provider publishes a long DKIM key."""
    raw = value.encode()
    return [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]


@dataclass
class Zone(BaseResolver):
    """TXT records by name; a name with no records answers NXDOMAIN, one with only other kinds NOERROR."""

    records: dict[str, list[str]] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set_txt(self, name: str, *values: str) -> None:
        with self._lock:
            self.records[name.rstrip(".").lower()] = list(values)

    def remove(self, name: str) -> None:
        with self._lock:
            self.records.pop(name.rstrip(".").lower(), None)

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        with self._lock:
            self.queries.append(name)
            values = self.records.get(name)
        if values is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for value in values:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(_chunks(value)), ttl=60))
        return reply


@dataclass
class LoopbackDns:
    zone: Zone
    host: str
    port: int

    @property
    def address(self) -> str:
        """As MAILER_DNS_RESOLVER takes it."""
        return f"{self.host}:{self.port}"

    def txt_for_dkimpy(self, name: bytes, timeout: float = 5) -> bytes | None:
        """A ``dnsfunc`` for dkimpy's ``verify``: the TXT record at ``name``, read from this server over DNS."""
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port, resolver.lifetime = [self.host], self.port, timeout
        try:
            answer = resolver.resolve(name.decode().rstrip("."), "TXT", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(answer[0].strings)  # type: ignore[attr-defined]


@contextmanager
def loopback_dns() -> Iterator[LoopbackDns]:
    zone = Zone()
    quiet = DNSLogger(log="-request,-reply,-truncated,-error", logf=lambda _message: None)
    for _attempt in range(20):  # the same free port for UDP and TCP
        port = free_port()
        try:
            udp = DNSServer(zone, address="127.0.0.1", port=port, logger=quiet)
        except OSError:
            continue
        try:
            tcp = DNSServer(zone, address="127.0.0.1", port=port, tcp=True, logger=quiet)
        except OSError:
            udp.server.server_close()
            continue
        break
    else:
        raise RuntimeError("no free port for the loopback DNS server")
    udp.start_thread()
    tcp.start_thread()
    try:
        yield LoopbackDns(zone=zone, host="127.0.0.1", port=port)
    finally:
        for server in (udp, tcp):
            server.stop()
            server.server.server_close()


@contextmanager
def silent_dns() -> Iterator[str]:
    """A UDP port on loopback that takes DNS queries and never answers: every lookup there times out.
    Yields its address as MAILER_DNS_RESOLVER takes it."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
