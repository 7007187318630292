"""Image data in: streamed upload (and staging) into a store. Downloads: resolvers/downloads.

Upload contract: only one writer per image (the ``queued -> saving`` transition is a
conditional UPDATE holding a renewable lease); bytes are hashed (md5 + multihash), counted and
capped while they stream; any failure - client gone, cap exceeded, store full, format refused,
image deleted meanwhile - removes the blob and restores ``queued``. Nothing half-written is
ever marked active.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from datetime import timedelta

import anyio
from sqlalchemy import and_, or_, update
from sqlmodel import col, select

from glimpse.core.clock import utcnow
from glimpse.core.context import RequestContext
from glimpse.core.errors import (
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    PayloadTooLarge,
    QuotaExceeded,
    StoreUnavailable,
)
from glimpse.models.tables import Image, ImageLocation
from glimpse.resolvers import events, quotas, redact, signatures
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.downloads import ByteRange as ByteRange  # re-exported
from glimpse.resolvers.downloads import Download as Download  # re-exported
from glimpse.resolvers.downloads import prepare_download as prepare_download  # re-exported
from glimpse.resolvers.images import ImageRecord, load_for, record_of, remove_blobs
from glimpse.stores.base import BlobStore, StoredBlob
from glimpse.stores.inspect import FormatInspection
from glimpse.stores.streaming import HashingStream

log = logging.getLogger(__name__)


async def upload(
    deps: Deps,
    ctx: RequestContext,
    image_id: str,
    chunks: AsyncIterable[bytes],
    *,
    expected_size: int | None = None,
    store_name: str | None = None,
) -> ImageRecord:
    """Stream ``chunks`` into a store and make the image active with its checksums."""
    # As in Glance, the store header only counts in multi-store mode.
    store = deps.stores.get(store_name if deps.settings.multi_store else None)
    if store.read_only:
        raise StoreUnavailable(f"Store {store.name} is read-only: writes are denied")
    lock = uuid.uuid4().hex
    image, cap = await _begin_upload(deps, ctx, image_id, lock, expected_size)
    blob: StoredBlob | None = None
    try:
        signed = await signatures.check_for(deps, image.id)
        stream, inspection = instrument(deps, image, chunks, expected_size, cap=cap, signed=signed)
        async with _lease(deps, image.id, lock), stream:
            blob = await store.put(f"{image.id}-{lock[:8]}", stream)
        virtual_size = verdict(image, inspection, signed)
        record = await _finish_upload(deps, ctx, image, lock, store, blob, stream, virtual_size)
        blob = None
        return record
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            await _abort_upload(deps, ctx, image.id, lock, blob, exc)
        raise_quota_if_capped(deps, exc, cap, "storage")
        raise


async def stage(
    deps: Deps,
    ctx: RequestContext,
    image_id: str,
    chunks: AsyncIterable[bytes],
    *,
    expected_size: int | None = None,
) -> None:
    """Stream ``chunks`` into the staging area (``status uploading``) for a later
    ``glance-direct`` import. The staging area is a key prefix of the default store, so
    every API process and worker sees it (a directory on one node would not)."""
    store = deps.stores.default
    lock = uuid.uuid4().hex
    image, cap = await _begin_upload(deps, ctx, image_id, lock, expected_size, staging=True)
    blob: StoredBlob | None = None
    try:
        stream, inspection = instrument(deps, image, chunks, expected_size, cap=cap)
        async with _lease(deps, image.id, lock), stream:
            blob = await store.put(f"staging/{image.id}-{lock[:8]}", stream)
        verdict(image, inspection)  # refuse unsafe data now, not only at import
        await _finish_stage(deps, ctx, image.id, lock, store, blob, stream.size)
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            await _abort_upload(deps, ctx, image.id, lock, blob, exc, status="uploading")
        raise_quota_if_capped(deps, exc, cap, "staging")
        raise


def _capped(deps: Deps, cap: int | None) -> int:
    """The stream limit: the configured size cap, or less when the quota leaves less."""
    limit = deps.settings.max_image_size
    return limit if cap is None else min(limit, cap)


def raise_quota_if_capped(deps: Deps, exc: BaseException, cap: int | None, what: str) -> None:
    """A stream stopped by the quota (not by the configured size cap) is QuotaExceeded."""
    if isinstance(exc, PayloadTooLarge) and cap is not None and cap < deps.settings.max_image_size:
        raise QuotaExceeded(f"Image {what} quota exceeded ({cap} bytes left)") from exc


async def _begin_upload(
    deps: Deps,
    ctx: RequestContext,
    image_id: str,
    lock: str,
    expected_size: int | None,
    *,
    staging: bool = False,
) -> tuple[Image, int | None]:
    """Authorize, check state and quota, then take the writer lock: ``queued -> saving`` (or
    ``uploading`` when staging) atomically. Also returns the bytes the owner project may
    still store (or stage); ``None`` is unlimited."""
    busy = "uploading" if staging else "saving"
    async with deps.db.begin() as s:
        image = await load_for(s, deps, ctx, image_id, "upload_image")
        _check_can_receive(deps, image, busy, expected_size, staging=staging)
        cap_of = quotas.stage_cap if staging else quotas.size_cap
        cap = await cap_of(deps, s, image.owner, image.id)
        quotas.check_size(cap, expected_size, "staging" if staging else "storage")
        now = utcnow()
        lease = now + timedelta(seconds=deps.settings.upload_lease_seconds)
        result = await s.exec(
            update(Image)
            .where(
                col(Image.id) == image.id,
                or_(
                    col(Image.status) == "queued",
                    and_(
                        col(Image.status) == busy,
                        col(Image.lock_owner).is_not(None),
                        col(Image.lock_expires_at) < now,
                    ),
                ),
            )
            .values(status=busy, lock_owner=lock, lock_expires_at=lease, updated_at=now)
        )
        if result.rowcount != 1:
            raise Conflict(f"Image {image.id} is already receiving data")
        events.record(
            s, ctx, image.id, "stage_started" if staging else "upload_started", {"status": busy}
        )
    image.status, image.lock_owner = busy, lock
    return image, cap


def _check_can_receive(
    deps: Deps, image: Image, busy: str, expected_size: int | None, *, staging: bool
) -> None:
    """Status, formats and size rules for receiving data (403, 409, 400, 413)."""
    if image.status in ("deactivated",):
        raise Forbidden("Image is deactivated")
    if image.status != "queued" and not _stale_lock(image, busy):
        raise Conflict(
            f"Image {image.id} is not queued (status '{image.status}'): data can be uploaded once"
        )
    if not staging and (not image.disk_format or not image.container_format):
        raise InvalidInput(
            "Properties disk_format and container_format must be set prior to uploading data."
        )
    if expected_size is not None and expected_size > deps.settings.max_image_size:
        raise QuotaExceeded("Image exceeds the size limit")


def _stale_lock(image: Image, busy: str = "saving") -> bool:
    return (
        image.status == busy
        and image.lock_owner is not None
        and image.lock_expires_at is not None
        and image.lock_expires_at < utcnow()
    )


def instrument(
    deps: Deps,
    image: Image,
    chunks: AsyncIterable[bytes],
    expected: int | None,
    *,
    cap: int | None = None,
    signed: signatures.SignatureCheck | None = None,
    algorithm: str | None = None,
) -> tuple[HashingStream, FormatInspection]:
    """The hashing, counting, capped stream over ``chunks`` plus the format inspection of
    every write, whatever container and disk format were declared (shared by uploads,
    stages, imports, copies and resizes; rules in glimpse.stores.inspect), and the
    signature check of a signed image. The multihash uses ``algorithm``, by default the
    configured ``hashing_algorithm``."""
    inspection = FormatInspection()
    observers: list[Callable[[bytes], None]] = [inspection]
    if signed is not None:
        observers.append(signed)
    stream = HashingStream(
        chunks,
        max_size=_capped(deps, cap),
        expected_size=expected,
        observers=observers,
        algorithm=algorithm or deps.settings.hashing_algorithm,
    )
    return stream, inspection


def verdict(
    image: Image,
    inspection: FormatInspection | None,
    signed: signatures.SignatureCheck | None = None,
) -> int | None:
    """The virtual size to record, or :class:`UnsupportedMediaType` for refused data
    (:class:`InvalidInput` when a signed image's signature does not match it)."""
    if signed is not None:
        signed.verify()
    if inspection is None:
        return None
    return inspection.verdict(image.disk_format, image.container_format)


@contextlib.asynccontextmanager
async def _lease(deps: Deps, image_id: str, lock: str) -> AsyncIterator[None]:
    """Renew the writer lock while streaming, so a crashed writer's lock expires but a slow
    live one never loses it."""
    period = max(1.0, deps.settings.upload_lease_seconds / 3)

    async def renew() -> None:
        while True:
            await asyncio.sleep(period)
            until = utcnow() + timedelta(seconds=deps.settings.upload_lease_seconds)
            async with deps.db.begin() as s:
                await s.exec(
                    update(Image)
                    .where(col(Image.id) == image_id, col(Image.lock_owner) == lock)
                    .values(lock_expires_at=until)
                )

    task = asyncio.create_task(renew())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _finish_upload(
    deps: Deps,
    ctx: RequestContext,
    image: Image,
    lock: str,
    store: BlobStore,
    blob: StoredBlob,
    stream: HashingStream,
    virtual_size: int | None,
) -> ImageRecord:
    async with deps.db.begin() as s:
        current = (await s.exec(select(Image).where(Image.id == image.id).with_for_update())).one()
        if current.deleted or current.lock_owner != lock or current.status != "saving":
            raise Gone(f"Image {image.id} was deleted or taken over during the upload")
        # Other writes of the project may have finished while this one streamed.
        await quotas.admit(deps, s, current.owner, stream.size, replacing=current.id)
        current.size, current.virtual_size = stream.size, virtual_size
        current.checksum, current.os_hash_algo, current.os_hash_value = (
            stream.md5,
            stream.algorithm,
            stream.os_hash_value,
        )
        current.status, current.lock_owner, current.lock_expires_at = "active", None, None
        current.updated_at = utcnow()
        s.add(current)
        s.add(
            ImageLocation(
                image_id=image.id, store=store.name, url=blob.uri, meta={"store": store.name}
            )
        )
        events.record(
            s,
            ctx,
            image.id,
            "upload",
            {
                "status": "active",
                "size": stream.size,
                "checksum": stream.md5,
                "store": store.name,
                "virtual_size": virtual_size,
            },
        )
        await s.flush()
        return await record_of(s, current)


async def _finish_stage(
    deps: Deps,
    ctx: RequestContext,
    image_id: str,
    lock: str,
    store: BlobStore,
    blob: StoredBlob,
    size: int,
) -> None:
    """Record the staged blob as a ``staging`` location (never served: not ``active``)."""
    async with deps.db.begin() as s:
        current = (await s.exec(select(Image).where(Image.id == image_id).with_for_update())).one()
        if current.deleted or current.lock_owner != lock or current.status != "uploading":
            raise Gone(f"Image {image_id} was deleted or taken over during staging")
        await quotas.lock(deps, s, current.owner)
        cap = await quotas.stage_cap(deps, s, current.owner, current.id)
        quotas.check_size(cap, size, "staging")
        current.lock_owner, current.lock_expires_at, current.updated_at = None, None, utcnow()
        s.add(current)
        s.add(
            ImageLocation(
                image_id=image_id,
                store=store.name,
                url=blob.uri,
                meta={"store": store.name, "size": size},
                status="staging",
            )
        )
        events.record(s, ctx, image_id, "stage", {"status": "uploading", "size": size})


async def _abort_upload(
    deps: Deps,
    ctx: RequestContext,
    image_id: str,
    lock: str,
    blob: StoredBlob | None,
    exc: BaseException,
    *,
    status: str = "saving",
) -> None:
    """Remove what was written and give the image back to ``queued`` (if still ours)."""
    if blob is not None:
        await remove_blobs(deps, [blob.uri])
    try:
        async with deps.db.begin() as s:
            result = await s.exec(
                update(Image)
                .where(
                    col(Image.id) == image_id,
                    col(Image.lock_owner) == lock,
                    col(Image.status) == status,
                )
                .values(
                    status="queued",
                    lock_owner=None,
                    lock_expires_at=None,
                    size=None,
                    virtual_size=None,
                    updated_at=utcnow(),
                )
            )
            if result.rowcount:
                reason = redact.reason(exc, ctx.request_id)
                events.record(
                    s, ctx, image_id, "upload_failed", {"status": "queued", "reason": reason}
                )
        redact.log_failure(f"upload of image {image_id}", exc, ctx.request_id)
    except Exception:
        log.exception("could not restore image %s to queued", image_id)
