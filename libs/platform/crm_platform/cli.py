"""``crm``: the one entry point of every process type and operator task.

crm run                                   all-in-one mode on http://127.0.0.1:8080
crm up                                    microservices mode on this machine, behind a gateway on :8080
crm serve <service> http|grpc|worker      one process of one service (microservices mode); a service may
                                          declare more (the mailer's ``smtp``)
crm migrate <service>                     apply migrations and declare the service's queues
crm token --workspace ID --user U --role admin|agent
crm service-keys [--secret NAME] [-n NS]   new gRPC service keys, as a kubectl command making the chart's Secret
crm deadletters list|replay <service>     inspect or replay parked events
crm makemigration <service> -m MESSAGE    autogenerate a migration (development)
crm workspace create NAME                 (contributed by the contacts service)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path

from crm_platform import auth, discovery, logs, migrations
from crm_platform.allinone import environment, is_var_dir
from crm_platform.bus import BusUnavailable
from crm_platform.errors import DomainError
from crm_platform.service import BUILTIN_PROCESS_TYPES, Runtime, ServiceSpec, bootstrap, discover
from crm_platform.settings import SettingsError, load

DEFAULT_VAR = "var"
DEFAULT_ALLINONE_GRPC_PORT = "50151"
COMMANDS_GROUP = "crm.commands"  # entry points adding commands: ``register(subparsers)``
DEVELOPMENT_COMMANDS = ("up", "mail")  # contributed by crm_devtools, which no image installs


def _spec(name: str) -> ServiceSpec:
    specs = discover()
    if name not in specs:
        installed = ", ".join(sorted(specs)) or "none"
        raise SettingsError(f"service {name!r} is not installed here (installed: {installed})")
    return specs[name]


def var_dir(var: str | None = None) -> Path:
    """All-in-one mode's data folder: ``--var``, else ``CRM_VAR_DIR``, else ``./var`` (where ``make run`` keeps it)."""
    return Path(var or os.environ.get("CRM_VAR_DIR") or DEFAULT_VAR)


def operator_environment(var: str | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment an operator command reads its settings from.

    The process's own when it names a database (microservices mode, the chart's Jobs); otherwise the
    settings of the all-in-one mode whose ``var/`` is found (its SQLite files, local bus and JWT secret),
    so that ``crm workspace create`` and friends work as printed beside a running ``make run``.
    """
    env = dict(os.environ if base is None else base)
    folder = var_dir(var)
    if any(key.endswith("_DATABASE_URL") and value for key, value in env.items()) or not is_var_dir(folder):
        return env
    grpc_port = int(env.get("CRM_ALLINONE_GRPC_PORT", DEFAULT_ALLINONE_GRPC_PORT))
    return environment(folder, grpc_port=grpc_port, base=env, create=False)


def runtime_for(name: str, var: str | None = None) -> Runtime:
    """The runtime of an operator command on ``name``'s database (see ``operator_environment``)."""
    spec = _spec(name)
    env = operator_environment(var)
    try:
        settings = load(name, env)
    except SettingsError as error:
        if not is_var_dir(var_dir(var)):
            hint = (
                f"; or run it beside `crm run` (no all-in-one data in {var_dir(var).resolve()}; choose it with --var)"
            )
            raise SettingsError(f"{error}{hint}") from None
        raise
    logs.configure(name, settings.log_level)
    return bootstrap(spec, settings)


def cmd_serve(args: argparse.Namespace) -> int:
    from crm_platform import processes

    spec = _spec(args.service)
    if args.process not in (*BUILTIN_PROCESS_TYPES, *spec.process_types):
        own = ", ".join((*BUILTIN_PROCESS_TYPES, *sorted(spec.process_types)))
        raise SettingsError(f"the {spec.name} service has no {args.process!r} process (it has: {own})")
    rt = bootstrap(spec, load(args.service))
    logs.configure(args.service, rt.settings.log_level)
    if args.process == "http":
        from crm_platform.web import create_app

        settings = rt.settings
        rt.close()  # each gunicorn worker builds its own runtime after the fork

        def build_app():  # type: ignore[no-untyped-def]
            return create_app(bootstrap(_spec(args.service), settings))

        processes.run_http(
            build_app,
            host=settings.listen_host,
            port=settings.http_port,
            workers=int(os.environ.get("CRM_HTTP_WORKERS", str(processes.DEFAULT_HTTP_WORKERS))),
            threads=int(os.environ.get("CRM_HTTP_THREADS", str(processes.DEFAULT_HTTP_THREADS))),
        )
    elif args.process == "grpc":
        processes.run_grpc(rt)
    elif args.process == "worker":
        processes.run_worker(rt)
    else:
        spec.process_types[args.process].run(rt)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    rt = runtime_for(args.service, args.var)
    migrations.upgrade(rt.spec, rt.settings.database_url, args.revision)
    print(f"{args.service}: database at {args.revision}")
    if rt.spec.subscriptions.handlers and not args.skip_bus:
        bus = rt.connect_bus()
        try:
            bus.declare(rt.spec.queue, rt.spec.subscriptions.bindings)
        finally:
            bus.close()
        print(f"{args.service}: queue {rt.spec.queue} bound to {', '.join(rt.spec.subscriptions.bindings)}")
    rt.close()
    return 0


