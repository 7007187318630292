"""The orphan sweep against a real database and filesystem store: what a dead process left
behind goes, what any image location names (staged data included) stays."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from glimpse.resolvers import data, images, sweep
from glimpse.resolvers.images import ImageCreate
from tests.conftest import Personas


async def _chunks(payload: bytes) -> AsyncIterator[bytes]:
    yield payload


async def _image(deps: Any, who: Any) -> str:
    rec = await images.create(
        deps, who, ImageCreate({"name": "s", "disk_format": "raw", "container_format": "bare"})
    )
    return rec.image.id


async def test_sweep_removes_orphans_and_dead_writes_only(deps: Any, personas: Personas) -> None:
    who = personas.p1_member
    active = (await data.upload(deps, who, await _image(deps, who), _chunks(b"kept"))).image
    staged_id = await _image(deps, who)
    await data.stage(deps, who, staged_id, _chunks(b"staged"))
    store = deps.stores.default
    orphan = await store.put("crashed-after-put", _chunks(os.urandom(1000)))
    root = Path(deps.settings.effective_stores[0].options["path"])
    dead_temp = root / ".crashed-mid-write.x1.tmp"
    dead_temp.write_bytes(b"half")

    # Within the grace period nothing is touched: a writer may be about to record its blob.
    recent = await sweep.sweep(deps, grace_seconds=3600)
    assert [(r.orphans, r.partial_writes) for r in recent] == [(0, 0)]
    assert await store.stat(orphan.uri) == 1000

    later = time.time() + 7200
    (result,) = await sweep.sweep(deps, grace_seconds=3600, now=later)
    assert (result.store, result.orphans, result.orphan_bytes, result.partial_writes) == (
        "local",
        1,
        1000,
        1,
    )
    assert await store.stat(orphan.uri) is None
    assert not dead_temp.exists()
    remaining = sorted([b.size async for b in store.blobs()])
    assert remaining == [4, 6]  # the active image's data and the staged data
    dl = await data.prepare_download(deps, who, active.id)
    assert b"".join([c async for c in dl.chunks()]) == b"kept"
    # A second sweep finds nothing more.
    (again,) = await sweep.sweep(deps, grace_seconds=3600, now=later)
    assert (again.orphans, again.partial_writes) == (0, 0)


async def test_sweep_skips_files_the_store_would_never_write(deps: Any) -> None:
    odd = _plant(Path(deps.settings.effective_stores[0].options["path"]), "name with spaces")
    (result,) = await sweep.sweep(deps, grace_seconds=0, now=time.time() + 10)
    assert result.orphans == 0
    assert odd.exists()  # left for the operator, and the sweep finished


def _plant(root: Path, name: str) -> Path:
    """A file put in the store's directory by hand, not through the store."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / name
    path.write_bytes(b"?")
    return path
