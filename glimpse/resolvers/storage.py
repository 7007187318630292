"""Stores as operators declared them: discovery, per-store locations, delete-from-store and
verified copies between stores (Glance §1.6).

Multi-store mode (several stores configured) enables the store API; with one store it is
404 as in Glance. Every image location is an ``ImageLocation`` row naming its store; the
image's ``stores`` field is derived from those rows.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select

from glimpse.core.clock import utcnow
from glimpse.core.config import StoreConfig
from glimpse.core.context import RequestContext
from glimpse.core.errors import (
    Conflict,
    Forbidden,
    Gone,
    IntegrityError,
    NotFound,
    StoreUnavailable,
)
from glimpse.core.hashing import DEFAULT_ALGORITHM
from glimpse.models.tables import Image, ImageLocation
from glimpse.resolvers import events
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.images import load_visible, remove_blobs
from glimpse.stores.streaming import HashingStream

log = logging.getLogger(__name__)
# Glance's names for store types, shown by /v2/info/stores/detail.
TYPE_NAMES = {"filesystem": "file", "file": "file", "s3": "s3", "memory": "memory"}
SECRET_OPTIONS = frozenset({"access_key", "secret_key", "session_token", "password"})


@dataclass(frozen=True)
class StoreInfo:
    """One configured store as discovery shows it."""

    id: str
    description: str
    default: bool
    read_only: bool
    type: str
    weight: int
    properties: dict[str, Any] = field(default_factory=dict)


def _require_multi_store(deps: Deps) -> None:
    if not deps.settings.multi_store:
        raise NotFound("Multi-store is not enabled at this site.")


def _info(deps: Deps, config: StoreConfig) -> StoreInfo:
    return StoreInfo(
        id=config.name,
        description=config.description,
        default=config.name == deps.stores.default_name,
        read_only=config.read_only,
        type=TYPE_NAMES.get(config.type, config.type),
        weight=config.weight,
        properties={k: v for k, v in config.options.items() if k not in SECRET_OPTIONS},
    )


def list_stores(deps: Deps, ctx: RequestContext) -> list[StoreInfo]:
    """Every configured store (ids, descriptions, default and read-only flags)."""
    _require_multi_store(deps)
    return [_info(deps, c) for c in deps.settings.effective_stores]


def stores_detail(deps: Deps, ctx: RequestContext) -> list[StoreInfo]:
    """Stores with type, weight and (non-secret) driver properties: admins and services."""
    _require_multi_store(deps)
    deps.policy.enforce("stores_info_detail", ctx.principal)
    return list_stores(deps, ctx)


def weights(deps: Deps) -> dict[str, int]:
    return {c.name: c.weight for c in deps.settings.effective_stores}


def pick_location(deps: Deps, locations: Sequence[ImageLocation]) -> ImageLocation | None:
    """The location to read from: highest store weight first, then the oldest copy."""
    w = weights(deps)
    usable = [loc for loc in locations if loc.status == "active" and loc.store in w]
    usable.sort(key=lambda loc: (-w[loc.store], loc.id or 0))
    return usable[0] if usable else None


async def locations_of(deps: Deps, image_id: str) -> list[ImageLocation]:
    async with deps.db.read() as s:
        rows = await s.exec(
            select(ImageLocation)
            .where(ImageLocation.image_id == image_id, ImageLocation.status == "active")
            .order_by(col(ImageLocation.id))
        )
        return list(rows.all())


# ---------------------------------------------------------------------------- delete


async def delete_from_store(deps: Deps, ctx: RequestContext, store_id: str, image_id: str) -> None:
    """Remove an image's data from one store, keeping the image and its other copies.

    Checks in Glance's order: multi-store (404), known store (409), visible image (404),
    policy (403), status active (409), not the last copy (403), held by that store (404).
    """
    _require_multi_store(deps)
    if store_id not in deps.stores:
        raise Conflict(f"The selected store {store_id} is not available on this node.")
    async with deps.db.begin() as s:
        image, target = await load_visible(s, deps, ctx, image_id, lock=True)
        deps.policy.enforce("delete_image_location", ctx.principal, target)
        if image.status != "active":
            raise Conflict(
                "It's not allowed to remove image data from store if image status is not 'active'"
            )
        rows = (
            await s.exec(
                select(ImageLocation).where(
                    ImageLocation.image_id == image.id, ImageLocation.status == "active"
                )
            )
        ).all()
        if len(rows) <= 1:
            raise Forbidden(
                "Cannot delete image data from the only store containing it. "
                "Consider deleting the image instead."
            )
        doomed = [r for r in rows if r.store == store_id]
        if not doomed:
            raise NotFound(f"Image {image.id} is not stored in store {store_id}.")
        for row in doomed:
            await s.delete(row)
        image.updated_at = utcnow()
        s.add(image)
        events.record(s, ctx, image.id, "delete_from_store", {"store": store_id})
    await remove_blobs(deps, [r.url for r in doomed])


# ---------------------------------------------------------------------------- copy


async def copy_verified(
    deps: Deps,
    image: Image | str,
    from_store: str,
    to_store: str,
    ctx: RequestContext | None = None,
) -> ImageLocation:
    """Copy an image's data between stores, verifying size, md5 and multihash on the way.

    For task handlers (copy-image): the caller has authorized the operation. Idempotent:
    when ``to_store`` already holds the image its location is returned. A mismatch removes
    the new blob, records an ``integrity_error`` event and raises :class:`IntegrityError`.
    """
    image_id = image if isinstance(image, str) else image.id
    current, source = await _copy_source(deps, image_id, from_store, to_store)
    if source.store == to_store:
        return source
    dest = deps.stores.get(to_store)
    if dest.read_only:
        raise StoreUnavailable(f"Store {to_store} is read-only")
    reader = deps.stores.for_uri(source.url)
    if reader is None:
        raise StoreUnavailable(f"No configured store holds {source.url}")
    algorithm = hash_algo_for(deps, current)
    async with HashingStream(reader.open(source.url), algorithm=algorithm) as stream:
        blob = await dest.put(f"{image_id}-{uuid.uuid4().hex[:8]}", stream)
    try:
        verify_against(current, stream.size, stream.md5, stream.os_hash_value, algorithm)
        return await _record_copy(deps, ctx, image_id, to_store, blob.uri, from_store)
    except BaseException as exc:
        await remove_blobs(deps, [blob.uri])
        if isinstance(exc, IntegrityError):
            await record_integrity_error(deps, ctx, image_id, exc, f"copy {from_store}->{to_store}")
        raise


async def _copy_source(
    deps: Deps, image_id: str, from_store: str, to_store: str
) -> tuple[Image, ImageLocation]:
    """The image and its location in ``from_store`` (or the existing one in ``to_store``)."""
    deps.stores.get(from_store)  # unknown names are bad input
    deps.stores.get(to_store)
    async with deps.db.read() as s:
        current = await s.get(Image, image_id)
        if current is None or current.deleted:
            raise NotFound(f"No image found with ID {image_id}")
        rows = (
            await s.exec(
                select(ImageLocation)
                .where(ImageLocation.image_id == image_id, ImageLocation.status == "active")
                .order_by(col(ImageLocation.id))
            )
        ).all()
    by_store = {r.store: r for r in rows}
    if to_store in by_store:
        return current, by_store[to_store]
    if from_store not in by_store:
        raise NotFound(f"Image {image_id} is not stored in store {from_store}.")
    return current, by_store[from_store]


def recorded_hash_algo(image: Image) -> str | None:
    """The algorithm of the image's ``os_hash_value``: ``os_hash_algo``, or sha512 for a
    value recorded without one (Glance's default before the setting existed)."""
    if image.os_hash_algo:
        return image.os_hash_algo
    return DEFAULT_ALGORITHM if image.os_hash_value else None


def hash_algo_for(deps: Deps, image: Image | None) -> str:
    """The multihash algorithm for data of ``image``: the one it records, so copies can be
    verified and keep their value; the configured ``hashing_algorithm`` for new data."""
    recorded = recorded_hash_algo(image) if image is not None else None
    return recorded or deps.settings.hashing_algorithm


def verify_against(
    image: Image, size: int, md5: str, os_hash_value: str, algorithm: str = DEFAULT_ALGORITHM
) -> None:
    """Raise :class:`IntegrityError` unless copied data matches what the image recorded
    (size, md5 and the multihash computed with ``algorithm``; fields not recorded yet, or
    recorded with another algorithm, are not checked). Every copy path - between stores,
    into the cache, the copy action, copy-image - verifies through here."""
    same_algo = recorded_hash_algo(image) in (None, algorithm)
    checks = (
        ("size", image.size, size),
        ("checksum", image.checksum, md5),
        ("os_hash_value", image.os_hash_value if same_algo else None, os_hash_value),
    )
    for name, recorded, actual in checks:
        if recorded is not None and recorded != actual:
            raise IntegrityError(f"data of image {image.id} does not match its {name}", field=name)


async def _record_copy(
    deps: Deps, ctx: RequestContext | None, image_id: str, store: str, uri: str, origin: str
) -> ImageLocation:
    async with deps.db.begin() as s:
        current = (
            await s.exec(select(Image).where(Image.id == image_id).with_for_update())
        ).first()
        if current is None or current.deleted:
            raise Gone(f"Image {image_id} was deleted during the copy")
        loc = ImageLocation(image_id=image_id, store=store, url=uri, meta={"store": store})
        s.add(loc)
        current.updated_at = utcnow()
        s.add(current)
        events.record(s, ctx, image_id, "copy_to_store", {"store": store, "from": origin})
    return loc


async def record_integrity_error(
    deps: Deps, ctx: RequestContext | None, image_id: str, exc: IntegrityError, where: str
) -> None:
    """An integrity failure is part of the image's history: record it as an event."""
    async with deps.db.begin() as s:
        events.record(
            s,
            ctx,
            image_id,
            "integrity_error",
            {"where": where, "field": exc.details.get("field"), "message": exc.message},
        )


__all__ = [
    "StoreInfo",
    "copy_verified",
    "delete_from_store",
    "hash_algo_for",
    "list_stores",
    "pick_location",
    "record_integrity_error",
    "recorded_hash_algo",
    "stores_detail",
    "verify_against",
]
