"""Image operations: the one place their rules live, for GraphQL, REST, the console and tasks.

Every operation reads the same way: authorize -> load (scoped) -> validate / transition ->
persist (with an event) -> side effects after commit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete as sa_delete
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from glimpse.core.clock import utcnow
from glimpse.core.context import RequestContext
from glimpse.core.errors import Conflict, Forbidden, InvalidInput, NotFound, QuotaExceeded
from glimpse.models.status import check_transition
from glimpse.models.tables import Image, ImageLocation, ImageProperty, ImageTag
from glimpse.policy.rules import Target
from glimpse.resolvers import events
from glimpse.resolvers import image_rules as rules
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.image_reads import (  # re-exported: callers use images.*
    ImageRecord as ImageRecord,
)
from glimpse.resolvers.image_reads import (
    Page as Page,
)
from glimpse.resolvers.image_reads import (
    details as details,
)
from glimpse.resolvers.image_reads import (
    get as get,
)
from glimpse.resolvers.image_reads import (
    get_many as get_many,
)
from glimpse.resolvers.image_reads import (
    keyset_for_marker as keyset_for_marker,
)
from glimpse.resolvers.image_reads import (
    list_images as list_images,
)
from glimpse.resolvers.image_reads import (
    load_for as load_for,
)
from glimpse.resolvers.image_reads import (
    load_visible as load_visible,
)
from glimpse.resolvers.image_reads import (
    member_status as member_status,
)
from glimpse.resolvers.image_reads import (
    properties_for as properties_for,
)
from glimpse.resolvers.image_reads import (
    record_of as record_of,
)
from glimpse.resolvers.image_reads import (
    stores_for as stores_for,
)
from glimpse.resolvers.image_reads import (
    tags_for as tags_for,
)
from glimpse.resolvers.metadef_validation import validate_image_properties

log = logging.getLogger(__name__)


@dataclass
class ImageCreate:
    """Base attributes and custom properties in one mapping, as both APIs receive them."""

    values: Mapping[str, Any]


@dataclass(frozen=True)
class PatchOp:
    """One change. ``add`` creates or overwrites, ``replace`` needs an existing custom
    property, ``remove`` deletes a custom property."""

    op: Literal["add", "replace", "remove"]
    name: str
    value: Any = None


@dataclass
class ImagePatch:
    """An ordered list of changes applied atomically. ``add_must_be_new`` is the v2.0
    JSON-patch dialect, where ``add`` on an existing attribute is a conflict."""

    ops: Sequence[PatchOp]
    add_must_be_new: bool = False
    # Merge semantics (the original ``PUT`` form): removing an absent property is a no-op.
    remove_missing_ok: bool = False


# ---------------------------------------------------------------------------- writes


async def create(deps: Deps, ctx: RequestContext, data: ImageCreate) -> ImageRecord:
    """Create a queued image (Glance defaults) owned by the caller's project."""
    values = dict(data.values)
    base, props, tags = _split_create(values)
    owner = base.get("owner", ctx.project_id)
    if owner != ctx.project_id:
        deps.policy.enforce("set_image_owner", ctx.principal, Target(owner=owner))
    target = Target(owner=owner, visibility=base.get("visibility", "shared"))
    deps.policy.enforce("add_image", ctx.principal, target)
    _check_visibility_change(deps, ctx, target, base.get("visibility"))
    _check_counts(deps, len(props), len(tags))
    image_id = rules.validate_id(values["id"]) if "id" in values else str(uuid.uuid4())
    now = utcnow()
    image = Image(
        id=image_id,
        owner=owner,
        created_at=now,
        updated_at=now,
        **{k: v for k, v in base.items() if k != "owner"},
    )
    async with deps.db.begin() as s:
        await _check_image_quota(deps, s, owner)
        await validate_image_properties(deps, s, owner, props)
        if await s.get(Image, image_id) is not None:
            raise Conflict(f"An image with identifier {image_id} already exists")
        s.add(image)
        await s.flush()
        s.add_all([ImageProperty(image_id=image_id, name=k, value=v) for k, v in props.items()])
        s.add_all([ImageTag(image_id=image_id, value=t) for t in tags])
        events.record(s, ctx, image_id, "create", {**base, "properties": props, "tags": tags})
    return ImageRecord(image, props, sorted(tags), [])


