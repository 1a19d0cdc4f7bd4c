"""The SMTP listener (aiosmtpd): ``crm serve mailer smtp``, and inside ``crm run`` on loopback.

Recipients are checked at RCPT time (an address that is not ours is refused with 550, so the platform never
accepts mail it would have to bounce later: no backscatter); a message over ``MAILER_INBOUND_MAX_BYTES`` is
refused with 552 (announced in EHLO's SIZE, checked against MAIL FROM's SIZE= and while DATA arrives);
STARTTLS is offered when a certificate is configured. DATA is answered 250 only once the original is stored
(committed, with the other DATA commands that arrived meanwhile: ``GroupCommit``); the stored messages are then
processed in batches on a thread of their own (``BatchProcessor``), so a slow contacts call never holds the
session, or, with MAILER_INBOUND_PROCESSING=worker, by the mailer's worker processes (``loop``), so the processing
shares no GIL with the SMTP sessions."""

from __future__ import annotations

import asyncio
import logging
import queue
import signal
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from crm_mailer.attachments import store_of
from crm_mailer.inbound.authcheck import Authenticator
from crm_mailer.inbound.contacts import GrpcSenderDirectory
from crm_mailer.inbound.lookups import bounce_tokens_of, reply_tokens_of
from crm_mailer.inbound.message import Envelope
from crm_mailer.inbound.metrics import InboundMetrics
from crm_mailer.inbound.models import InboundMessageRow
from crm_mailer.inbound.service import Pipeline
from crm_mailer.outbound.tokens import key_for
from crm_mailer.settings import MailerSettings
from crm_platform.service import Runtime

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_RECIPIENTS = 100  # of one message; a relay splits larger fan-outs
RETRY_STORED_SECONDS = 30.0
ACCEPTED_SECONDS = 10.0  # how long a recipient taken is taken again without asking
ACCEPTED = "250 2.1.5 OK"  # RcptAnswer(250, ...).smtp


def pipeline_of(rt: Runtime) -> Pipeline:
    settings: MailerSettings = rt.service_settings
    key = key_for(settings.token_key, rt.settings)
    return Pipeline(
        database=rt.database,
        senders=GrpcSenderDirectory(rt.grpc),
        settings=settings,
        metrics=InboundMetrics(rt.metrics),
        verify_reply_token=reply_tokens_of(key),
        verify_bounce_token=bounce_tokens_of(key),
        authenticator=authenticator_of(settings),
        attachments=store_of(rt),
    )


def authenticator_of(settings: MailerSettings) -> Authenticator | None:
    """Our own SPF/DKIM/DMARC checks, reading DNS from MAILER_DNS_RESOLVER (else the system's), or None."""
    if not settings.inbound_auth_checks:
        return None
    from crm_mailer.domains.dns import parse_resolver
    from crm_mailer.inbound.resolver import CachingResolver

    address = parse_resolver(settings.dns_resolver) if settings.dns_resolver else None
    timeout = settings.inbound_dns_timeout_seconds
    return Authenticator(
        CachingResolver(address, timeout=timeout, max_ttl=settings.inbound_dns_cache_seconds), timeout=timeout
    )


class Batches(Generic[T]):
    """One thread handling what is put in batches: what arrives while a batch is being handled waits, and goes
    together in the next one, up to ``max_batch``. ``stop`` handles what was put before it, then ends the thread."""

    def __init__(self, name: str, handle: Callable[[list[T]], None], *, max_batch: int) -> None:
        self.handle, self.max_batch = handle, max_batch
        self._queue: queue.SimpleQueue[T | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: T) -> None:
        self._queue.put(item)

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            self.handle(batch)


