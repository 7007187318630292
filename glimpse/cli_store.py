"""``glimpse store sweep``: remove orphan blobs and abandoned writes now (the task runner
also does it every hour)."""

from __future__ import annotations

import argparse

from glimpse.cli_accounts import _run


def cmd_sweep(args: argparse.Namespace) -> int:
    from glimpse.resolvers import sweep

    results = _run(args, sweep.sweep, grace_seconds=args.grace)
    for r in results:
        print(
            f"{r.store}: removed {r.orphans} orphan blobs ({r.orphan_bytes} bytes) and "
            f"{r.partial_writes} unfinished writes"
        )
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="store_command", required=True)
    sweep = sub.add_parser("sweep", help="remove blobs no image refers to, and abandoned writes")
    sweep.add_argument("--data-dir", default=None)
    sweep.add_argument(
        "--grace",
        type=float,
        default=3600.0,
        help="only touch what is older than this many seconds (default 3600)",
    )
    sweep.set_defaults(func=cmd_sweep)
