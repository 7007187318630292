"""``glimpse metadefs load|export``: the metadata definitions catalog as Glance JSON files.

``load DIR`` imports every ``*.json`` namespace document in DIR (Glance's ``etc/metadefs``
format) in one transaction; re-running updates namespaces in place, never duplicating them.
``export DIR`` writes one file per namespace. Both run as the deployment's administrator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from pathlib import Path
from typing import Any

from glimpse.core.config import load_settings
from glimpse.core.context import Principal, RequestContext
from glimpse.core.errors import GlimpseError

ADMIN = RequestContext(
    Principal(
        user_id="glimpse-cli", project_id="admin", roles=frozenset({"admin", "member", "reader"})
    )
)


def register(parser: argparse.ArgumentParser) -> None:
    """Add ``load`` and ``export`` under ``glimpse metadefs``."""
    parser.description = "metadata definitions catalog (Glance metadefs JSON files)"
    sub = parser.add_subparsers(dest="metadefs_command", required=True)
    for name, func, text in (
        ("load", cmd_load, "import (create or update) every *.json namespace file in DIR"),
        ("export", cmd_export, "write every namespace to DIR as Glance JSON files"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--data-dir", default=None)
        cmd.add_argument("dir", metavar="DIR")
        cmd.set_defaults(func=func)


async def _run(data_dir: str | None, work: Any) -> Any:
    from glimpse.app import build_deps
    from glimpse.models.migrate import upgrade

    settings = load_settings(overrides={"data_dir": data_dir})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    deps = build_deps(settings)
    try:
        async with deps.db.engine.begin() as conn:
            await upgrade(conn, settings.effective_database_url)
        return await work(deps)
    finally:
        await deps.stores.close()
        await deps.db.dispose()


def cmd_load(args: argparse.Namespace) -> int:
    from glimpse.resolvers.metadef_catalog import import_documents

    files = sorted(Path(args.dir).glob("*.json"))
    docs = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    try:
        done = asyncio.run(_run(args.data_dir, lambda deps: import_documents(deps, ADMIN, docs)))
    except GlimpseError as exc:
        print(f"error: {exc}")
        return 1
    created = sum(1 for _, new in done if new)
    print(
        f"loaded {len(done)} namespaces from {args.dir}: {created} created, "
        f"{len(done) - created} updated"
    )
    return 0


def file_name(namespace: str) -> str:
    """A portable file name for a namespace (``OS::Compute::Quota`` -> ``OS-Compute-Quota``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", namespace).strip("-") + ".json"


def cmd_export(args: argparse.Namespace) -> int:
    from glimpse.resolvers.metadef_catalog import export_documents

    docs = asyncio.run(_run(args.data_dir, lambda deps: export_documents(deps, ADMIN)))
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    for doc in docs:
        text = json.dumps(doc, indent=4, ensure_ascii=False) + "\n"
        (out / file_name(doc["namespace"])).write_text(text, encoding="utf-8")
    print(f"exported {len(docs)} namespaces to {out}")
    return 0
