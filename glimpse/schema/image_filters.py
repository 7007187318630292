"""Image list filter inputs and their translation to the neutral filters REST produces too."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types.unset import UNSET

from glimpse.core.errors import InvalidInput
from glimpse.models import query as q
from glimpse.schema.scalars import BigInt
from glimpse.schema.types import ImageStatus


@strawberry.input(description="Match a string field.")
class StringFilter:
    eq: str | None = strawberry.field(default=UNSET, description="Equal to.")
    neq: str | None = strawberry.field(default=UNSET, description="Not equal to.")
    in_: list[str] | None = strawberry.field(default=UNSET, name="in", description="One of.")
    contains: str | None = strawberry.field(default=UNSET, description="Substring.")


@strawberry.input(description="Compare a 64-bit integer field.")
class BigIntFilter:
    eq: BigInt | None = strawberry.field(default=UNSET, description="Equal to.")
    neq: BigInt | None = strawberry.field(default=UNSET, description="Not equal to.")
    gt: BigInt | None = strawberry.field(default=UNSET, description="Greater than.")
    gte: BigInt | None = strawberry.field(default=UNSET, description="At least.")
    lt: BigInt | None = strawberry.field(default=UNSET, description="Less than.")
    lte: BigInt | None = strawberry.field(default=UNSET, description="At most.")


@strawberry.input(description="Compare a timestamp field (UTC).")
class TimeFilter:
    eq: datetime | None = strawberry.field(default=UNSET, description="Equal to.")
    neq: datetime | None = strawberry.field(default=UNSET, description="Not equal to.")
    gt: datetime | None = strawberry.field(default=UNSET, description="After.")
    gte: datetime | None = strawberry.field(default=UNSET, description="At or after.")
    lt: datetime | None = strawberry.field(default=UNSET, description="Before.")
    lte: datetime | None = strawberry.field(default=UNSET, description="At or before.")


@strawberry.input(description="Match a custom property: equality, one-of or substring.")
class PropertyFilter:
    key: str = strawberry.field(description="Property name.")
    eq: str | None = strawberry.field(default=UNSET, description="Equal to.")
    in_: list[str] | None = strawberry.field(default=UNSET, name="in", description="One of.")
    contains: str | None = strawberry.field(default=UNSET, description="Substring.")


@strawberry.enum(description="Which member status counts when listing shared images.")
class MemberStatusFilter(enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ALL = "all"


@strawberry.enum(description="Visibility filter; ALL includes others' community images.")
class VisibilityFilter(enum.Enum):
    PUBLIC = "public"
    COMMUNITY = "community"
    SHARED = "shared"
    PRIVATE = "private"
    ALL = "all"


@strawberry.input(description="Image list filters; all given conditions must hold.")
class ImageFilter:
    id: StringFilter | None = strawberry.field(default=UNSET, description="Image id.")
    name: StringFilter | None = strawberry.field(default=UNSET, description="Name.")
    status: list[ImageStatus] | None = strawberry.field(default=UNSET, description="Any of.")
    visibility: VisibilityFilter | None = strawberry.field(
        default=UNSET, description="Visibility scope (default: what Glance lists by default)."
    )
    member_status: MemberStatusFilter | None = strawberry.field(
        default=UNSET, description="Member status of shared images to include (default accepted)."
    )
    owner: StringFilter | None = strawberry.field(default=UNSET, description="Owner project.")
    tags: list[str] | None = strawberry.field(default=UNSET, description="All of these tags.")
    properties: list[PropertyFilter] | None = strawberry.field(
        default=UNSET, description="Custom property conditions (all must hold)."
    )
    size: BigIntFilter | None = strawberry.field(default=UNSET, description="Data size.")
    virtual_size: BigIntFilter | None = strawberry.field(default=UNSET, description="Virtual size.")
    created_at: TimeFilter | None = strawberry.field(default=UNSET, description="Creation time.")
    updated_at: TimeFilter | None = strawberry.field(default=UNSET, description="Update time.")
    protected: bool | None = strawberry.field(default=UNSET, description="Protected flag.")
    os_hidden: bool | None = strawberry.field(
        default=UNSET, description="Hidden flag (default: hidden images excluded)."
    )
    disk_format: StringFilter | None = strawberry.field(default=UNSET, description="Disk format.")
    container_format: StringFilter | None = strawberry.field(
        default=UNSET, description="Container format."
    )
    checksum: str | None = strawberry.field(default=UNSET, description="MD5 of the data.")
    os_hash_value: str | None = strawberry.field(default=UNSET, description="SHA-512 of the data.")


def _set(v: Any) -> bool:
    return v is not UNSET and v is not None


def _string_filters(name: str, f: StringFilter | None) -> list[q.Filter]:
    if not _set(f):
        return []
    assert f is not None
    out: list[q.Filter] = []
    for op, value in (("eq", f.eq), ("neq", f.neq), ("contains", f.contains)):
        if _set(value):
            out.append(q.FieldFilter(name, op, value))  # type: ignore[arg-type]
    if _set(f.in_):
        out.append(q.FieldFilter(name, "in", tuple(f.in_ or ())))
    return out


def _compare_filters(name: str, f: BigIntFilter | TimeFilter | None) -> list[q.Filter]:
    if not _set(f):
        return []
    return [
        q.FieldFilter(name, op, getattr(f, op))
        for op in ("eq", "neq", "gt", "gte", "lt", "lte")
        if _set(getattr(f, op))
    ]


def to_filters(f: ImageFilter) -> tuple[q.Filter, ...]:
    """GraphQL filter input -> the neutral filters the REST layer produces too."""
    out: list[q.Filter] = []
    for name in ("id", "name", "owner", "disk_format", "container_format"):
        out += _string_filters(name, getattr(f, name))
    for name in ("size", "virtual_size", "created_at", "updated_at"):
        out += _compare_filters(name, getattr(f, name))
    if _set(f.status):
        out.append(q.FieldFilter("status", "in", tuple(s.value for s in f.status or ())))
    for name in ("protected", "os_hidden", "checksum", "os_hash_value"):
        if _set(getattr(f, name)):
            out.append(q.FieldFilter(name, "eq", getattr(f, name)))
    if _set(f.tags) and f.tags:
        out.append(q.TagFilter(tuple(f.tags)))
    for p in f.properties or []:
        out += _property_filters(p)
    return tuple(out)


def _property_filters(p: PropertyFilter) -> list[q.Filter]:
    out: list[q.Filter] = []
    if _set(p.eq):
        out.append(q.PropertyFilter(p.key, "eq", p.eq))
    if _set(p.in_):
        out.append(q.PropertyFilter(p.key, "in", tuple(p.in_ or ())))
    if _set(p.contains):
        out.append(q.PropertyFilter(p.key, "contains", p.contains))
    if not out:
        raise InvalidInput(f"Property filter on '{p.key}' needs eq, in or contains")
    return out
