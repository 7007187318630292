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

from glimpse.core.clock import utcnow
from glimpse.core.context import RequestContext
from glimpse.core.errors import Conflict, Forbidden, InvalidInput, NotFound, QuotaExceeded
from glimpse.core.sql import Conn, UniqueViolation
from glimpse.models import image_sql as sql
from glimpse.models.image_sql import ImageRow
from glimpse.models.status import check_transition
from glimpse.policy.rules import Target
from glimpse.resolvers import events, text
from glimpse.resolvers import image_rules as rules
from glimpse.resolvers.deps import Deps
from glimpse.resolvers.image_reads import (  # re-exported: callers use images.*
    ImageRecord,
    Page,
    fetch_record,
    get,
    get_many,
    keyset_for_marker,
    list_images,
    load_for,
    load_visible,
    member_status,
    record_of,
    relations_for,
    visible_record,
)
from glimpse.resolvers.limits import project_limits
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
    image = _new_row(image_id, owner, base)
    await validate_image_properties(deps, owner, props)
    event = events.entry(ctx, image_id, "create", {**base, "properties": props, "tags": tags})
    limit = await _image_count_limit(deps, owner)
    try:
        async with deps.db.writer(one_statement=limit is None) as conn:
            if limit is not None:
                await _check_image_quota(conn, owner, limit)
            await sql.create(conn, image, props, tags, event)
    except UniqueViolation as exc:  # the id is taken (perhaps by a create a moment ago)
        raise _exists(image_id) from exc
    return ImageRecord(image, props, sorted(tags), [])


def _exists(image_id: str) -> Conflict:
    return Conflict(f"An image with identifier {image_id} already exists")


def _new_row(image_id: str, owner: str | None, base: Mapping[str, Any]) -> ImageRow:
    """A queued image with Glance's defaults, then the validated base attributes."""
    now = utcnow()
    row = ImageRow(
        id=image_id,
        name=None,
        status="queued",
        visibility="shared",
        protected=False,
        os_hidden=False,
        owner=owner,
        min_disk=0,
        min_ram=0,
        disk_format=None,
        container_format=None,
        size=None,
        virtual_size=None,
        checksum=None,
        os_hash_algo=None,
        os_hash_value=None,
        created_at=now,
        updated_at=now,
    )
    for name, value in base.items():
        if name != "owner":
            setattr(row, name, value)
    return row


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


async def _image_count_limit(deps: Deps, owner: str | None) -> int | None:
    """The owner's image count limit (``None``: unlimited), read before the write
    transaction opens: it may come from Keystone (resolvers.limits)."""
    if owner is None:
        return None
    limit = (await project_limits(deps, owner)).image_count_total
    return None if limit < 0 else limit


async def _check_image_quota(conn: Conn, owner: str | None, limit: int) -> None:
    count = await conn.fetchval(
        "SELECT count(*) FROM images WHERE owner = ? AND NOT deleted", (owner,)
    )
    if int(count) >= limit:
        raise QuotaExceeded(f"Image count quota of {limit} reached for project {owner}")


async def _load_for(
    conn: Conn, deps: Deps, ctx: RequestContext, image_id: str, action: str
) -> ImageRecord:
    """The visible image, locked, on which ``action`` is allowed (404 / 403)."""
    record, target = await visible_record(conn, deps, ctx, image_id, for_update=True)
    deps.policy.enforce(action, ctx.principal, target)
    return record


async def update(deps: Deps, ctx: RequestContext, image_id: str, patch: ImagePatch) -> ImageRecord:
    """Apply all changes of ``patch`` or none of them."""
    async with deps.db.writer() as conn:
        record = await _load_for(conn, deps, ctx, image_id, "modify_image")
        before = ImageRecord(
            ImageRow(**{c: getattr(record.image, c) for c in sql.COLUMNS}),
            dict(record.properties),
            list(record.tags),
            record.stores,
        )
        changes = _apply(deps, ctx, record, patch)
        if changes:
            _check_counts(deps, len(record.properties), len(record.tags))
            changed = {k: record.properties[k] for k in _changed_properties(changes, record)}
            await validate_image_properties(deps, record.image.owner, changed)
            record.image.updated_at = utcnow()
            await _persist(conn, before, record)
            await events.write(conn, ctx, record.image.id, "update", changes)
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


