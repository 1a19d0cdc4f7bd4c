"""A gunicorn worker that serves its share of the listening sockets with the platform's HTTP server.

gunicorn keeps what it is good at (forking workers, restarting dead ones, graceful stops on SIGTERM, the
heartbeat); each worker answers requests with ``crm_platform.httpserver`` instead of gthread, whose threads
block on a slow client's body (16 threads were 16 slow uploads away from a silent ``/healthz``).
"""

from __future__ import annotations

import os
import threading

from gunicorn.workers.base import Worker

from crm_platform.httpserver import HttpServer, ServerLimits


class WaitressWorker(Worker):  # type: ignore[misc]
    def run(self) -> None:
        server = HttpServer(
            self.wsgi,
            [listener.sock for listener in self.sockets],
            threads=self.cfg.threads,
            limits=ServerLimits.from_env(),
        )
        loop = threading.Thread(
            target=server.run, kwargs={"grace": self.cfg.graceful_timeout}, name="http-io", daemon=True
        )
        loop.start()
        while self.alive and loop.is_alive():
            self.notify()
            if self.ppid != os.getppid():  # the arbiter died: stop like a SIGTERM would
                break
            loop.join(timeout=1.0)
        server.stop()
        loop.join(timeout=self.cfg.graceful_timeout + 2)
