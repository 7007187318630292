"""``glimpse user add | list | remove | passwd``: local accounts of the embedded default.

Passwords are read from the terminal (twice, not echoed) or, with ``--password-stdin``, as
the first line of standard input (for scripts); never from the command line, where they
would end up in shell history and ``ps``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from glimpse.core.config import Settings
from glimpse.core.errors import GlimpseError

T = TypeVar("T")


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise SystemExit("passwords do not match")
    return first


def _run(args: argparse.Namespace, op: Callable[..., Awaitable[T]], *a: object, **kw: object) -> T:
    from glimpse.app import build_deps
    from glimpse.cli import _settings, _upgrade

    settings: Settings = _settings(args)

    async def main() -> T:
        await _upgrade(settings)
        deps = build_deps(settings)
        try:
            return await op(deps, *a, **kw)
        finally:
            await deps.stores.close()
            await deps.db.dispose()

    return asyncio.run(main())


def cmd_add(args: argparse.Namespace) -> int:
    from glimpse.resolvers import accounts

    roles = [r for r in args.roles.split(",") if r.strip()]
    acct = _run(
        args, accounts.add_user, args.name, _password(args), project=args.project, roles=roles
    )
    print(f"added {acct.name} (project {acct.project or '-'}, roles {','.join(acct.roles)})")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from glimpse.resolvers import accounts

    for a in _run(args, accounts.list_users):
        created = f"{a.created_at:%Y-%m-%dT%H:%M:%SZ}"
        print(f"{a.name}\t{a.project or '-'}\t{','.join(a.roles)}\t{created}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from glimpse.resolvers import accounts

    _run(args, accounts.remove_user, args.name)
    print(f"removed {args.name}")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    from glimpse.resolvers import accounts

    _run(args, accounts.set_password, args.name, _password(args))
    print(f"password of {args.name} changed")
    return 0


def _guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except GlimpseError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    return run


def register(parser: argparse.ArgumentParser) -> None:
    """Attach the ``user`` sub-commands to ``parser`` (called through cli.EXTENSIONS)."""
    parser.description = "manage local accounts (embedded default, no identity provider)"
    sub = parser.add_subparsers(dest="user_command", required=True)
    for name, func, help_ in (
        ("add", cmd_add, "create a user"),
        ("list", cmd_list, "list users"),
        ("remove", cmd_remove, "delete a user"),
        ("passwd", cmd_passwd, "change a user's password"),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--data-dir", default=None)
        if name != "list":
            p.add_argument("name")
        if name in ("add", "passwd"):
            p.add_argument("--password-stdin", action="store_true")
        if name == "add":
            p.add_argument("--project", default="")
            p.add_argument("--roles", default="member,reader")
        p.set_defaults(func=_guarded(func))
