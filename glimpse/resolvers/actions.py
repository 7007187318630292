"""The product's image actions beyond Glance: pause/unpause, copy and resize.

Copy makes a new image (same metadata, properties and tags) whose data a task copies and
verifies by checksum; the target is only ever a configured store (by id or by a location
URL inside it), never an arbitrary path or host. Resize rewrites the disk with qemu-img
on a local scratch copy and swaps the image to the new data in one transaction: until
then the original is untouched, so a failure loses nothing.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import delete as sa_delete
from sqlalchemy import func
from sqlmodel import col, select

from glimpse.core.clock import utcnow
from glimpse.core.context import RequestContext
from glimpse.core.errors import Conflict, InvalidInput, PayloadTooLarge
from glimpse.models.tables import Image, ImageLocation, ImageProperty, ImageTag, Task
from glimpse.policy.rules import Target
from glimpse.resolvers import events, images, qemu, quotas, text, transfer
from glimpse.resolvers import image_lock as lk
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.images import load_for, remove_blobs
from glimpse.resolvers.task_queue import TERMINAL, Progress, enqueue, wake

COPIED_FIELDS = ("disk_format", "container_format", "min_disk", "min_ram", "os_hidden")


@dataclass(frozen=True)
class CopyTarget:
    """Where a copy goes: a store, and optionally the exact key a location URL named."""

    store: str
    key: str | None = None
    uri: str | None = None


def parse_copy_target(deps: Deps, raw: Any) -> tuple[CopyTarget, str | None]:
    """``null`` | store id | location URL in a store | ``{"target": ..., "name": ...}``."""
    name: str | None = None
    if isinstance(raw, dict):
        unknown = set(raw) - {"target", "name"}
        if unknown:
            raise InvalidInput(f"Unknown copy option(s): {', '.join(sorted(unknown))}")
        name = raw.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 255):
            raise InvalidInput("Copy name must be a string of at most 255 characters")
        text.check(name, "copy name")
        raw = raw.get("target")
    if raw is None:
        return CopyTarget(deps.stores.default_name), name
    if not isinstance(raw, str) or not raw:
        raise InvalidInput("Copy target must be null, a store id or a location URL in a store")
    text.check(raw, "copy target")
    if raw in deps.stores:
        return CopyTarget(raw), name
    found = deps.stores.locate(raw) if "://" in raw else None
    if found is None:
        raise InvalidInput(f"Copy target {raw!r} is neither a store nor inside one")
    return CopyTarget(found[0].name, found[1], raw), name


async def copy(deps: Deps, ctx: RequestContext, image_id: str, raw_target: Any) -> tuple[str, str]:
    """Accept a copy; returns (task id, new image id)."""
    target, name = parse_copy_target(deps, raw_target)
    store = deps.stores.get(target.store)
    if store.read_only:
        raise InvalidInput(f"Store {store.name} is read-only")
    async with deps.db.begin() as s:
        if target.uri is not None:
            await _reserve(s, deps, target)
        src, tgt = await images.load_visible(s, deps, ctx, image_id)
        deps.policy.enforce("download_image", ctx.principal, tgt)
        visibility = _copy_visibility(deps, ctx, src)
        deps.policy.enforce(
            "add_image", ctx.principal, Target(owner=ctx.project_id, visibility=visibility)
        )
        if src.status != "active":
            raise Conflict(f"Only active images can be copied (status '{src.status}')")
        await quotas.admit_image(deps, s, ctx.project_id)
        quotas.check_size(await quotas.room(deps, s, ctx.project_id), src.size)
        new = _new_image(src, ctx, visibility, name)
        s.add(new)
        await s.flush()
        await _copy_details(s, src.id, new.id)
        task = enqueue(
            s,
            ctx,
            "copy",
            {"source_image_id": src.id, "store": target.store, "key": target.key},
            image_id=new.id,
        )
        await lk.take(s, deps, new.id, task.id)
        await lk.set_prop(s, new.id, lk.IMPORTING, target.store)
        events.record(s, ctx, new.id, "create", {"copy_of": src.id, "status": "importing"})
    wake(deps)
    return task.id, new.id


async def _reserve(s: Any, deps: Deps, target: CopyTarget) -> None:
    """A location chosen by URL is written by one copy only, and never over existing data.

    Checked inside the accepting transaction, serialised per location (SQLite's writers
    are serialised by BEGIN IMMEDIATE; PostgreSQL takes a transaction advisory lock on the
    location), in this order: no unfinished copy task targets it, then nothing is stored
    there. A copy publishes its blob before its task finishes, so one of the two checks
    sees any earlier copy; two concurrent copies can no longer end up sharing one blob
    (after which deleting either image broke the other).
    """
    if deps.db.is_postgres:
        place = f"copy-target:{target.store}/{target.key}"
        await s.exec(select(func.pg_advisory_xact_lock(func.hashtext(place))))
    unfinished = await s.exec(
        select(Task).where(Task.type == "copy", col(Task.status).not_in(TERMINAL))
    )
    for task in unfinished:
        if (task.input.get("store"), task.input.get("key")) == (target.store, target.key):
            raise Conflict(f"Copy task {task.id} is already writing to {target.uri}")
    if await deps.stores.get(target.store).stat(target.uri or "") is not None:
        raise Conflict(f"Something already exists at {target.uri}")


def _copy_visibility(deps: Deps, ctx: RequestContext, src: Image) -> str:
    if src.visibility in ("public", "community") and not deps.policy.allows(
        "publicize_image" if src.visibility == "public" else "communitize_image",
        ctx.principal,
        Target(owner=ctx.project_id, visibility=src.visibility),
    ):
        return "shared"
    return src.visibility


def _new_image(src: Image, ctx: RequestContext, visibility: str, name: str | None) -> Image:
    now = utcnow()
    return Image(
        id=str(uuid.uuid4()),
        name=name if name is not None else f"{src.name or ''} (copy)".strip(),
        status="importing",
        visibility=visibility,
        owner=ctx.project_id,
        created_at=now,
        updated_at=now,
        **{f: getattr(src, f) for f in COPIED_FIELDS},
    )


async def _copy_details(s: Any, src_id: str, new_id: str) -> None:
    props = await s.exec(select(ImageProperty).where(ImageProperty.image_id == src_id))
    s.add_all(
        [
            ImageProperty(image_id=new_id, name=p.name, value=p.value)
            for p in props
            if not p.name.startswith("os_glance")
        ]
    )
    tags = await s.exec(select(ImageTag).where(ImageTag.image_id == src_id))
    s.add_all([ImageTag(image_id=new_id, value=t.value) for t in tags])


async def run_copy(deps: Deps, task: Task, progress: Progress) -> dict[str, Any]:
    """Copy the source's data into the new image's store, verified by checksum."""
    assert task.image_id is not None
    src_id = task.input["source_image_id"]
    async with deps.db.read() as s:
        src = await s.get(Image, src_id)
        new = await s.get(Image, task.image_id)
    loc = await transfer.active_location(deps, src_id)
    if src is None or new is None or loc is None or src.checksum is None:
        raise Conflict(f"Source image {src_id} or its data is gone")
    store = deps.stores.get(task.input["store"])
    key = task.input.get("key") or f"{new.id}-{task.id[:8]}"
    chunks = transfer.paced(
        deps, transfer.read(deps, loc.url), progress, src.size, "copying", (0, 95)
    )
    cap = await quotas.cap_now(deps, new.owner)
    done = await transfer.write(
        deps, new, store, key, chunks, expect=src, ctx=lk.task_ctx(task), cap=cap
    )
    await _activate_copy(deps, task, done, src)
    return {
        "image_id": new.id,
        "source_image_id": src_id,
        "store": store.name,
        "checksum": done.md5,
    }


async def _activate_copy(deps: Deps, task: Task, done: transfer.Transferred, src: Image) -> None:
    assert task.image_id is not None
    try:
        async with deps.db.begin() as s:
            new = await lk.locked_image(s, task.image_id, task.id)
            await quotas.admit(deps, s, new.owner, done.size)
            s.add(
                ImageLocation(
                    image_id=new.id, store=done.store, url=done.uri, meta={"store": done.store}
                )
            )
            new.size, new.virtual_size, new.checksum = done.size, src.virtual_size, done.md5
            new.os_hash_algo, new.os_hash_value = done.hash_algo, done.os_hash_value
            new.status, new.updated_at = "active", utcnow()
            s.add(new)
            await lk.set_prop(s, new.id, lk.LOCK, None)
            await lk.set_prop(s, new.id, lk.IMPORTING, None)
            events.record(
                s,
                lk.task_ctx(task),
                new.id,
                "copy",
                {"status": "active", "source": src.id, "store": done.store},
            )
    except BaseException:
        await remove_blobs(deps, [done.uri])
        raise


async def copy_failed(deps: Deps, task: Task, message: str) -> None:
    """The new image stays, without data (``queued``), saying which store failed."""
    async with deps.db.begin() as s:
        new = await s.get(Image, task.image_id)
        if new is None or not await lk.holds(s, new.id, task.id):
            return
        await lk.set_prop(s, new.id, lk.LOCK, None)
        await lk.set_prop(s, new.id, lk.IMPORTING, None)
        await lk.set_prop(s, new.id, lk.FAILED, task.input.get("store") or "")
        if new.status == "importing":
            new.status, new.updated_at = "queued", utcnow()
            s.add(new)
        events.record(
            s, lk.task_ctx(task), new.id, "copy_failed", {"status": new.status, "reason": message}
        )


# ---------------------------------------------------------------------------- resize


def parse_resize(raw: Any) -> tuple[int, bool]:
    """``N`` or ``{"size": N, "shrink": bool}``."""
    shrink = False
    if isinstance(raw, dict):
        unknown = set(raw) - {"size", "shrink"}
        if unknown or "size" not in raw:
            raise InvalidInput("resize takes a size, or {'size': N, 'shrink': true|false}")
        shrink = raw.get("shrink", False)
        if not isinstance(shrink, bool):
            raise InvalidInput("shrink must be a boolean")
        raw = raw["size"]
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise InvalidInput("The new size must be a positive integer (bytes)")
    if raw % 512:
        raise InvalidInput("The new size must be a multiple of 512 bytes")
    return raw, shrink


async def resize(deps: Deps, ctx: RequestContext, image_id: str, raw: Any) -> str:
    """Accept a resize; returns the task id. Refused above ``tasks.max_resize_size`` and,
    for raw images (stored at their full size), above ``max_image_size`` and the quota;
    the result is checked against the quota again when it is stored."""
    size, shrink = parse_resize(raw)
    _check_resize_ceiling(deps, size)
    qemu.binary(deps.settings.tasks)
    async with deps.db.begin() as s:
        image = await load_for(s, deps, ctx, image_id, "resize_image")
        if image.status != "active":
            raise Conflict(f"Only active images can be resized (status '{image.status}')")
        if image.disk_format not in qemu.RESIZABLE or image.container_format != "bare":
            raise InvalidInput("Only bare raw and qcow2 images can be resized")
        if image.disk_format == "raw":
            if size > deps.settings.max_image_size:
                raise PayloadTooLarge(f"{size} bytes exceed the image size limit")
            quotas.check_size(await quotas.size_cap(deps, s, image.owner, image.id), size)
        if image.virtual_size is not None and size < image.virtual_size and not shrink:
            raise InvalidInput(
                f"{size} is smaller than the virtual size {image.virtual_size}: "
                'shrinking loses data; send {"resize": {"size": N, "shrink": true}}'
            )
        task = enqueue(s, ctx, "resize", {"size": size, "shrink": shrink}, image_id=image.id)
        await lk.take(s, deps, image.id, task.id)
        events.record(s, ctx, image.id, "resize_requested", {"size": size, "shrink": shrink})
    wake(deps)
    return task.id


def _check_resize_ceiling(deps: Deps, size: int) -> None:
    ceiling = deps.settings.tasks.max_resize_size
    if size > ceiling:
        raise PayloadTooLarge(
            f"The new size {size} exceeds the largest resize allowed here ({ceiling} bytes)",
            limit=ceiling,
        )


async def run_resize(deps: Deps, task: Task, progress: Progress) -> dict[str, Any]:
    """Scratch copy -> inspect -> qemu-img resize -> upload -> swap in one transaction."""
    from glimpse.resolvers.resize_steps import fetch_scratch, upload_resized

    assert task.image_id is not None
    async with deps.db.read() as s:
        image = await s.get(Image, task.image_id)
        urls = (
            await s.exec(
                select(ImageLocation.url).where(
                    ImageLocation.image_id == task.image_id, ImageLocation.status == "active"
                )
            )
        ).all()
        if image is not None and any(u.endswith(f"-r{task.id[:8]}") for u in urls):
            return {
                "image_id": image.id,
                "size": image.size,  # swapped before a crash
                "virtual_size": image.virtual_size,
                "checksum": image.checksum,
            }
        if image is None or not await lk.holds(s, image.id, task.id):
            raise Conflict(f"Image {task.image_id} is gone or not locked by task {task.id}")
    work = deps.settings.data_dir / "work" / task.id
    try:
        loc, path = await fetch_scratch(deps, task, image, work, progress)
        fmt = image.disk_format or "raw"
        await progress(45, "resizing with qemu-img")
        await qemu.resize(deps.settings.tasks, path, fmt, task.input["size"], task.input["shrink"])
        virtual = int((await qemu.info(deps.settings.tasks, path, fmt))["virtual-size"])
        done = await upload_resized(deps, task, image, loc, path, progress)
        await _swap(deps, task, loc, done, virtual)
    finally:
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(work, ignore_errors=True))
    return {"image_id": image.id, "size": done.size, "virtual_size": virtual, "checksum": done.md5}


async def _swap(
    deps: Deps, task: Task, old: ImageLocation, done: transfer.Transferred, virtual: int
) -> None:
    """Point the image at the resized data in one transaction; old blobs go afterwards."""
    assert task.image_id is not None
    try:
        async with deps.db.begin() as s:
            image = await lk.locked_image(s, task.image_id, task.id)
            await quotas.admit(deps, s, image.owner, done.size, replacing=image.id)
            olds = await _replace_locations(s, image.id, done)
            before = {"size": image.size, "virtual_size": image.virtual_size}
            image.size, image.virtual_size, image.checksum = done.size, virtual, done.md5
            image.os_hash_algo, image.os_hash_value = done.hash_algo, done.os_hash_value
            image.updated_at = utcnow()
            s.add(image)
            await lk.set_prop(s, image.id, lk.LOCK, None)
            changes = {"before": before, "size": done.size, "virtual_size": virtual}
            events.record(s, lk.task_ctx(task), image.id, "resize", changes)
    except BaseException:
        await remove_blobs(deps, [done.uri])
        raise
    await remove_blobs(deps, olds)


async def _replace_locations(s: Any, image_id: str, done: transfer.Transferred) -> list[str]:
    """Swap every active location for the new one; returns the old URIs."""
    active = (col(ImageLocation.image_id) == image_id, col(ImageLocation.status) == "active")
    olds = [loc.url for loc in (await s.exec(select(ImageLocation).where(*active))).all()]
    await s.exec(sa_delete(ImageLocation).where(*active))
    s.add(
        ImageLocation(image_id=image_id, store=done.store, url=done.uri, meta={"store": done.store})
    )
    return olds


async def resize_failed(deps: Deps, task: Task, message: str) -> None:
    """The original data was never touched: only release the lock and say why."""
    async with deps.db.begin() as s:
        if task.image_id is None or not await lk.holds(s, task.image_id, task.id):
            return
        await lk.set_prop(s, task.image_id, lk.LOCK, None)
        events.record(s, lk.task_ctx(task), task.image_id, "resize_failed", {"reason": message})