class GroupCommit:
    """DATA's group commit: the originals of the DATA commands that arrive while one batch is being stored wait,
    and are stored together next (one INSERT, one COMMIT: ``Pipeline.receive_many``), up to ``max_batch``. Each
    DATA is answered once its original is committed; the stored messages are then handed to the ``BatchProcessor``.
    A batch that cannot be stored is stored again message by message, so
    one bad message refuses only itself (451)."""

    def __init__(self, pipeline: Pipeline, processor: BatchProcessor | None, *, max_batch: int = 50) -> None:
        self.pipeline, self.processor = pipeline, processor
        self._batches: Batches[tuple[bytes, Envelope, Future[InboundMessageRow]]] = Batches(
            "mailer-inbound-store", self._store, max_batch=max_batch
        )

    def store(self, raw: bytes, envelope: Envelope) -> Future[InboundMessageRow]:
        """The stored row, once committed (or the error that kept it from being stored)."""
        done: Future[InboundMessageRow] = Future()
        self._batches.put((raw, envelope, done))
        return done

    def stop(self) -> None:
        """Store what was handed in, then stop."""
        self._batches.stop()

    def _store(self, batch: list[tuple[bytes, Envelope, Future[InboundMessageRow]]]) -> None:
        try:
            rows = self.pipeline.receive_many([(raw, envelope) for raw, envelope, _ in batch], channel="smtp")
        except Exception as exc:  # answered 451 (the sender tries again), or tried one by one
            if len(batch) > 1:
                for one in batch:
                    self._store([one])
                return
            log.exception("could not store an inbound message")
            batch[0][2].set_exception(exc)
            return
        for (_raw, _envelope, done), row in zip(batch, rows, strict=True):
            done.set_result(row)
        if self.processor is not None:  # else a worker process claims them
            self.processor.submit([row.id for row in rows])


class BatchProcessor:
    """Processing of the stored messages in batches, on one thread: the ids stored while a batch is being
    processed wait, and are processed together next (``Pipeline.process_many``: one transaction, one COMMIT, the
    contacts asked once per sender of the batch), up to ``max_batch``. One thread, so no two batches wait on each
    other's rows (a soft bounce's counter); a batch in which one message fails is done again message by message
    (``process_many``), so a poison message holds back only itself. What is still queued at ``stop`` is processed
    before it returns; a message stored and never processed (the process died) is found by ``process_stored``."""

    def __init__(self, pipeline: Pipeline, *, max_batch: int = 50) -> None:
        self.pipeline = pipeline
        self._batches: Batches[str] = Batches("mailer-inbound-process", self._process, max_batch=max_batch)

    def submit(self, inbound_ids: list[str]) -> None:
        for inbound_id in inbound_ids:
            self._batches.put(inbound_id)

    def stop(self) -> None:
        """Process what was handed in, then stop."""
        self._batches.stop()

    def _process(self, batch: list[str]) -> None:
        try:
            self.pipeline.process_many(batch)
        except Exception:  # never raises; should it, the messages stay stored for ``process_stored``
            log.exception("processing a batch of %d inbound messages failed", len(batch))


class InboundHandler:
    """aiosmtpd's hooks: blocking work (the database, contacts) runs on the executor, not the event loop."""

    def __init__(self, pipeline: Pipeline, executor: ThreadPoolExecutor, store: GroupCommit) -> None:
        self.pipeline = pipeline
        self.executor = executor
        self.store = store
        # Recipients taken lately (address -> until when): the next RCPT to one is answered on the event loop,
        # not behind the batches being processed on the executor. Only 250s are kept, for ACCEPTED_SECONDS (the
        # workspace check itself is cached for minutes); refusals are asked, and counted, each time.
        self._accepted: dict[str, float] = {}

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's name
        self, _server: SMTP, _session: Session, envelope: SmtpEnvelope, address: str, _options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            self.pipeline.metrics.refused.labels("too_many_recipients").inc()
            return "452 4.5.3 too many recipients"
        now = time.monotonic()
        if self._accepted.get(address, 0.0) > now:
            envelope.rcpt_tos.append(address)
            return ACCEPTED
        answer = await asyncio.get_running_loop().run_in_executor(self.executor, self.pipeline.check_recipient, address)
        if answer.code == 250:
            envelope.rcpt_tos.append(address)
            if len(self._accepted) >= 10_000:
                self._accepted.clear()
            self._accepted[address] = now + ACCEPTED_SECONDS
        return answer.smtp

    async def handle_DATA(self, _server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        peer = session.peer[0] if isinstance(session.peer, tuple) and session.peer else None
        arrived = Envelope(
            mail_from=envelope.mail_from or "",
            rcpt_to=tuple(envelope.rcpt_tos),
            client_ip=str(peer) if peer else None,
            helo=session.host_name or None,
        )
        try:  # answered only once the original is committed (with the others that arrived meanwhile)
            row = await asyncio.wrap_future(self.store.store(raw, arrived))
        except Exception:  # noqa: BLE001 - logged where it was raised (GroupCommit)
            return "451 4.3.0 cannot store the message now, try again later"
        return f"250 2.0.0 OK queued as {row.id}"


def tls_context(settings: MailerSettings) -> ssl.SSLContext | None:
    if settings.inbound_tls_cert is None or settings.inbound_tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(settings.inbound_tls_cert), str(settings.inbound_tls_key))
    return context