def _split_create(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    base: dict[str, Any] = {}
    props: dict[str, str] = {}
    tags: list[str] = []
    for name in values:  # Glance refuses read-only/reserved keys before validating values
        if name != "id":
            rules.check_writable(name, creating=True)
    for name, value in values.items():
        if name == "id":
            continue
        if name == "tags":
            tags = rules.validate_tags(value)
        elif name in rules.WRITABLE:
            base[name] = rules.validate_base(name, value)
        else:
            k, v = rules.validate_property(name, value)
            props[k] = v
    return base, props, tags


def _check_visibility_change(
    deps: Deps, ctx: RequestContext, target: Target, visibility: str | None
) -> None:
    if visibility == "public":
        deps.policy.enforce("publicize_image", ctx.principal, target)
    elif visibility == "community":
        deps.policy.enforce("communitize_image", ctx.principal, target)


def _check_counts(deps: Deps, n_props: int, n_tags: int) -> None:
    quotas = deps.settings.quotas
    if 0 <= quotas.properties_per_image < n_props:
        raise QuotaExceeded(
            f"Maximum number of properties exceeded ({quotas.properties_per_image})"
        )
    if 0 <= quotas.tags_per_image < n_tags:
        raise QuotaExceeded(f"Maximum number of tags exceeded ({quotas.tags_per_image})")


async def _check_image_quota(deps: Deps, s: AsyncSession, owner: str | None) -> None:
    limit = deps.settings.quotas.image_count
    if limit < 0 or owner is None:
        return
    count = (
        await s.exec(
            select(func.count())
            .select_from(Image)
            .where(Image.owner == owner, col(Image.deleted).is_(False))
        )
    ).one()
    if count >= limit:
        raise QuotaExceeded(f"Image count quota of {limit} reached for project {owner}")


async def update(deps: Deps, ctx: RequestContext, image_id: str, patch: ImagePatch) -> ImageRecord:
    """Apply all changes of ``patch`` or none of them."""
    async with deps.db.begin() as s:
        image = await load_for(s, deps, ctx, image_id, "modify_image")
        record = await record_of(s, image)
        changes = _apply(deps, ctx, record, patch)
        if changes:
            _check_counts(deps, len(record.properties), len(record.tags))
            changed = {k: record.properties[k] for k in _changed_properties(changes, record)}
            await validate_image_properties(deps, s, image.owner, changed)
            await _persist(s, record, changes)
            image.updated_at = utcnow()
            s.add(image)
            events.record(s, ctx, image.id, "update", changes)
    return record


def _changed_properties(changes: dict[str, Any], rec: ImageRecord) -> list[str]:
    names = (k.removeprefix("properties.") for k in changes if k.startswith("properties."))
    return [n for n in names if n in rec.properties]


def _apply(deps: Deps, ctx: RequestContext, rec: ImageRecord, patch: ImagePatch) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for op in patch.ops:
        rules.check_writable(op.name, creating=False)
        if op.name == "locations":
            # Glance edits locations only with show_multiple_locations; we expose none.
            raise Forbidden("Image locations cannot be changed in this deployment.")
        if op.name in rules.COMPUTED:
            raise rules.missing_property(op.name)
        if op.name in rules.WRITABLE:
            _apply_base(deps, ctx, rec, op, patch.add_must_be_new)
            changes[op.name] = rec.tags if op.name == "tags" else getattr(rec.image, op.name)
        else:
            if op.op == "remove" and patch.remove_missing_ok and op.name not in rec.properties:
                continue
            _apply_property(rec, op, patch.add_must_be_new)
            changes[f"properties.{op.name}"] = rec.properties.get(op.name)
    return changes


def _apply_base(
    deps: Deps, ctx: RequestContext, rec: ImageRecord, op: PatchOp, strict: bool
) -> None:
    if op.op == "remove":
        raise Forbidden(f"Attribute '{op.name}' may not be removed.")
    if op.op == "add" and strict:
        raise Conflict(f"Attribute '{op.name}' already exists; use replace.")
    value = rules.validate_base(op.name, op.value)
    image = rec.image
    target = Target(owner=image.owner, visibility=image.visibility)
    if op.name == "tags":
        rec.tags = sorted(value)
        return
    if op.name == "owner" and value != image.owner:
        deps.policy.enforce("set_image_owner", ctx.principal, target)
    if op.name == "visibility" and value != image.visibility:
        _check_visibility_change(deps, ctx, target, value)
    if getattr(image, op.name) != value:
        rules.check_formats_mutable(image.status, op.name)
    setattr(image, op.name, value)


def _apply_property(rec: ImageRecord, op: PatchOp, strict: bool) -> None:
    exists = op.name in rec.properties
    if op.op == "remove":
        if not exists:
            raise rules.missing_property(op.name)
        del rec.properties[op.name]
        return
    if op.op == "replace" and not exists:
        raise rules.missing_property(op.name)
    if op.op == "add" and strict and exists:
        raise Conflict(f"Property '{op.name}' already exists; use replace.")
    name, value = rules.validate_property(op.name, op.value)
    rec.properties[name] = value


def merge_patch(changes: Mapping[str, Any]) -> ImagePatch:
    """A JSON object of changes as a patch: base attributes are replaced, custom properties
    set, and a custom property given as ``null`` removed (RFC 7386 merge semantics)."""
    if not isinstance(changes, Mapping):
        raise InvalidInput("The body must be a JSON object of changes")
    ops = []
    for name, value in changes.items():
        if name in rules.BASE:
            ops.append(PatchOp("replace", name, value))
        elif value is None:
            ops.append(PatchOp("remove", name))
        else:
            ops.append(PatchOp("add", name, value))
    return ImagePatch(ops, remove_missing_ok=True)


async def merge(
    deps: Deps, ctx: RequestContext, image_id: str, changes: Mapping[str, Any]
) -> ImageRecord:
    """Apply a JSON object of changes (see :func:`merge_patch`) atomically."""
    return await update(deps, ctx, image_id, merge_patch(changes))


async def _persist(s: AsyncSession, rec: ImageRecord, changes: dict[str, Any]) -> None:
    image_id = rec.image.id
    if any(k.startswith("properties.") for k in changes):
        await s.exec(sa_delete(ImageProperty).where(col(ImageProperty.image_id) == image_id))
        s.add_all(
            [ImageProperty(image_id=image_id, name=k, value=v) for k, v in rec.properties.items()]
        )
    if "tags" in changes:
        await s.exec(sa_delete(ImageTag).where(col(ImageTag.image_id) == image_id))
        s.add_all([ImageTag(image_id=image_id, value=t) for t in rec.tags])


async def delete(deps: Deps, ctx: RequestContext, image_id: str) -> None:
    """Soft-delete an image and remove its data (protected images refuse)."""
    async with deps.db.begin() as s:
        image = await load_for(s, deps, ctx, image_id, "delete_image")
        if image.protected:
            raise Forbidden(f"Image {image.id} is protected and cannot be deleted.")
        check_transition(image.status, "deleted")
        locations = list(
            (await s.exec(select(ImageLocation).where(ImageLocation.image_id == image.id))).all()
        )
        image.status, image.deleted, image.deleted_at = "deleted", True, utcnow()
        image.updated_at = image.deleted_at
        s.add(image)
        await s.exec(sa_delete(ImageLocation).where(col(ImageLocation.image_id) == image.id))
        events.record(s, ctx, image.id, "delete", {"status": "deleted"})
    await remove_blobs(deps, [loc.url for loc in locations])


async def remove_blobs(deps: Deps, uris: Iterable[str]) -> None:
    """Best-effort blob removal after the catalog change committed (stores are idempotent)."""
    for uri in uris:
        store = deps.stores.for_uri(uri)
        if store is None:
            log.warning("no configured store owns %s; leaving it", uri)
            continue
        try:
            await store.delete(uri)
        except Exception:  # a leftover blob must not undo a committed delete
            log.exception("could not remove blob %s", uri)


async def add_tag(deps: Deps, ctx: RequestContext, image_id: str, tag: str) -> None:
    tag = rules.validate_tag(tag)
    async with deps.db.begin() as s:
        image = await load_for(s, deps, ctx, image_id, "modify_image")
        if await s.get(ImageTag, (image.id, tag)) is not None:
            return
        count = (
            await s.exec(
                select(func.count()).select_from(ImageTag).where(ImageTag.image_id == image.id)
            )
        ).one()
        _check_counts(deps, 0, count + 1)
        s.add(ImageTag(image_id=image.id, value=tag))
        image.updated_at = utcnow()
        s.add(image)
        events.record(s, ctx, image.id, "add_tag", {"tag": tag})


async def remove_tag(deps: Deps, ctx: RequestContext, image_id: str, tag: str) -> None:
    async with deps.db.begin() as s:
        image = await load_for(s, deps, ctx, image_id, "modify_image")
        row = await s.get(ImageTag, (image.id, tag))
        if row is None:
            raise NotFound(f"Tag {tag} not found on image {image.id}")
        await s.delete(row)
        image.updated_at = utcnow()
        s.add(image)
        events.record(s, ctx, image.id, "remove_tag", {"tag": tag})


async def set_property(
    deps: Deps, ctx: RequestContext, image_id: str, name: str, value: str
) -> ImageRecord:
    return await update(deps, ctx, image_id, ImagePatch([PatchOp("add", name, value)]))


async def remove_property(deps: Deps, ctx: RequestContext, image_id: str, name: str) -> ImageRecord:
    return await update(deps, ctx, image_id, ImagePatch([PatchOp("remove", name)]))


async def set_status(
    deps: Deps, ctx: RequestContext, image_id: str, action: str, to: str, allowed_from: str
) -> ImageRecord:
    """Deactivate / reactivate: idempotent when already there, 403 from other states."""
    async with deps.db.begin() as s:
        image = await load_for(s, deps, ctx, image_id, action)
        if image.status != to:
            if image.status != allowed_from:
                raise Forbidden(f"Not allowed to {action} an image in status '{image.status}'")
            check_transition(image.status, to)
            image.status, image.updated_at = to, utcnow()
            s.add(image)
            events.record(s, ctx, image.id, action, {"status": to})
        return await record_of(s, image)


async def deactivate(deps: Deps, ctx: RequestContext, image_id: str) -> ImageRecord:
    return await set_status(deps, ctx, image_id, "deactivate", "deactivated", "active")


async def reactivate(deps: Deps, ctx: RequestContext, image_id: str) -> ImageRecord:
    return await set_status(deps, ctx, image_id, "reactivate", "active", "deactivated")