def cmd_makemigration(args: argparse.Namespace) -> int:
    rt = runtime_for(args.service, args.var)
    migrations.revision(rt.spec, rt.settings.database_url, args.message)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    secret = os.environ.get("CRM_JWT_SECRET")
    production = os.environ.get("CRM_ENV") == "production"
    fallback = var_dir(args.var) / "jwt-secret"
    if not secret and not production and fallback.exists():
        secret = fallback.read_text().strip()  # the all-in-one mode's development secret
    print(
        auth.mint(
            secret=secret,
            production=production,
            workspace_id=args.workspace,
            user_id=args.user,
            role=args.role,
            audience=os.environ.get("CRM_JWT_AUDIENCE"),
            issuer=os.environ.get("CRM_JWT_ISSUER"),
            ttl_seconds=args.ttl,
        )
    )
    return 0


def cmd_service_keys(args: argparse.Namespace) -> int:
    from crm_platform import service_tokens

    private = {service: service_tokens.new_private_key() for service in args.service or discovery.names()}
    trusted = service_tokens.format_trusted({s: [service_tokens.public_key_of(k)] for s, k in private.items()})
    literals = [f"--from-literal={service}={key}" for service, key in private.items()]
    lines = [f"kubectl -n {args.namespace} create secret generic {args.secret}", *literals]
    lines.append(f"--from-literal=trusted={trusted}")
    print(" \\\n  ".join(lines))
    return 0


def cmd_deadletters(args: argparse.Namespace) -> int:
    rt = runtime_for(args.service, args.var)
    bus = rt.connect_bus()
    try:
        if args.action == "list":
            parked = bus.dead_letters(rt.spec.queue, limit=args.limit)
            for letter in parked:
                print(f"{letter.event_id}\t{letter.event_type}\tattempts={letter.attempts}\t{letter.reason}")
            print(f"{len(parked)} dead-lettered event(s) in {rt.spec.queue}.dead")
        else:
            print(f"replayed {bus.replay_dead_letters(rt.spec.queue)} event(s) into {rt.spec.queue}")
    finally:
        bus.close()
        rt.close()
    return 0


def demo_banner(base: str, workspace_id: str, token: str) -> str:
    """The first-run banner's demo workspace, admin token and the requests the services offer to try."""
    lines = [f"Demo workspace: {workspace_id}", f"Admin token:    {token}", ""]
    tries = [request for spec in discover().values() for request in spec.demo_requests]
    if tries:
        lines.append("Try it:")
    for method, path, body in tries:
        verb = "" if method == "GET" else f" -X {method}"
        sent = "" if body is None else f" -H 'Content-Type: application/json' -d '{body}'"
        lines.append(f"  curl -s{verb} {base}{path} -H 'Authorization: Bearer {token}'{sent}")
    return "\n".join(lines) + "\n"


def cmd_run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from crm_platform import httpserver
    from crm_platform.allinone import AllInOne, environment

    var = Path(args.var)
    env = environment(var, grpc_port=args.grpc_port)
    env.setdefault("CRM_ENV", "development")
    logs.configure("allinone", env.get("CRM_LOG_LEVEL", "INFO"))
    platform = AllInOne(discover(), env, grpc_port=args.grpc_port)
    platform.start()
    shown = platform.seed_demo()
    listener = httpserver.listen(args.host, args.port)
    server = httpserver.HttpServer(platform.wsgi, [listener], threads=16, limits=httpserver.ServerLimits.from_env(env))
    base = f"http://{args.host}:{args.port}"
    if "workspace_id" in shown:
        token = platform.admin_token(shown["workspace_id"], shown["admin_id"])
        print(f"\nCRM all-in-one is running on {base}  (data in {var.resolve()})")
        print(demo_banner(base, shown["workspace_id"], token), flush=True)

    stop = threading.Event()
    died: list[str] = []

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()
        server.stop()

    def watch_workers() -> None:  # a worker whose loop died stops the whole process, which says why
        while not stop.wait(1.0):
            if (reason := platform.dead_worker()) is not None:
                died.append(reason)
                stop.set()
                server.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=watch_workers, name="worker-watch", daemon=True).start()
    try:
        server.run(grace=5)
    finally:
        listener.close()
        platform.stop()
    if died:
        print(f"crm run: stopping, a worker died: {died[0]}", file=sys.stderr)
        return 1
    return 0


