"""``bgmock serve | openapi | contracts | check``.

Every ``serve`` flag can also be set as ``BGMOCK_<NAME>`` (e.g. ``BGMOCK_PORT=9000``) or in the
``--config`` file; the command line wins over the environment, which wins over the file.
A bad setting is one line on stderr, ``bgmock: <where>: <what is wrong>``, and exit status 2;
a port that cannot be bound, ``bgmock: cannot listen on <host>:<port>: <reason>``, status 3.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence

from bgmock.server import __version__
from bgmock.server.settings import Settings, plain, resolve_sources

# Listed here, not read from bgmock.server.providers (importing them costs ~0.2 s of start-up);
# tests/test_settings_cli.py checks the two agree.
PROVIDERS = (("Topview", "/topview"), ("Aidge", "/aidge"), ("PICPIK", "/picpik"),
             ("Runware", "/runware"))
EXIT_SETTINGS, EXIT_LISTEN = 2, 3
# What imaging workers import before the first job (their forkserver imports it once).
IMAGING_PRELOAD = ("bgmock.server.app", "numpy")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bgmock",
        description="Offline, faithful fakes of image-AI provider APIs ("
                    + "; ".join(f"{name} under {prefix}" for name, prefix in PROVIDERS)
                    + "; admin API under /__admin).")
    parser.add_argument("--version", action="version", version=f"bgmock {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="run the mock server",
        description="Run the mock. Each flag is also read from BGMOCK_<FLAG> (e.g. BGMOCK_PORT); "
                    "flags beat environment variables, which beat the --config file.")
    d = Settings()
    serve.add_argument("--host", help=f"address to bind (BGMOCK_HOST, default {d.host}; the "
                                      "container uses 0.0.0.0)")
    serve.add_argument("--port",
                       help=f"port to listen on (BGMOCK_PORT, default {d.port})")
    serve.add_argument("--clock", choices=["real", "virtual"],
                       help="real: wall time; virtual: frozen until POST /__admin/clock/advance "
                            f"(BGMOCK_CLOCK, default {d.clock})")
    serve.add_argument("--speed",
                       help="divide every task duration by this factor, e.g. 10 = ten times "
                            f"faster (BGMOCK_SPEED, default {d.speed})")
    serve.add_argument("--instant", action="store_true", default=None,
                       help="tasks finish on their first poll (BGMOCK_INSTANT)")
    serve.add_argument("--seed",
                       help="seed for ids, signing keys and fault draws: the same ids every run "
                            "(BGMOCK_SEED; default: fresh ids each start and reset)")
    serve.add_argument("--config", help="JSON or TOML file with any setting plus 'accounts' "
                                        "(BGMOCK_CONFIG)")
    serve.add_argument("--public-url", dest="public_url",
                       help="base URL written into result and upload URLs (BGMOCK_PUBLIC_URL; "
                            "default: the URL each request came in on)")
    serve.add_argument("--admin-token", dest="admin_token",
                       help="require 'Authorization: Bearer <token>' on /__admin "
                            "(BGMOCK_ADMIN_TOKEN)")
    serve.add_argument("--log-level", dest="log_level",
                       choices=["critical", "error", "warning", "info", "debug"],
                       help=f"log level (BGMOCK_LOG_LEVEL, default {d.log_level})")
    serve.add_argument("--access-log", dest="access_log", action="store_true", default=None,
                       help="log one line per request at info level (BGMOCK_ACCESS_LOG; "
                            "default off: GET /__admin/requests has every request)")
    limits = serve.add_argument_group(
        "connection limits", "a long-running shared mock's guards (also BGMOCK_<NAME>)")
    limits.add_argument("--max-connections", dest="max_connections",
                        help="connections served at once; one more gets 503 "
                             f"(default {d.max_connections})")
    limits.add_argument("--header-timeout", dest="header_timeout",
                        help="seconds a connection has to send its request head "
                             f"(default {d.header_timeout:g})")
    limits.add_argument("--keep-alive-timeout", dest="keep_alive_timeout",
                        help="seconds an idle keep-alive connection stays open "
                             f"(default {d.keep_alive_timeout:g})")
    limits.add_argument("--shutdown-timeout", dest="shutdown_timeout",
                        help="seconds in-flight requests get on SIGTERM "
                             f"(default {d.shutdown_timeout:g})")
    serve.add_argument("--replay",
                       help="answer requests that match a recorded exchange (bgmock check "
                            "--record DIR) with the recorded answer, ids and URLs rewritten "
                            "to the mock's own (BGMOCK_REPLAY)")
    serve.add_argument("--imaging-processes", dest="imaging_processes",
                       help="worker processes for image work (BGMOCK_IMAGING_PROCESSES; "
                            "default: one per core; 0: threads of the server process)")

    openapi = commands.add_parser("openapi", help="print a provider's OpenAPI 3.1 document")
    openapi.add_argument("provider")
    commands.add_parser("contracts", help="list the contract schemas")
    # issue 12: `bgmock check` parses its own arguments (bgmock.check.cli; exit 2 is drift there)
    commands.add_parser("check", add_help=False,
                        help="run the contract checks against a target (bgmock check --help)")
    return parser


def _fail(message: str, status: int) -> int:
    print(f"bgmock: {message}", file=sys.stderr)
    return status


def serve(settings: Settings, accounts_from: str = "accounts",
          replay_from: str = "--replay") -> int:
    """Build the app (which checks the accounts), bind the port, then hand over to uvicorn."""
    from bgmock.server import server
    from bgmock.server.app import create_app
    from bgmock.server.core.replay import Recording, RecordingError
    from bgmock.server.providers import all_providers

    recording = None
    if settings.replay:
        try:
            recording = Recording.load(settings.replay)
        except RecordingError as exc:
            return _fail(f"{replay_from}: {exc}", EXIT_SETTINGS)

    known = {p.name for p in all_providers()}
    unknown = sorted(set(settings.accounts) - known)
    if unknown:
        return _fail(f"{accounts_from}: accounts.{plain(unknown[0])}: unknown provider "
                     f"(known: {', '.join(sorted(known))})", EXIT_SETTINGS)
    try:
        app = create_app(settings, recording=recording)
    except ValueError as exc:  # a configured account the provider refuses
        return _fail(f"{accounts_from}: {exc}", EXIT_SETTINGS)
    try:
        sockets = server.listen(settings.host, settings.port)
    except OSError as exc:
        return _fail(f"cannot listen on {server.address(settings.host, settings.port)}: "
                     f"{exc.strerror or exc}", EXIT_LISTEN)
    # uvicorn handles SIGTERM/SIGINT (stop accepting, finish in-flight requests, shut down),
    # then re-raises the signal into the handler that was there before. A quiet handler here
    # turns a graceful stop into exit status 0 instead of death by signal.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    from bgmock.server.core import imaging, workers

    processes = settings.imaging_processes
    workers.configure(workers.cores() if processes is None else processes,
                      preload=IMAGING_PRELOAD,  # started on the first image job (D150)
                      setup=imaging.worker_setup)
    try:
        server.run(app, settings, sockets)
    finally:
        workers.shutdown()  # no worker outlives the server
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["check"]:  # issue 12: its own parser and exit statuses
        from bgmock.check.cli import main as check

        return check(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "openapi":
        from bgmock import contracts

        if args.provider not in contracts.providers():
            print(f"unknown provider {args.provider!r}; known: {', '.join(contracts.providers())}",
                  file=sys.stderr)
            return 2
        json.dump(contracts.openapi(args.provider), sys.stdout, indent=2)
        print()
        return 0
    if args.command == "contracts":
        from bgmock import contracts

        for provider in contracts.providers():
            for name in contracts.names(provider):
                print(f"{provider}/{name}")
        return 0
    options = {k: v for k, v in vars(args).items() if k != "command"}
    try:
        settings, sources = resolve_sources(options)
    except ValueError as exc:
        return _fail(str(exc), EXIT_SETTINGS)
    return serve(settings, sources.get("accounts", "accounts"),
                 sources.get("replay", "--replay"))
