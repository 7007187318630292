"""``glimpse worker``: a task runner process without the API (scale-out).

Several workers and several API processes share one database and one set of stores; the
queue's claim rules make sure each task runs in one place at a time. SIGTERM/SIGINT stop
claiming and hand running tasks back to the queue.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from glimpse.core.config import load_settings


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``worker`` sub-command's options (called by glimpse.cli)."""
    parser.description = "run background tasks (imports, copies, resizes) without the API"
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--id", default=None, help="worker id shown in task leases")
    parser.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_serve(args))
    return 0


async def _serve(args: argparse.Namespace) -> None:
    from glimpse.app import build_deps
    from glimpse.cli import _upgrade
    from glimpse.tasks.runner import Runner

    settings = load_settings(overrides={"data_dir": args.data_dir})
    await _upgrade(settings)
    deps = build_deps(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = Runner(deps, worker_id=args.id, concurrency=args.concurrency)
    logging.getLogger(__name__).info("worker %s started", runner.worker)
    try:
        await runner.run(stop)
    finally:
        await deps.stores.close()
        await deps.db.dispose()
