"""Interoperable image import (Glance §1.5): glance-direct, web-download, copy-image.

``start_import`` validates, moves the image to ``importing`` (copy-image keeps ``active``),
takes the import lock and writes the ``api_image_import`` task in one transaction. The task
(:func:`run_import`) then writes the data to each target store in turn; each finished
store is recorded at once (location, hashes, shrinking ``os_glance_importing_to_stores``),
so a task claimed again after a crash continues with the stores still missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete as sa_delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.clock import utcnow
from glimpse.core.context import RequestContext
from glimpse.core.errors import Conflict, GlimpseError, InvalidInput, NotFound, QuotaExceeded
from glimpse.models.status import check_transition
from glimpse.models.tables import Image, ImageLocation, Task
from glimpse.policy.rules import Target
from glimpse.resolvers import (
    events,
    import_plugins,
    quotas,
    redact,
    signatures,
    text,
    transfer,
    web_download,
)
from glimpse.resolvers import image_lock as lk
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.images import load_for, remove_blobs
from glimpse.resolvers.task_queue import Progress, enqueue, wake

ALL_METHODS = ("glance-direct", "web-download", "copy-image", "glance-download")
NEEDS_STATUS = {"glance-direct": "uploading", "web-download": "queued", "copy-image": "active"}


@dataclass(frozen=True)
class ImportRequest:
    """A neutral import request (REST body or GraphQL input)."""

    method: str
    uri: str | None = None
    stores: tuple[str, ...] | None = None
    all_stores: bool = False
    all_stores_must_succeed: bool = True


def methods(deps: Deps) -> tuple[str, ...]:
    """Import methods this deployment offers (``/v2/info/import`` and the create header)."""
    return tuple(m for m in deps.settings.imports.methods if m in NEEDS_STATUS)


async def start_import(deps: Deps, ctx: RequestContext, image_id: str, req: ImportRequest) -> str:
    """Accept an import; returns the task id. Errors: 400 bad request, 409 wrong state."""
    if req.method not in methods(deps):
        raise InvalidInput(f"Import method {req.method!r} is not available")
    text.check(req.uri, "import URI")
    text.check_tree(req.stores, "store name")
    if not req.all_stores_must_succeed and not deps.settings.multi_store:
        raise InvalidInput("all_stores_must_succeed=false needs several stores")
    if req.method == "web-download":
        # State first (an import into an active image is a 409 whatever its URI), then the
        # URI filter - outside the write transaction, as it resolves host names.
        async with deps.db.read() as s:
            _check_state(await load_for(s, deps, ctx, image_id, "modify_image"), req.method)
        await web_download.check(
            deps.settings.imports, req.uri or "", web_download.resolver_of(deps)
        )
    async with deps.db.begin() as s:
        image = await load_for(s, deps, ctx, image_id, "modify_image")
        if req.method == "copy-image":
            deps.policy.enforce("copy_image", ctx.principal, Target(owner=image.owner))
        _check_state(image, req.method)
        held = await _held_stores(s, image.id)
        stores = _targets(deps, req, held)
        staged = await _staged(s, image.id)
        if req.method == "glance-direct" and staged is None:
            raise Conflict(f"Image {image.id} has no staged data")
        await _check_quota(deps, s, image, req.method, staged, len(held), len(stores))
        task_input: dict[str, Any] = {
            "method": req.method,
            "stores": stores,
            "all_stores_must_succeed": req.all_stores_must_succeed,
        }
        if req.uri is not None:
            task_input["uri"] = req.uri
        task_input.update(_glance_input(image.id, req, stores))
        task_input.update(import_plugins.task_options(deps, ctx, image, req.method))
        task = enqueue(s, ctx, "api_image_import", task_input, image_id=image.id)
        await lk.take(s, deps, image.id, task.id)
        await lk.set_prop(s, image.id, lk.IMPORTING, ",".join(stores))
        await lk.set_prop(s, image.id, lk.FAILED, "")
        if req.method != "copy-image":
            check_transition(image.status, "importing")
            image.status = "importing"
        image.updated_at = utcnow()
        s.add(image)
        # The log is readable by everyone who sees the image: no import request copy (it
        # repeats the URI), and URIs at any depth without credentials or a signed query.
        hidden = {"import_req", "image_id", "backend"}
        shown = {k: v for k, v in task_input.items() if k not in hidden}
        shown = redact.uris({**shown, "status": image.status})
        events.record(s, ctx, image.id, "import_started", shown)
    wake(deps)
    return task.id


async def _check_quota(
    deps: Deps,
    s: AsyncSession,
    image: Image,
    method: str,
    staged: ImageLocation | None,
    held: int,
    adding: int,
) -> None:
    """Before the work: every target store will hold one more copy. The size is known for
    glance-direct (staged) and copy-image (active); a web-download needs at least some room.
    Each copy is checked again when it lands (:func:`_record_store`)."""
    cap = await quotas.size_cap(deps, s, image.owner, image.id)
    if method == "web-download":
        if cap is not None and cap <= 0:
            raise QuotaExceeded("Image storage quota exceeded: nothing left to import into")
        return
    each = image.size if method == "copy-image" else (staged.meta.get("size") if staged else None)
    if isinstance(each, int):
        quotas.check_size(cap, each * (held + adding))


def _glance_input(image_id: str, req: ImportRequest, stores: list[str]) -> dict[str, Any]:
    """The keys Glance's import tasks carry in ``input``: the image, the import request
    and the target stores (clients and tempest read them from the image's tasks). The
    request is for reading only, so its URI is redacted (it may carry credentials or a
    signed query); the download uses the input's own ``uri``."""
    method: dict[str, Any] = {"name": req.method}
    if req.uri is not None:
        method["uri"] = redact.uri(req.uri)
    import_req: dict[str, Any] = {
        "method": method,
        "all_stores": req.all_stores,
        "all_stores_must_succeed": req.all_stores_must_succeed,
    }
    if req.stores is not None:
        import_req["stores"] = list(req.stores)
    return {"image_id": image_id, "import_req": import_req, "backend": stores}


def _check_state(image: Image, method: str) -> None:
    if not image.disk_format or not image.container_format:
        raise Conflict("disk_format and container_format must be set before importing")
    need = NEEDS_STATUS[method]
    if image.status != need:
        raise Conflict(f"Image {image.id} must be '{need}' for {method}, not '{image.status}'")


def _targets(deps: Deps, req: ImportRequest, held: list[str]) -> list[str]:
    if req.all_stores:
        names = [n for n in deps.stores.names if not deps.stores.get(n).read_only]
        if req.method == "copy-image":
            names = [n for n in names if n not in held]
    elif req.stores:
        names = list(dict.fromkeys(req.stores))
        for n in names:
            if n not in deps.stores:
                raise Conflict(f"Unknown store {n}")
            if req.method == "copy-image" and n in held:
                raise InvalidInput(f"Image is already present in store {n}")
    elif req.method == "copy-image":
        raise InvalidInput("copy-image needs 'stores' or 'all_stores'")
    else:
        names = [deps.stores.default_name]
    if not names:
        raise InvalidInput("No store to import to")
    return names


async def _held_stores(s: AsyncSession, image_id: str) -> list[str]:
    rows = await s.exec(
        select(ImageLocation).where(
            ImageLocation.image_id == image_id, ImageLocation.status == "active"
        )
    )
    return [r.store for r in rows]


async def _staged(s: AsyncSession, image_id: str) -> ImageLocation | None:
    rows = await s.exec(
        select(ImageLocation).where(
            ImageLocation.image_id == image_id, ImageLocation.status == "staging"
        )
    )
    return rows.first()


# ---------------------------------------------------------------------------- the task


async def run_import(deps: Deps, task: Task, progress: Progress) -> dict[str, Any]:
    """Write the data to every remaining target store, then activate the image."""
    assert task.image_id is not None
    image_id = task.image_id
    async with deps.db.read() as s:
        image = await s.get(Image, image_id)
        remaining = lk.split(await lk.get_prop(s, image_id, lk.IMPORTING))
        if image is None or image.deleted or not await lk.holds(s, image_id, task.id):
            raise Conflict(f"Image {image_id} is gone or no longer locked by task {task.id}")
        staged = await _staged(s, image_id)
    total = image.size or (staged.meta.get("size") if staged else None)
    must = bool(task.input.get("all_stores_must_succeed", True))
    for n, name in enumerate(remaining):
        span = (n * 95 // len(remaining), (n + 1) * 95 // len(remaining))
        try:
            done = await _import_to(deps, task, image, staged, name, total, progress, span)
            await _record_store(deps, task, done)
            image.checksum = image.checksum or done.md5
        except GlimpseError as exc:
            if must:
                raise
            await _record_failure(deps, task, name, exc)
    return await _finish(deps, task)


async def _import_to(
    deps: Deps,
    task: Task,
    image: Image,
    staged: ImageLocation | None,
    store: str,
    total: int | None,
    progress: Progress,
    span: tuple[int, int],
) -> transfer.Transferred:
    """One store: stream from the source, inspect (copy-image too: data that became active
    before an inspection rule existed is checked again) and verify against the checksum
    the first store recorded."""
    lengths: list[int] = [total] if total else []
    source = await _source(deps, task, image, staged, lengths)
    source = import_plugins.prepared(deps, task.input, image, source)
    fresh = task.input.get("method") != "copy-image"  # new data: its signature is checked

    def size() -> int | None:  # known once the download announced it
        return lengths[-1] if lengths else None

    chunks = transfer.paced(deps, source, progress, size, f"importing to {store}", span)
    return await transfer.write(
        deps,
        image,
        deps.stores.get(store),
        f"{image.id}-{task.id[:8]}",
        chunks,
        expect=image,
        ctx=lk.task_ctx(task),
        cap=await quotas.cap_now(deps, image.owner),
        signed=await signatures.check_for(deps, image.id) if fresh else None,
    )


async def _source(
    deps: Deps, task: Task, image: Image, staged: ImageLocation | None, lengths: list[int]
) -> AsyncIterator[bytes]:
    method = task.input.get("method", "web-download")
    if method == "web-download":
        uri = task.input.get("uri") or task.input.get("import_from") or ""
        return web_download.fetch(
            deps.settings.imports, uri, lengths, web_download.resolver_of(deps)
        )
    if method == "glance-direct":
        if staged is None:
            raise Conflict(f"Image {image.id} has no staged data")
        return transfer.read(deps, staged.url)
    loc = await transfer.active_location(deps, image.id)
    if loc is None:
        raise Conflict(f"Image {image.id} has no data to copy")
    return transfer.read(deps, loc.url)


async def _record_store(deps: Deps, task: Task, done: transfer.Transferred) -> None:
    assert task.image_id is not None
    try:
        async with deps.db.begin() as s:
            image = await lk.locked_image(s, task.image_id, task.id)
            await quotas.admit(deps, s, image.owner, done.size)
            s.add(
                ImageLocation(
                    image_id=image.id, store=done.store, url=done.uri, meta={"store": done.store}
                )
            )
            image.disk_format = import_plugins.converted_format(task.input) or image.disk_format
            if image.checksum is None:
                image.size, image.virtual_size = done.size, done.virtual_size
                image.checksum, image.os_hash_algo = done.md5, done.hash_algo
                image.os_hash_value = done.os_hash_value
            left = [
                n for n in lk.split(await lk.get_prop(s, image.id, lk.IMPORTING)) if n != done.store
            ]
            await lk.set_prop(s, image.id, lk.IMPORTING, ",".join(left))
            image.updated_at = utcnow()
            s.add(image)
            events.record(
                s,
                lk.task_ctx(task),
                image.id,
                "import_store",
                {"store": done.store, "size": done.size},
            )
    except BaseException:
        await remove_blobs(deps, [done.uri])
        raise


async def _record_failure(deps: Deps, task: Task, store: str, exc: GlimpseError) -> None:
    assert task.image_id is not None
    async with deps.db.begin() as s:
        image = await lk.locked_image(s, task.image_id, task.id)
        left = [n for n in lk.split(await lk.get_prop(s, image.id, lk.IMPORTING)) if n != store]
        failed = lk.split(await lk.get_prop(s, image.id, lk.FAILED))
        await lk.set_prop(s, image.id, lk.IMPORTING, ",".join(left))
        await lk.set_prop(s, image.id, lk.FAILED, ",".join([*failed, store]))
        events.record(
            s,
            lk.task_ctx(task),
            image.id,
            "import_store_failed",
            {"store": store, "reason": exc.message},
        )


async def _finish(deps: Deps, task: Task) -> dict[str, Any]:
    """Activate the image, release the lock and drop the staged copy."""
    assert task.image_id is not None
    async with deps.db.begin() as s:
        image = await lk.locked_image(s, task.image_id, task.id)
        stores = await _held_stores(s, image.id)
        if not stores:
            raise InvalidInput("The import failed for every store")
        staged = await _drop_staging(s, image.id)
        if image.status == "importing":
            check_transition(image.status, "active")
            image.status = "active"
        image.updated_at = utcnow()
        s.add(image)
        await lk.set_prop(s, image.id, lk.LOCK, None)
        await import_plugins.inject(s, deps, task.input, image.id)
        failed = lk.split(await lk.get_prop(s, image.id, lk.FAILED))
        events.record(
            s,
            lk.task_ctx(task),
            image.id,
            "import",
            {"status": image.status, "stores": stores, "failed": failed},
        )
    await remove_blobs(deps, staged)
    return {"image_id": image.id, "stores": stores, "failed_stores": failed}


async def _drop_staging(s: AsyncSession, image_id: str) -> list[str]:
    rows = list(
        (
            await s.exec(
                select(ImageLocation).where(
                    ImageLocation.image_id == image_id, ImageLocation.status == "staging"
                )
            )
        ).all()
    )
    if rows:
        await s.exec(
            sa_delete(ImageLocation).where(
                col(ImageLocation.image_id) == image_id, col(ImageLocation.status) == "staging"
            )
        )
    return [r.url for r in rows]


async def import_failed(deps: Deps, task: Task, message: str) -> None:
    """Undo a failed import: data-less images go back to ``queued`` without any data
    (staged copy included); copy-image only records the stores that failed."""
    if task.image_id is None:
        return
    uris: list[str] = []
    async with deps.db.begin() as s:
        image = (
            await s.exec(select(Image).where(Image.id == task.image_id).with_for_update())
        ).first()
        if image is None or not await lk.holds(s, image.id, task.id):
            return
        left = lk.split(await lk.get_prop(s, image.id, lk.IMPORTING))
        failed = lk.split(await lk.get_prop(s, image.id, lk.FAILED))
        await lk.set_prop(s, image.id, lk.FAILED, ",".join(dict.fromkeys([*failed, *left])))
        await lk.set_prop(s, image.id, lk.IMPORTING, "")
        await lk.set_prop(s, image.id, lk.LOCK, None)
        if image.status == "importing":
            uris = await _reset_to_queued(s, image)
        events.record(
            s,
            lk.task_ctx(task),
            image.id,
            "import_failed",
            {"status": image.status, "reason": message},
        )
    await remove_blobs(deps, uris)


async def _reset_to_queued(s: AsyncSession, image: Image) -> list[str]:
    rows = list(
        (await s.exec(select(ImageLocation).where(ImageLocation.image_id == image.id))).all()
    )
    await s.exec(sa_delete(ImageLocation).where(col(ImageLocation.image_id) == image.id))
    image.status, image.updated_at = "queued", utcnow()
    image.size = image.virtual_size = image.checksum = None
    image.os_hash_algo = image.os_hash_value = None
    s.add(image)
    return [r.url for r in rows]


# ---------------------------------------------------------------------------- legacy task


async def run_legacy_import(deps: Deps, task: Task, progress: Progress) -> dict[str, Any]:
    """Glance's old ``import`` task: create the image, then web-download into it."""
    from glimpse.resolvers.images import ImageCreate, create

    assert task.image_id is not None
    async with deps.db.read() as s:
        exists = await s.get(Image, task.image_id)
    if exists is None:
        props = dict(task.input.get("image_properties") or {})
        props.setdefault("disk_format", task.input.get("import_from_format"))
        props.setdefault("container_format", "bare")
        await create(deps, lk.task_ctx(task), ImageCreate({**props, "id": task.image_id}))
    await _lock_for_legacy(deps, task)
    return await run_import(deps, task, progress)


async def _lock_for_legacy(deps: Deps, task: Task) -> None:
    assert task.image_id is not None
    async with deps.db.begin() as s:
        image = (
            await s.exec(select(Image).where(Image.id == task.image_id).with_for_update())
        ).first()
        if image is None or image.deleted:
            raise NotFound(f"Image {task.image_id} disappeared")
        if await lk.holds(s, image.id, task.id):
            return
        await lk.take(s, deps, image.id, task.id)
        await lk.set_prop(s, image.id, lk.IMPORTING, deps.stores.default_name)
        check_transition(image.status, "importing")
        image.status = "importing"
        s.add(image)
        events.record(s, lk.task_ctx(task), image.id, "import_started", {"status": "importing"})


async def legacy_import_failed(deps: Deps, task: Task, message: str) -> None:
    await import_failed(deps, task, message)