def cmd_development_only(args: argparse.Namespace) -> int:
    raise SettingsError(
        f"`crm {args.command}` is a development command (every service on this machine, an SMTP sink, a gateway); "
        "it is not installed here, as in a service image. In a checkout, `make setup` installs it (libs/devtools)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm", description="CRM platform command line")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="all-in-one mode: every service in one process")
    run.add_argument("--host", default=os.environ.get("CRM_HOST", "127.0.0.1"))
    run.add_argument("--port", type=int, default=int(os.environ.get("CRM_PORT", "8080")))
    run.add_argument(
        "--grpc-port", type=int, default=int(os.environ.get("CRM_ALLINONE_GRPC_PORT", DEFAULT_ALLINONE_GRPC_PORT))
    )
    run.add_argument("--var", default=str(var_dir()))
    run.set_defaults(func=cmd_run)

    # Commands of the installed tools (crm_devtools' `up`); in an image `crm up` says it is a development one.
    for entry in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        entry.load()(sub)
    for name in DEVELOPMENT_COMMANDS:
        if name not in sub.choices:
            stub = sub.add_parser(name, help="development command (not installed here)", add_help=False)
            stub.set_defaults(func=cmd_development_only)

    services = discovery.names()
    serve = sub.add_parser("serve", help="run one process of one service")
    serve.add_argument("service", choices=services)
    own = sorted({name for spec in discover().values() for name in spec.process_types} - set(BUILTIN_PROCESS_TYPES))
    serve.add_argument("process", choices=(*BUILTIN_PROCESS_TYPES, *own))
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply a service's migrations and declare its queues")
    migrate.add_argument("service", choices=services)
    migrate.add_argument("--revision", default="heads", help="default: heads (the service's and the platform's)")
    migrate.add_argument("--skip-bus", action="store_true", help="do not declare the queue on the broker")
    migrate.set_defaults(func=cmd_migrate)

    make = sub.add_parser("makemigration", help="autogenerate a migration from the models")
    make.add_argument("service", choices=services)
    make.add_argument("-m", "--message", required=True)
    make.set_defaults(func=cmd_makemigration)

    token = sub.add_parser("token", help="mint a development token (needs CRM_JWT_SECRET, refused in production)")
    token.add_argument("--workspace", required=True)
    token.add_argument("--user", required=True)
    token.add_argument("--role", required=True, choices=auth.ROLES)
    token.add_argument("--ttl", type=int, default=30 * 24 * 3600, help="seconds the token stays valid")
    token.set_defaults(func=cmd_token)

    keys = sub.add_parser("service-keys", help="new gRPC service keys, printed as the chart's Secret")
    keys.add_argument("--secret", default="crm-service-keys", help="name of the Secret (grpcAuth.existingSecret)")
    keys.add_argument("--namespace", "-n", default="crm", help="namespace of the release (default crm)")
    keys.add_argument(
        "--service", action="append", help="a service to make a key for (repeat; default: every installed one)"
    )
    keys.set_defaults(func=cmd_service_keys)

    dead = sub.add_parser("deadletters", help="inspect or replay a service's dead-lettered events")
    dead.add_argument("action", choices=("list", "replay"))
    dead.add_argument("service", choices=services)
    dead.add_argument("--limit", type=int, default=100)
    dead.set_defaults(func=cmd_deadletters)

    for spec in discover().values():
        if spec.cli is not None:
            spec.cli(sub)
    for name, command in sub.choices.items():
        if name not in ("run", "up", "serve"):
            _add_var_option(command)
    return parser


def _add_var_option(parser: argparse.ArgumentParser) -> None:
    """Give an operator command (and each of its subcommands) ``--var``: the all-in-one data it works on."""
    nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for action in nested:
        for child in action.choices.values():
            _add_var_option(child)
    if not nested and "--var" not in parser._option_string_actions:
        parser.add_argument(
            "--var",
            default=None,
            help="all-in-one mode's data folder, used when no *_DATABASE_URL is set (default: $CRM_VAR_DIR or ./var)",
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.func is not cmd_development_only:  # whose options are those of a command not here
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.func(args) or 0)
    except (SettingsError, DomainError, BusUnavailable) as exc:
        print(f"crm: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
