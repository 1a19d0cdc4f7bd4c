"""A TCP proxy that a test can cut and restore, to take a broker or database away from a service."""

from __future__ import annotations

import socket
import threading


class TcpProxy:
    def __init__(self, target: tuple[str, int], listen_port: int = 0) -> None:
        self.target = target
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", listen_port))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._up = threading.Event()
        self._up.set()
        # Directions whose bytes are dropped while connections stay open: a network that hangs.
        self._swallowing: set[str] = set()
        self.swallowed = {"upstream": 0, "downstream": 0}
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                client.close()  # the "network" is down: refuse at once
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            for a, b, direction in ((client, upstream, "upstream"), (upstream, client, "downstream")):
                threading.Thread(target=self._pipe, args=(a, b, direction), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, direction: str) -> None:
        try:
            while data := source.recv(65536):
                if direction in self._swallowing:
                    self.swallowed[direction] += len(data)
                    continue
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until ``restore``."""
        self._up.clear()
        with self._lock:
            connections, self._connections = self._connections, []
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass

    def swallow(self, *, upstream: bool = True, downstream: bool = True) -> None:
        """Keep connections open but drop what travels towards the target (upstream) or back (downstream)."""
        self.swallowed = {"upstream": 0, "downstream": 0}
        self._swallowing = {d for d, on in (("upstream", upstream), ("downstream", downstream)) if on}

    def restore(self) -> None:
        self._swallowing = set()
        self._up.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()
