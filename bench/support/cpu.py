"""CPU meters read from /proc: a figure's own processes (``CpuMeter``) and the whole stack by role (``StackCpu``)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from support.infra import PG_ADMIN
from support.report import note


def process_stat(pid: int) -> tuple[str, int, float] | None:
    """A process's command name, parent pid and user + system CPU seconds so far, or None once it has exited."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return text[text.index("(") + 1 : text.rindex(")")], int(fields[1]), cpu


def all_processes() -> dict[int, tuple[str, int, float]]:
    """``process_stat`` of every process on the machine, by pid."""
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return {pid: stat for pid in pids if (stat := process_stat(pid)) is not None}


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process so far (0 once it has exited)."""
    stat = process_stat(pid)
    return stat[2] if stat else 0.0


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy so far (all CPUs; not idle, not waiting for I/O)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def process_tree_cpu(root: int) -> float:
    """CPU seconds so far of a process and its children (a gunicorn master and its workers)."""
    return sum(cpu for pid, (_command, parent, cpu) in all_processes().items() if root in (pid, parent))


class CpuMeter:
    """CPU seconds used while entered by the processes of one figure: this process's children that were
    waited for meanwhile (wrk, pgbench), this process itself if ``include_self`` (Python load threads), the
    process trees ``trees`` (a gunicorn master and its workers), and the server backends connected to
    ``database`` (found every 0.5 s and sampled every 50 ms while they run, since they exit with their
    client; the last 50 ms of each can be missed). PostgreSQL's shared processes (WAL writer, checkpointer,
    autovacuum) are not counted, so this is a little less than what the figure cost the machine.

    ``existing`` counts the backends already connected too, from what they had used on entering (a server's
    pooled connections, kept from one round to the next); otherwise they are left out as an earlier run's."""

    def __init__(
        self,
        *,
        include_self: bool = False,
        trees: tuple[int, ...] = (),
        database: str | None = None,
        existing: bool = False,
    ) -> None:
        self.include_self = include_self
        self.existing = existing
        self._base: dict[int, float] = {}  # CPU seconds of the existing backends on entering
        self.trees = trees
        self.database = database
        self.seconds = 0.0  # CPU seconds, once exited
        self.wall = 0.0
        self.machine = 0.0  # CPU seconds the whole machine was busy meanwhile
        self.backends: dict[int, float] = {}
        self._ignore: set[int] = set()
        self._began = (0.0, 0.0, 0.0)
        self._db: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="backend-cpu", daemon=True)

    def _own(self) -> float:
        import resource

        usages = [resource.getrusage(resource.RUSAGE_CHILDREN)]
        if self.include_self:
            usages.append(resource.getrusage(resource.RUSAGE_SELF))
        return sum(u.ru_utime + u.ru_stime for u in usages) + sum(process_tree_cpu(root) for root in self.trees)

    def _backend_pids(self) -> set[int]:
        rows = self._db.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
            (self.database,),
        ).fetchall()
        return {pid for (pid,) in rows}

    def _sample(self) -> None:
        found = 0.0
        while not self._stop.is_set():
            if time.monotonic() >= found:
                for pid in self._backend_pids() - self._ignore:
                    self.backends.setdefault(pid, 0.0)
                found = time.monotonic() + 0.5
            for pid, seen in self.backends.items():
                self.backends[pid] = max(seen, process_cpu(pid))
            self._stop.wait(0.05)

    def __enter__(self) -> CpuMeter:
        self._began = self._own(), machine_busy(), time.perf_counter()
        if self.database is not None:
            import psycopg

            self._db = psycopg.connect(PG_ADMIN, autocommit=True)  # one connection: sampling costs little
            if self.existing:
                self._base = {pid: process_cpu(pid) for pid in self._backend_pids()}
                self.backends.update(self._base)
            else:
                self._ignore = self._backend_pids()  # connections of an earlier run (their CPU is not ours)
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.database is not None:
            self._stop.set()
            self._thread.join()
            self._db.close()
        own, machine, began = self._began
        self.wall = time.perf_counter() - began
        self.seconds = self._own() - own + self.backend_seconds
        self.machine = machine_busy() - machine

    @property
    def backend_seconds(self) -> float:
        """CPU seconds of the database's backends while entered."""
        return sum(seen - self._base.get(pid, 0.0) for pid, seen in self.backends.items())

    @property
    def cpus(self) -> float:
        """The share of the machine the figure's processes got: CPU seconds per wall second."""
        return self.seconds / self.wall if self.wall else 0.0

    @property
    def busy(self) -> float:
        """How many CPUs the whole machine kept busy meanwhile, this figure's processes included."""
        return self.machine / self.wall if self.wall else 0.0


class StackCpu:
    """Where the CPU goes while a figure runs against the stack: the CPU seconds of every process of the
    machine between entering and leaving, summed by what it is (the contacts HTTP API, the services' workers
    that relay and consume the events, the other stack processes, PostgreSQL, RabbitMQ, the load generator,
    anything else). A process that exits meanwhile is missed; one that starts counts from zero."""

    def __init__(self, stack: Any, api: tuple[str, str]) -> None:
        self.roots: dict[int, str] = {}
        for process in stack.processes:
            if process.popen is not None:
                if (process.service, process.kind) == api:
                    self.roots[process.popen.pid] = f"{process.service} {process.kind}"
                elif process.kind == "worker":
                    self.roots[process.popen.pid] = "workers (relay, consumers)"
                else:
                    self.roots[process.popen.pid] = "other stack processes"
        self.by_group: dict[str, float] = {}
        self.machine = 0.0
        self.wall = 0.0
        self._began: tuple[dict[int, tuple[str, float]], float, float] = ({}, 0.0, 0.0)

    def _group(self, pid: int, parents: dict[int, int], command: str) -> str:
        seen = pid
        while seen in parents and seen not in self.roots:
            seen = parents[seen]
        if seen in self.roots:
            return self.roots[seen]
        if command == "postgres":
            return "PostgreSQL"
        if command in ("beam.smp", "erl_child_setup", "inet_gethost", "epmd"):
            return "RabbitMQ"
        if command == "wrk":
            return "load generator"
        return "other"

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        stats = all_processes()
        parents = {pid: parent for pid, (_command, parent, _cpu) in stats.items()}
        return {pid: (self._group(pid, parents, command), cpu) for pid, (command, _parent, cpu) in stats.items()}

    def __enter__(self) -> StackCpu:
        self._began = self._snapshot(), machine_busy(), time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        before, machine, began = self._began
        for pid, (group, cpu) in self._snapshot().items():
            spent = cpu - before[pid][1] if pid in before else cpu
            self.by_group[group] = self.by_group.get(group, 0.0) + spent
        self.machine, self.wall = machine_busy() - machine, time.perf_counter() - began

    def ms_each(self, count: int) -> dict[str, float]:
        return {group: seconds / count * 1000 for group, seconds in self.by_group.items() if count}

    def report(self, count: int) -> None:
        each = sorted(self.ms_each(count).items(), key=lambda item: -item[1])
        shown = ", ".join(f"{group} {ms:.2f}" for group, ms in each if ms >= 0.005)
        note(
            f"CPU per request while it ran, in ms: {shown}; in all {sum(ms for _, ms in each):.2f}"
            f" (the machine was busy on {self.machine / self.wall:.2f} CPUs)"
        )
        stack = sum(ms for group, ms in each if group not in ("other", "load generator"))
        note(f"CPU per create including its events (API + relay + every consumer + broker + database): {stack:.2f} ms")
