"""A real headless Chromium (Debian's ``chromium``) for tests that must see a page as a browser draws it.

Without it a test is skipped on a laptop but FAILS under CI=true, like PostgreSQL and RabbitMQ
(tests/support/infra.py); ``.ci/run`` installs it. Screenshots are kept under ``var/test-artifacts/``."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


def require_chromium() -> str:
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: a missing browser fails the run)")
    pytest.skip(message)


def screenshot(url: str, png: Path, *, profile: Path, size: tuple[int, int] = (1200, 1600)) -> Path:
    """``url`` drawn by headless Chromium into ``png``; no network but loopback, no first-run work, no GPU."""
    return _chromium(url, png, profile, f"--screenshot={png}", f"--window-size={size[0]},{size[1]}")


def printed(url: str, pdf: Path, *, profile: Path) -> Path:
    """``url`` printed by headless Chromium to ``pdf``, as a reader's "Print" would (A4/Letter, print CSS)."""
    return _chromium(url, pdf, profile, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")


def _chromium(url: str, out: Path, profile: Path, *what: str) -> Path:
    chromium = require_chromium()
    command = [
        chromium,
        "--headless",
        "--no-sandbox",  # tests run as root in CI containers, where Chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *what,
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and out.is_file(), f"chromium failed ({done.returncode}): {done.stderr[-2000:]}"
    return out


def keep(found: Path) -> Path:
    """A copy of ``found`` (a screenshot, a PDF) where a developer or a CI job finds it after the run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(found, ARTIFACTS / found.name))


@contextmanager
def served(app: Callable[..., Any], *, headers: Mapping[str, str]) -> Iterator[str]:
    """``app`` on a real HTTP server on loopback, each request given ``headers`` (what the gateway and the
    user's session would add: Chromium's command line cannot send a bearer token); yields the base URL."""

    def with_headers(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        for name, value in headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, with_headers, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
