"""The mailer's inbound processing loop alone in a process of its own (``process_inbound_forever``, as each
``crm serve mailer worker`` runs it with MAILER_INBOUND_PROCESSING=worker), for figure 6: without the worker's
relay, consumer and outbound loops, which the figure does not count. Settings from the environment; runs until
SIGTERM. With BENCH_WORKER_PROFILE=<file>, the loop runs under cProfile on the thread's CPU clock and its
statistics are written there at the end."""

from __future__ import annotations

import cProfile
import os
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from crm_mailer.app import SERVICE
    from crm_mailer.inbound.loop import process_inbound_forever
    from crm_platform.service import bootstrap
    from crm_platform.settings import load

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    rt = bootstrap(SERVICE, load("mailer"))
    profile_to = os.environ.get("BENCH_WORKER_PROFILE")
    profiler = cProfile.Profile(time.thread_time) if profile_to else None
    try:
        if profiler is not None:
            profiler.runcall(process_inbound_forever, rt, stop)
        else:
            process_inbound_forever(rt, stop)
    finally:
        if profiler is not None and profile_to:
            profiler.dump_stats(profile_to)
        rt.close()


if __name__ == "__main__":
    main()
