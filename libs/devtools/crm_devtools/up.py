"""``crm up``: every installed service as its own processes on this machine (``make up``), behind a gateway.

Registered with the ``crm`` CLI through the ``crm.commands`` entry point group; a service image, which does
not install this package, answers ``crm up`` with a sentence saying it is a development command.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from crm_devtools import devstack
from crm_platform import auth, discovery, logs
from crm_platform.cli import demo_banner
from crm_platform.service import bootstrap
from crm_platform.settings import load


def seed_demo(stack: devstack.Stack) -> dict[str, str]:
    """Each service's first-run demo data (a Demo workspace and its admin), made as ``crm run`` makes it."""
    shown: dict[str, str] = {}
    for name, spec in discovery.specs().items():
        if spec.demo_seed is None or name not in stack.config.services:
            continue
        rt = bootstrap(spec, load(name, stack.env_for(name, "cli")))
        try:
            shown.update(spec.demo_seed(rt))
        finally:
            rt.close()
    return shown


def cmd_up(args: argparse.Namespace) -> int:
    logs.configure("devstack", "INFO")
    amqp_url = devstack.amqp_url_with_vhost(args.amqp_url, args.vhost)
    devstack.ensure_vhost(amqp_url)
    config = devstack.StackConfig(
        var=Path(args.var),
        postgres_url=args.postgres_url,
        amqp_url=amqp_url,
        db_prefix=args.db_prefix,
        gateway_port=args.port,
        base_port=args.base_port,
        smtp_port=args.smtp_port,
    )
    print(
        f"Starting every service on PostgreSQL (databases {args.db_prefix}_<service>) "
        f"and RabbitMQ vhost {args.vhost!r}:"
    )
    print("\n".join(devstack.port_lines(config)), flush=True)
    stack = devstack.Stack(config)
    with stack:
        shown = seed_demo(stack)
        print(
            f"\nCRM microservices are running behind {stack.url}  (logs in {config.var}/logs, mail in {stack.maildir})"
        )
        if "workspace_id" in shown:
            token = auth.mint(
                secret=config.jwt_secret,
                production=False,
                workspace_id=shown["workspace_id"],
                user_id=shown["admin_id"],
                role="admin",
            )
            print(demo_banner(stack.url, shown["workspace_id"], token), flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    up = sub.add_parser("up", help="microservices mode on this machine (PostgreSQL, RabbitMQ, an SMTP sink)")
    up.add_argument("--port", type=int, default=int(os.environ.get("CRM_UP_PORT", "8080")), help="gateway port")
    up.add_argument(
        "--base-port",
        type=int,
        default=int(os.environ.get("CRM_UP_BASE_PORT", "18000")),
        help="first port of the services' processes (each service at its own offset: http, grpc, metrics)",
    )
    up.add_argument("--smtp-port", type=int, default=int(os.environ.get("CRM_UP_SMTP_PORT", "18025")))
    up.add_argument(
        "--db-prefix", default=os.environ.get("CRM_UP_DB_PREFIX", "crm"), help="databases are <prefix>_<service>"
    )
    up.add_argument(
        "--vhost", default=os.environ.get("CRM_UP_VHOST", "crm-up"), help="RabbitMQ vhost, created when missing"
    )
    up.add_argument("--var", default=os.environ.get("CRM_UP_VAR", "var/up"))
    up.add_argument(
        "--postgres-url", default=os.environ.get("CRM_UP_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
    )
    up.add_argument(
        "--amqp-url",
        default=os.environ.get("CRM_UP_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672"),
        help="the RabbitMQ server; the vhost comes from --vhost",
    )
    up.set_defaults(func=cmd_up)
