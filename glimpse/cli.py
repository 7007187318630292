"""Command line: ``glimpse serve | db upgrade | schema | token`` (and more as features land).

Sub-commands register themselves in :data:`COMMANDS`; each gets the parsed arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from glimpse.core.config import Settings, load_settings
from glimpse.core.errors import GlimpseError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}
RECEIVE_BUFFER_BYTES = 4 << 20


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {"data_dir": getattr(args, "data_dir", None)}
    for name in ("host", "port", "workers"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    return load_settings(overrides=overrides)


async def _upgrade(settings: Settings) -> None:
    from glimpse.core.db import Database
    from glimpse.models.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    try:
        async with db.engine.begin() as conn:
            await upgrade(conn, settings.effective_database_url)
    finally:
        await db.dispose()


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args)
    asyncio.run(_upgrade(settings))
    print(f"database at revision head ({_redact(settings.effective_database_url)})")
    return 0


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


def cmd_schema(args: argparse.Namespace) -> int:
    from glimpse.schema.root import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from glimpse.policy.tokens import mint_token

    settings = _settings(args)
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    print(mint_token(settings, user=args.user, project=args.project, roles=roles, ttl=args.ttl))
    return 0


ADMIN_TOKEN_FILE = "admin-token"
ADMIN_TOKEN_TTL = 86400


def admin_token_file(settings: Settings) -> Path:
    """``<data_dir>/admin-token``: a 24-hour admin token, readable by its owner only.

    Written when absent or no longer valid (expired, expiring within the hour, or signed
    with a secret that changed), otherwise left as it is: starting the server does not mint
    a new credential each time, and never prints one where logs and terminals keep it.
    ``glimpse token`` mints tokens on request.
    """
    from glimpse.policy.tokens import TokenVerifier, mint_token

    path = settings.data_dir / ADMIN_TOKEN_FILE
    try:
        principal = TokenVerifier(settings).verify(path.read_text().strip())
        if principal.expires_at is not None and principal.expires_at > time.time() + 3600:
            os.chmod(path, 0o600)
            return path
    except (OSError, GlimpseError):
        pass
    token = mint_token(
        settings,
        user="admin",
        project="admin",
        roles=["admin", "member", "reader"],
        ttl=ADMIN_TOKEN_TTL,
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    os.replace(tmp, path)
    return path


def cmd_serve(args: argparse.Namespace) -> int:
    from glimpse.policy.tokens import external_issuer

    settings = _settings(args)
    # Migrate in a child process: the server's supervisor then never imports the ORM stack,
    # which keeps its resident memory small (it only forks and watches workers).
    import subprocess

    subprocess.run(
        [sys.executable, "-m", "glimpse", "db", "upgrade", "--data-dir", str(settings.data_dir)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    os.environ["GLIMPSE_DATA_DIR"] = str(settings.data_dir.resolve())
    workers = settings.serve_workers
    for name, value in (("host", settings.host), ("port", settings.port), ("workers", workers)):
        os.environ[f"GLIMPSE_{name.upper()}"] = str(value)
    picked = "as configured" if settings.workers > 0 else "one per CPU; --workers N to choose"
    where = "(none: tokens come from the external issuer)"
    if not external_issuer(settings):
        where = f"in {admin_token_file(settings).resolve()} (owner only; more: glimpse token)"
    base = f"http://{settings.host}:{settings.port}"
    print(
        f"Glimpse on {base}\n  GraphiQL: {base}/graphql\n  Console:  {base}/ui/\n"
        f"  Glance v2: {base}/v2/images\n  data dir: {settings.data_dir.resolve()}\n"
        f"  workers:  {workers} ({picked})\n"
        f"  admin token: {where}",
        flush=True,
    )
    if args.server == "uvicorn":
        import uvicorn

        uvicorn.run(
            "glimpse.app:app_factory",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_level="info",
        )
        return 0
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    Granian(
        "glimpse.app:app_factory",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=workers,
        websockets=True,
        # Upload bodies arrive as the chunks the server read: each costs a hand-off between
        # the server's thread and the event loop. A bigger read buffer (granian's default
        # is ~400 KiB) lets a Content-Length body come in fewer, larger chunks; the buffer
        # only grows while a connection has that much unread data.
        http1_settings=HTTP1Settings(max_buffer_size=RECEIVE_BUFFER_BYTES),
    ).serve()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glimpse", description="Glimpse image service")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API (GraphQL, Glance v2, console)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--data-dir", default=None)
    serve.add_argument("--workers", type=int, default=None)
    serve.add_argument(
        "--server",
        choices=("granian", "uvicorn"),
        default="granian",
        help="ASGI server (granian has the fast file path for downloads)",
    )
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply migrations")
    up.add_argument("--data-dir", default=None)
    up.set_defaults(func=cmd_db_upgrade)

    schema = sub.add_parser("schema", help="print the federated GraphQL SDL")
    schema.set_defaults(func=cmd_schema)

    token = sub.add_parser("token", help="mint a token for the embedded default")
    token.add_argument("--data-dir", default=None)
    token.add_argument("--user", required=True)
    token.add_argument("--project", default="")
    token.add_argument("--roles", default="member,reader")
    token.add_argument("--ttl", type=int, default=None)
    token.set_defaults(func=cmd_token)

    for name, register in EXTENSIONS.items():
        register(sub.add_parser(name))
    return parser


# Feature packages add sub-commands here: name -> function(subparser) that sets func.
EXTENSIONS: dict[str, Callable[[argparse.ArgumentParser], None]] = {}


def _register_user(parser: argparse.ArgumentParser) -> None:
    from glimpse.cli_accounts import register

    register(parser)


def _register_worker(parser: argparse.ArgumentParser) -> None:
    from glimpse.tasks.worker import register

    register(parser)


def _register_store(parser: argparse.ArgumentParser) -> None:
    from glimpse.cli_store import register

    register(parser)


def _register_metadefs(parser: argparse.ArgumentParser) -> None:
    from glimpse.cli_metadefs import register

    register(parser)


EXTENSIONS["user"] = _register_user
EXTENSIONS["worker"] = _register_worker
EXTENSIONS["metadefs"] = _register_metadefs
EXTENSIONS["store"] = _register_store


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
