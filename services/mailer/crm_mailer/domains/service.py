"""Use cases of sender domains: add, read, check the DNS records, rotate the DKIM key, delete, and pick the key
that signs a workspace's mail. Each use case opens and commits its own unit of work; DNS is asked outside any
transaction, so no row stays locked while a slow server answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm_mailer.domains import rules
from crm_mailer.domains.dkim import DomainKey, KeyCipher, KeyPair, cipher_for, new_key_pair, new_selector
from crm_mailer.domains.dns import DnsUnavailable, ResolverAddress, TxtLookup, parse_resolver
from crm_mailer.domains.models import KEY_ACTIVE, KEY_PENDING, KEY_RETIRED, DomainKeyRow, SenderDomain
from crm_mailer.domains.rules import OK, Finding
from crm_mailer.settings import MailerSettings
from crm_platform.db import Database, UnitOfWork, get_in_workspace, utcnow
from crm_platform.errors import Conflict, NotFound, phrase
from crm_platform.ids import new_id
from crm_platform.service import Runtime

# A pending domain is checked often for its first week (its owner is publishing the records), then no more often
# than the others: an abandoned one costs a few lookups an hour, not a dozen.
PENDING_CHECKED_OFTEN_FOR = timedelta(days=7)


@dataclass(frozen=True)
class DomainConfig:
    """What the use cases need of the mailer's settings."""

    platform_domain: str
    spf_include: str
    recheck_after: timedelta
    pending_recheck_after: timedelta
    resolver: ResolverAddress | None
    dns_timeout: float

    @classmethod
    def of(cls, settings: MailerSettings) -> DomainConfig:
        return cls(
            platform_domain=settings.platform_domain,
            spf_include=settings.spf_include_host,
            recheck_after=timedelta(seconds=settings.domain_recheck_seconds),
            pending_recheck_after=timedelta(seconds=settings.pending_domain_recheck_seconds),
            resolver=parse_resolver(settings.dns_resolver) if settings.dns_resolver else None,
            dns_timeout=settings.dns_timeout_seconds,
        )

    def lookup(self) -> TxtLookup:
        return TxtLookup(self.resolver, timeout=self.dns_timeout)


@dataclass(frozen=True)
class Domains:
    """What a process built once for the sender domains: the key cipher and the settings (HTTP app, worker)."""

    cipher: KeyCipher
    config: DomainConfig

    @classmethod
    def of(cls, rt: Runtime) -> Domains:
        settings: MailerSettings = rt.service_settings
        return cls(cipher=cipher_for(settings.dkim_encryption_keys, rt.settings), config=DomainConfig.of(settings))


def create(uow: UnitOfWork, cipher: KeyCipher, config: DomainConfig, *, workspace_id: str, name: str) -> SenderDomain:
    """Add a domain with a new DKIM key, pending until its records are found."""
    domain_name = rules.normalise(name)
    rules.check_may_add(domain_name, platform_domain=config.platform_domain)
    pair = new_key_pair()  # a few tens of milliseconds of CPU: before the transaction, not inside it
    now = utcnow()
    with uow:
        if _find(uow, workspace_id, domain_name) is not None:
            raise _duplicate(domain_name)
        domain = SenderDomain(
            id=new_id(),
            workspace_id=workspace_id,
            name=domain_name,
            status=rules.PENDING,
            created_at=now,
            next_check_at=now + config.pending_recheck_after,
            findings={},
        )
        domain.keys.append(_new_key(domain, cipher, pair=pair, now=now))
        uow.session.add(domain)
        try:
            uow.commit()
        except IntegrityError:  # added by a concurrent request between the check and the commit
            raise _duplicate(domain_name) from None
        return domain


def _duplicate(domain_name: str) -> Conflict:
    return Conflict(phrase("{domain} is already a sender domain of this workspace", domain=domain_name))


def _find(uow: UnitOfWork, workspace_id: str, domain_name: str) -> SenderDomain | None:
    return uow.session.scalars(
        select(SenderDomain).where(SenderDomain.workspace_id == workspace_id, SenderDomain.name == domain_name)
    ).first()


def _new_key(domain: SenderDomain, cipher: KeyCipher, *, pair: KeyPair, now: datetime) -> DomainKeyRow:
    return DomainKeyRow(
        id=new_id(),
        workspace_id=domain.workspace_id,
        domain_id=domain.id,
        selector=new_selector(now),
        public_key=pair.public_key,
        private_key_encrypted=cipher.encrypt(pair.private_pem),
        state=KEY_PENDING,
        created_at=now,
    )