async def _persist(conn: Conn, before: ImageRecord, after: ImageRecord) -> None:
    """Write what changed between two versions of a record."""
    image_id = after.image.id
    columns = {
        c: getattr(after.image, c)
        for c in sql.COLUMNS
        if getattr(after.image, c) != getattr(before.image, c)
    }
    await sql.update_columns(conn, image_id, columns)
    await sql.replace_properties(conn, image_id, before.properties, after.properties)
    await sql.replace_tags(conn, image_id, before.tags, after.tags)


async def delete(deps: Deps, ctx: RequestContext, image_id: str) -> None:
    """Soft-delete an image and remove its data (protected images refuse)."""
    async with deps.db.writer() as conn:
        record = await _load_for(conn, deps, ctx, image_id, "delete_image")
        image = record.image
        if image.protected:
            raise Forbidden(f"Image {image.id} is protected and cannot be deleted.")
        check_transition(image.status, "deleted")
        rows = await conn.fetch("SELECT url FROM image_locations WHERE image_id = ?", (image.id,))
        now = utcnow()
        await sql.update_columns(
            conn,
            image.id,
            {"status": "deleted", "deleted": True, "deleted_at": now, "updated_at": now},
        )
        await conn.execute("DELETE FROM image_locations WHERE image_id = ?", (image.id,))
        await events.write(conn, ctx, image.id, "delete", {"status": "deleted"})
    await remove_blobs(deps, [r[0] for r in rows])


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
    async with deps.db.writer() as conn:
        record = await _load_for(conn, deps, ctx, image_id, "modify_image")
        if tag in record.tags:
            return
        _check_counts(deps, 0, len(record.tags) + 1)
        try:
            await conn.execute(sql.INSERT_TAG, (record.image.id, tag))
        except UniqueViolation as exc:  # a concurrent request added it first
            raise Conflict(f"Tag {tag} was just added to image {record.image.id}") from exc
        await _touch(conn, record.image.id)
        await events.write(conn, ctx, record.image.id, "add_tag", {"tag": tag})


async def remove_tag(deps: Deps, ctx: RequestContext, image_id: str, tag: str) -> None:
    text.check(tag, "tag")  # from a path: text no database stores is bad input (400)
    async with deps.db.writer() as conn:
        record = await _load_for(conn, deps, ctx, image_id, "modify_image")
        if tag not in record.tags:
            raise NotFound(f"Tag {tag} not found on image {record.image.id}")
        await conn.execute(
            "DELETE FROM image_tags WHERE image_id = ? AND value = ?", (record.image.id, tag)
        )
        await _touch(conn, record.image.id)
        await events.write(conn, ctx, record.image.id, "remove_tag", {"tag": tag})


async def _touch(conn: Conn, image_id: str) -> None:
    await sql.update_columns(conn, image_id, {"updated_at": utcnow()})


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
    async with deps.db.writer() as conn:
        record = await _load_for(conn, deps, ctx, image_id, action)
        image = record.image
        if image.status != to:
            if image.status != allowed_from:
                raise Forbidden(f"Not allowed to {action} an image in status '{image.status}'")
            check_transition(image.status, to)
            image.status, image.updated_at = to, utcnow()
            await sql.update_columns(conn, image.id, {"status": to, "updated_at": image.updated_at})
            await events.write(conn, ctx, image.id, action, {"status": to})
    return record


async def deactivate(deps: Deps, ctx: RequestContext, image_id: str) -> ImageRecord:
    return await set_status(deps, ctx, image_id, "deactivate", "deactivated", "active")


async def reactivate(deps: Deps, ctx: RequestContext, image_id: str) -> ImageRecord:
    return await set_status(deps, ctx, image_id, "reactivate", "active", "deactivated")


__all__ = [
    "ImageCreate",
    "ImagePatch",
    "ImageRecord",
    "Page",
    "PatchOp",
    "fetch_record",
    "get",
    "get_many",
    "keyset_for_marker",
    "list_images",
    "load_for",
    "load_visible",
    "member_status",
    "record_of",
    "relations_for",
]
