"""The HTTP floor of the ceiling figures: a bare Flask app that answers ``POST /v1/contacts`` with 201 and
the JSON body it parsed, and does nothing else (no auth, validation, database, metrics or logs).

Served by ``crm_platform.processes.run_http``, the very function ``crm serve <service> http`` uses, so the
gunicorn settings are the stack's own (its worker class, workers, threads, no access log). Run as
``python bench/floor_app.py PORT WORKERS THREADS``; it serves until SIGTERM. See bench/README.md.
"""

from __future__ import annotations

import sys

from flask import Flask, jsonify, request

from crm_platform.processes import run_http


def build_app() -> Flask:
    app = Flask("floor")

    @app.post("/v1/contacts")
    def create():  # type: ignore[no-untyped-def]
        return jsonify(request.get_json()), 201

    return app


if __name__ == "__main__":
    port, workers, threads = (int(arg) for arg in sys.argv[1:4])
    run_http(build_app, host="127.0.0.1", port=port, workers=workers, threads=threads)