def get(uow: UnitOfWork, *, workspace_id: str, domain_id: str) -> SenderDomain:
    """One sender domain of the workspace, with its keys; another workspace's is not found."""
    with uow:
        return get_in_workspace(uow.session, SenderDomain, domain_id, workspace_id=workspace_id, what="sender domain")


def list_page(uow: UnitOfWork, *, workspace_id: str, limit: int, after_id: str | None) -> list[SenderDomain]:
    """A page of the workspace's sender domains, newest first; one row more than ``limit`` says a next page
    exists."""
    query = select(SenderDomain).where(SenderDomain.workspace_id == workspace_id)
    if after_id:
        query = query.where(SenderDomain.id < after_id)
    with uow:
        return list(uow.session.scalars(query.order_by(SenderDomain.id.desc()).limit(limit + 1)))


def delete(uow: UnitOfWork, *, workspace_id: str, domain_id: str) -> None:
    """Remove a domain and its keys: mail from it is no longer signed, nor sent from it."""
    with uow:
        domain = get_in_workspace(uow.session, SenderDomain, domain_id, workspace_id=workspace_id, what="sender domain")
        uow.session.delete(domain)
        uow.commit()


def rotate(uow: UnitOfWork, cipher: KeyCipher, *, workspace_id: str, domain_id: str) -> SenderDomain:
    """Make a new DKIM key under a new selector, pending beside the active one, which keeps signing until the new
    key's record is found; the old key retires then."""
    pair = new_key_pair()
    with uow:
        domain = get_in_workspace(uow.session, SenderDomain, domain_id, workspace_id=workspace_id, what="sender domain")
        states = {key.state for key in domain.keys}
        if KEY_PENDING in states:
            raise Conflict("a new key is already waiting for its DNS record: publish it and verify the domain")
        if KEY_ACTIVE not in states:
            raise Conflict("the domain has no key in use yet: publish its records and verify it first")
        domain.keys.append(_new_key(domain, cipher, pair=pair, now=utcnow()))
        uow.commit()
        return domain


# --- checking the records ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Looked:
    """What DNS held for a domain's records at one check."""

    spf: Finding
    dmarc: Finding
    dkim: dict[str, Finding]  # by key id


def _look_up(lookup: TxtLookup, config: DomainConfig, name: str, keys: list[tuple[str, str, str]]) -> _Looked:
    def txt(record_name: str) -> list[str] | str:
        try:
            return lookup.txt(record_name)
        except DnsUnavailable as exc:
            return str(exc)  # the reason nothing could be concluded

    at_domain = txt(name)
    spf = (
        rules.unknown(rules.spf_value(None, config.spf_include), at_domain)
        if isinstance(at_domain, str)
        else rules.check_spf(at_domain, domain=name, include_host=config.spf_include)
    )
    at_dmarc = txt(rules.dmarc_name(name))
    organisational = rules.organisational_domain(name)
    inherited: list[str] | str = []
    if isinstance(at_dmarc, list) and not at_dmarc and organisational != name:
        inherited = txt(rules.dmarc_name(organisational))
    if isinstance(at_dmarc, str) or isinstance(inherited, str):
        dmarc = rules.unknown(rules.DMARC_VALUE, at_dmarc if isinstance(at_dmarc, str) else str(inherited))
    else:
        dmarc = rules.check_dmarc(at_dmarc, domain=name, inherited=inherited, from_domain=organisational)
    dkim = {}
    for key_id, selector, public_key in keys:
        record_name = rules.dkim_name(selector, name)
        found = txt(record_name)
        dkim[key_id] = (
            rules.unknown(rules.dkim_value(public_key), found)
            if isinstance(found, str)
            else rules.check_dkim(found, name=record_name, public_key=public_key)
        )
    return _Looked(spf=spf, dmarc=dmarc, dkim=dkim)


def verify(
    database: Database, lookup: TxtLookup, config: DomainConfig, *, workspace_id: str, domain_id: str
) -> SenderDomain:
    """Check the domain's records now and record what was found."""
    domain = get(database.unit_of_work(), workspace_id=workspace_id, domain_id=domain_id)
    return _check(database, lookup, config, domain)


def _check(database: Database, lookup: TxtLookup, config: DomainConfig, domain: SenderDomain) -> SenderDomain:
    keys = [(k.id, k.selector, k.public_key) for k in domain.keys if k.state != KEY_RETIRED]
    looked = _look_up(lookup, config, domain.name, keys)
    with database.unit_of_work() as uow:
        current = get_in_workspace(
            uow.session, SenderDomain, domain.id, workspace_id=domain.workspace_id, what="sender domain"
        )
        _record(current, looked, config)
        uow.commit()
        return current