class Listener:
    """The SMTP server on its own event loop thread, and a thread retrying what was stored but not processed."""

    def __init__(self, pipeline: Pipeline, *, host: str, port: int, settings: MailerSettings, workers: int = 8):
        self.pipeline = pipeline
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mailer-inbound")
        self.stop_event = threading.Event()
        # Processed here, or (MAILER_INBOUND_PROCESSING=worker) by the worker processes, which also retry.
        self.processor = BatchProcessor(pipeline) if settings.inbound_processing == "listener" else None
        self.store = GroupCommit(pipeline, self.processor)
        self.controller = Controller(
            InboundHandler(pipeline, self.executor, self.store),
            hostname=host,
            port=port,
            data_size_limit=settings.max_bytes,
            tls_context=tls_context(settings),
            require_starttls=False,
            decode_data=False,
            enable_SMTPUTF8=True,
            ident="CRM mailer",
            server_hostname=settings.own_inbound_domain,
        )
        self.retrier = threading.Thread(target=self._retry_stored, name="mailer-inbound-retry", daemon=True)

    def start(self) -> None:
        self.controller.start()
        if self.processor is not None:
            self.retrier.start()

    def _retry_stored(self) -> None:
        while not self.stop_event.wait(RETRY_STORED_SECONDS):
            try:
                self.pipeline.process_stored()
            except Exception:
                log.exception("retrying stored inbound mail failed")

    def stop(self) -> None:
        self.stop_event.set()
        self.controller.stop()
        self.store.stop()
        if self.processor is not None:
            self.processor.stop()
        self.executor.shutdown(wait=True, cancel_futures=False)


def listen(rt: Runtime, *, host: str | None = None, port: int | None = None) -> Listener:
    settings: MailerSettings = rt.service_settings
    listener = Listener(
        pipeline_of(rt),
        host=host or settings.inbound_smtp_host or rt.settings.listen_host,
        port=settings.inbound_smtp_port if port is None else port,
        settings=settings,
    )
    listener.start()
    return listener


def run_smtp(rt: Runtime) -> None:
    """``crm serve mailer smtp``: the listener until SIGTERM; /healthz, /readyz and /metrics on the metrics port."""
    from crm_platform.processes import serve_ops

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received signal %d, stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def ready() -> str | None:
        try:
            rt.database.ping()
        except Exception as exc:  # noqa: BLE001
            return f"database: {exc.__class__.__name__}"
        return None

    ops = serve_ops(rt.settings.metrics_port, ready, host=rt.settings.listen_host)
    listener = listen(rt)
    log.info("SMTP listener of mailer on %s:%d", listener.controller.hostname, listener.controller.port)
    stop.wait()
    listener.stop()
    ops.shutdown()


def embed(rt: Runtime) -> Callable[[], None]:
    """All-in-one mode: the listener on loopback. A port in use is logged, not fatal: the rest still serves."""
    try:
        listener = listen(rt, host="127.0.0.1")
    except Exception as exc:  # noqa: BLE001 - e.g. another `crm run` holds the port
        log.warning("SMTP listener not started: %r", exc)
        return lambda: None
    log.info("SMTP listener on 127.0.0.1:%d", listener.controller.port)
    return listener.stop