def _record(domain: SenderDomain, looked: _Looked, config: DomainConfig) -> None:
    """Write a check's findings, promote a pending key whose record is right, retire the key it replaces, and
    set the domain's status from the records it needs."""
    now = utcnow()
    checked = [key for key in domain.keys if key.id in looked.dkim]
    for key in checked:
        key.finding = looked.dkim[key.id].as_dict()
    others_ok = looked.spf.status == OK and looked.dmarc.status == OK
    ready = [key for key in checked if key.state == KEY_PENDING and looked.dkim[key.id].status == OK]
    if ready and others_ok:
        newest = max(ready, key=lambda key: key.created_at)
        for key in domain.keys:
            if key.state == KEY_ACTIVE:
                key.state, key.retired_at, key.private_key_encrypted = KEY_RETIRED, now, None
        newest.state, newest.activated_at = KEY_ACTIVE, now
    signing = _signing_key(domain)
    needed = [looked.spf, looked.dmarc]
    if signing is not None:
        needed.append(looked.dkim.get(signing.id) or Finding(rules.UNCHECKED, ""))
    status = rules.status_after_check(needed, previous=domain.status, was_verified=domain.verified_at is not None)
    if status == rules.VERIFIED and domain.verified_at is None:
        domain.verified_at = now
    domain.status = status
    domain.findings = {"spf": looked.spf.as_dict(), "dmarc": looked.dmarc.as_dict()}
    domain.check_error = next((f.problem for f in needed if f.status == rules.UNKNOWN), None)
    domain.last_checked_at = now
    soon = status == rules.PENDING and now - domain.created_at < PENDING_CHECKED_OFTEN_FOR
    domain.next_check_at = now + (config.pending_recheck_after if soon else config.recheck_after)


def _signing_key(domain: SenderDomain) -> DomainKeyRow | None:
    """The active key; before the first verification, the newest pending one (the one that will sign)."""
    active = [key for key in domain.keys if key.state == KEY_ACTIVE]
    pending = [key for key in domain.keys if key.state == KEY_PENDING]
    chosen = active or pending
    return max(chosen, key=lambda key: key.created_at) if chosen else None


def recheck_due(database: Database, lookup: TxtLookup, config: DomainConfig, *, limit: int = 20) -> int:
    """Check again the domains whose time has come (the worker's periodic loop). Each is claimed first, in a
    short transaction that moves its next check ahead, so that two workers never check the same domain at once
    and a crash only delays it. Returns how many were checked."""
    now = utcnow()
    with database.unit_of_work() as uow:
        due = list(
            uow.session.scalars(
                select(SenderDomain)
                .where(SenderDomain.next_check_at <= now)
                .order_by(SenderDomain.next_check_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for domain in due:
            domain.next_check_at = now + config.pending_recheck_after
        uow.commit()
    checked = 0
    for domain in due:
        try:
            _check(database, lookup, config, domain)
        except NotFound:  # deleted meanwhile
            continue
        checked += 1
    return checked


# --- signing -------------------------------------------------------------------------------------------------
def signing_key_for(database: Database, cipher: KeyCipher, *, workspace_id: str, sender: str) -> DomainKey | None:
    """The key that signs mail from ``sender`` (``Ana <ana@acme.com>`` or ``ana@acme.com``) for the workspace:
    that of its domain when the domain is one of the workspace's and verified; otherwise None, and the mail goes
    out from the platform's generic domain instead."""
    address = parseaddr(sender)[1]
    if "@" not in address:
        return None
    domain_name = address.rsplit("@", 1)[1].strip().rstrip(".").lower()
    with database.unit_of_work() as uow:
        row = uow.session.execute(
            select(SenderDomain.name, DomainKeyRow.selector, DomainKeyRow.private_key_encrypted)
            .join(DomainKeyRow, DomainKeyRow.domain_id == SenderDomain.id)
            .where(
                SenderDomain.workspace_id == workspace_id,
                SenderDomain.name == domain_name,
                SenderDomain.status == rules.VERIFIED,
                DomainKeyRow.state == KEY_ACTIVE,
            )
        ).first()
    if row is None or row.private_key_encrypted is None:
        return None
    return DomainKey(domain=row.name, selector=row.selector, private_pem=cipher.decrypt(row.private_key_encrypted))


def verified_domain_of(database: Database, *, workspace_id: str) -> str | None:
    """The workspace's verified sender domain that mail goes out from (the first verified, when several)."""
    with database.unit_of_work() as uow:
        return uow.session.scalars(
            select(SenderDomain.name)
            .where(SenderDomain.workspace_id == workspace_id, SenderDomain.status == rules.VERIFIED)
            .order_by(SenderDomain.verified_at, SenderDomain.id)
            .limit(1)
        ).first()
