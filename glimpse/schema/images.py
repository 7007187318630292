"""Image queries and mutations: inputs become neutral resolver types, results become types."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types.unset import UNSET, UnsetType

from glimpse.core.errors import InvalidInput
from glimpse.models import query as q
from glimpse.resolvers import images, members
from glimpse.resolvers.images import ImageCreate, ImagePatch, PatchOp
from glimpse.schema.context import Info
from glimpse.schema.scalars import BigInt
from glimpse.schema.types import Image, ImageStatus, Member, MemberStatus, Visibility


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


@strawberry.enum(description="Fields images can be sorted by.")
class ImageSortField(enum.Enum):
    NAME = "name"
    STATUS = "status"
    SIZE = "size"
    VIRTUAL_SIZE = "virtual_size"
    DISK_FORMAT = "disk_format"
    CONTAINER_FORMAT = "container_format"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    ID = "id"
    VISIBILITY = "visibility"
    OWNER = "owner"


@strawberry.enum(description="Sort direction.")
class SortDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="One sort key; created_at and id break ties.")
class ImageSort:
    field: ImageSortField = strawberry.field(description="Field to sort by.")
    direction: SortDirection = strawberry.field(
        default=SortDirection.DESC, description="Direction."
    )


@strawberry.type(description="An image and its position in the list.")
class ImageEdge:
    cursor: str = strawberry.field(description="Opaque position; pass as after/before.")
    node: Image = strawberry.field(description="The image.")


@strawberry.federation.type(
    shareable=True,
    description="Relay page information. @shareable: every subgraph with Relay connections "
    "defines the same value type, and composition needs them to agree to share it.",
)
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items after this page.")
    has_previous_page: bool = strawberry.field(description="More items before this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge.")


@strawberry.type(description="A page of images (keyset pagination).")
class ImageConnection:
    edges: list[ImageEdge] = strawberry.field(description="The images of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    total: strawberry.Private[int | None]

    @strawberry.field(description="Number of matching images; computed only when asked for.")
    def total_count(self) -> int | None:
        return self.total

    @strawberry.field(description="The images of this page, without cursors.")
    def nodes(self) -> list[Image]:
        return [e.node for e in self.edges]


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


def _wants_total(info: Info) -> bool:
    return any(
        sel.name == "totalCount"
        for f in info.selected_fields
        for sel in getattr(f, "selections", [])
    )


DETAIL_FIELDS = frozenset({"tags", "properties", "propertiesJson", "property", "stores"})


def _selected_names(selections: Any) -> Iterator[tuple[str, Any]]:
    """(name, selection) pairs of a strawberry selection list, fragments flattened."""
    for sel in selections or ():
        name = getattr(sel, "name", None)
        if name is None or not hasattr(sel, "arguments"):  # inline fragment or spread
            yield from _selected_names(getattr(sel, "selections", ()))
        else:
            yield name, sel


def _wants_details(info: Info) -> bool:
    """Whether the page's nodes ask for tags, properties or stores: then the list query
    fetches them for the whole page in the same session (three queries, no DataLoader)."""
    for field in info.selected_fields:
        for name, sel in _selected_names(field.selections):
            nodes = sel.selections if name == "nodes" else []
            if name == "edges":
                nodes = [
                    n
                    for e, s in _selected_names(sel.selections)
                    if e == "node"
                    for n in s.selections
                ]
            if any(n in DETAIL_FIELDS for n, _ in _selected_names(nodes)):
                return True
    return False


def _page_args(
    first: int | None, after: str | None, last: int | None, before: str | None, default: int
) -> tuple[int, q.Keyset | None, bool]:
    if last is not None or before is not None:
        if first is not None or after is not None:
            raise InvalidInput("Use first/after or last/before, not both")
        n = default if last is None else last
        return n, q.Keyset.decode(before) if before else None, True
    n = default if first is None else first
    return n, q.Keyset.decode(after) if after else None, False


ImageIdArg = Annotated[strawberry.ID, strawberry.argument(description="Image id (UUID).")]
TagArg = Annotated[str, strawberry.argument(description="The tag.")]
KeyArg = Annotated[str, strawberry.argument(description="Custom property name.")]
ValueArg = Annotated[str, strawberry.argument(description="Custom property value.")]
MemberArg = Annotated[str, strawberry.argument(description="Member project id.")]
MemberStatusArg = Annotated[MemberStatus, strawberry.argument(description="The new status.")]
FilterArg = Annotated[
    ImageFilter | None, strawberry.argument(description="Conditions that must all hold.")
]
SortArg = Annotated[
    list[ImageSort] | None,
    strawberry.argument(description="Sort keys in order; created_at and id break ties."),
]
FirstArg = Annotated[int | None, strawberry.argument(description="Page size, going forward.")]
AfterArg = Annotated[str | None, strawberry.argument(description="Start after this cursor.")]
LastArg = Annotated[int | None, strawberry.argument(description="Page size, going backward.")]
BeforeArg = Annotated[str | None, strawberry.argument(description="End before this cursor.")]
CreateArg = Annotated[
    "CreateImageInput", strawberry.argument(description="The new image's metadata.")
]
UpdateArg = Annotated["UpdateImageInput", strawberry.argument(description="The changes.")]


@strawberry.type
class ImageQuery:
    @strawberry.field(description="Images visible to the caller: filtered, sorted, paged.")
    async def images(
        self,
        info: Info,
        filter: FilterArg = None,
        sort: SortArg = None,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> ImageConnection:
        ctx = info.context.caller()
        deps = info.context.deps
        limit, keyset, reverse = _page_args(first, after, last, before, deps.settings.page_default)
        if limit < 0 or limit > deps.settings.page_max:
            raise InvalidInput(f"Page size must be between 0 and {deps.settings.page_max}")
        f = filter or ImageFilter()
        query = q.ListQuery(
            filters=to_filters(f),
            sort=tuple(q.SortKey(s.field.value, s.direction.value) for s in sort or []),
            after=keyset,
            limit=limit,
            reverse=reverse,
            visibility=f.visibility.value if _set(f.visibility) and f.visibility else None,
            member_status=f.member_status.value
            if _set(f.member_status) and f.member_status
            else "accepted",
            with_total=_wants_total(info),
        )
        details = _wants_details(info)
        page = await images.list_images(deps, ctx, query, with_details=details)
        edges = [
            ImageEdge(cursor=page.cursor(r).encode(), node=Image(r.image, r if details else None))
            for r in page.items
        ]
        info_ = PageInfo(
            has_next_page=page.has_next if not reverse else keyset is not None,
            has_previous_page=page.has_next if reverse else keyset is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return ImageConnection(edges=edges, page_info=info_, total=page.total)

    @strawberry.field(description="One image by id, or null when absent or not visible.")
    async def image(self, info: Info, id: ImageIdArg) -> Image | None:
        ctx = info.context.caller()
        row = await info.context.loaders.images.load(str(id))
        del ctx
        return Image(row=row) if row is not None else None


@strawberry.input(description="A custom property to set.")
class PropertyInput:
    key: str = strawberry.field(description="Property name.")
    value: str = strawberry.field(description="Property value.")


@strawberry.input(description="A new image's metadata (data is uploaded separately).")
class CreateImageInput:
    id: ImageIdArg | None = strawberry.field(default=UNSET, description="Chosen UUID.")
    name: str | None = strawberry.field(default=UNSET, description="Display name.")
    visibility: Visibility | None = strawberry.field(default=UNSET, description="Default shared.")
    protected: bool | None = strawberry.field(default=UNSET, description="Default false.")
    os_hidden: bool | None = strawberry.field(default=UNSET, description="Default false.")
    owner: str | None = strawberry.field(default=UNSET, description="Owner (admins only).")
    min_disk: int | None = strawberry.field(default=UNSET, description="GB, default 0.")
    min_ram: int | None = strawberry.field(default=UNSET, description="MB, default 0.")
    disk_format: str | None = strawberry.field(default=UNSET, description="Disk format.")
    container_format: str | None = strawberry.field(default=UNSET, description="Container format.")
    tags: list[str] | None = strawberry.field(default=UNSET, description="Tags.")
    properties: list[PropertyInput] | None = strawberry.field(
        default=UNSET, description="Custom properties."
    )


@strawberry.input(description="Changes to an image; omitted fields stay as they are.")
class UpdateImageInput:
    name: str | None = strawberry.field(default=UNSET, description="Display name.")
    visibility: Visibility | None = strawberry.field(default=UNSET, description="Visibility.")
    protected: bool | None = strawberry.field(default=UNSET, description="Protected flag.")
    os_hidden: bool | None = strawberry.field(default=UNSET, description="Hidden flag.")
    owner: str | None = strawberry.field(default=UNSET, description="Owner (admins only).")
    min_disk: int | None = strawberry.field(default=UNSET, description="GB.")
    min_ram: int | None = strawberry.field(default=UNSET, description="MB.")
    disk_format: str | None = strawberry.field(default=UNSET, description="Only while queued.")
    container_format: str | None = strawberry.field(default=UNSET, description="Only while queued.")
    tags: list[str] | None = strawberry.field(default=UNSET, description="Replace all tags.")
    set_properties: list[PropertyInput] | None = strawberry.field(
        default=UNSET, description="Custom properties to add or overwrite."
    )
    remove_properties: list[str] | None = strawberry.field(
        default=UNSET, description="Custom properties to remove (must exist)."
    )


BASE_INPUT_FIELDS = (
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "owner",
    "min_disk",
    "min_ram",
    "disk_format",
    "container_format",
    "tags",
)


def _plain(v: Any) -> Any:
    return v.value if isinstance(v, enum.Enum) else v


def create_values(inp: CreateImageInput) -> dict[str, Any]:
    values = {n: _plain(getattr(inp, n)) for n in BASE_INPUT_FIELDS if getattr(inp, n) is not UNSET}
    if inp.id is not UNSET and inp.id is not None:
        values["id"] = str(inp.id)
    for p in inp.properties or []:
        values[p.key] = p.value
    return values


def update_patch(inp: UpdateImageInput) -> ImagePatch:
    ops = [
        PatchOp("replace", n, _plain(getattr(inp, n)))
        for n in BASE_INPUT_FIELDS
        if not isinstance(getattr(inp, n), UnsetType)
    ]
    ops += [PatchOp("add", p.key, p.value) for p in inp.set_properties or []]
    ops += [PatchOp("remove", k) for k in inp.remove_properties or []]
    return ImagePatch(ops)


@strawberry.type(description="Result of deleteImage.")
class DeleteImagePayload:
    id: ImageIdArg = strawberry.field(description="The deleted image.")
    deleted: bool = strawberry.field(description="Always true on success.")


@strawberry.type
class ImageMutation:
    @strawberry.mutation(description="Create a queued image; upload data via links.file.")
    async def create_image(self, info: Info, input: CreateArg) -> Image:
        rec = await images.create(
            info.context.deps, info.context.caller(), ImageCreate(create_values(input))
        )
        return Image(rec.image, rec)

    @strawberry.mutation(description="Change an image; all changes apply or none.")
    async def update_image(self, info: Info, id: ImageIdArg, input: UpdateArg) -> Image:
        rec = await images.update(
            info.context.deps, info.context.caller(), str(id), update_patch(input)
        )
        return Image(rec.image, rec)

    @strawberry.mutation(description="Delete an image and its data (protected images refuse).")
    async def delete_image(self, info: Info, id: ImageIdArg) -> DeleteImagePayload:
        await images.delete(info.context.deps, info.context.caller(), str(id))
        return DeleteImagePayload(id=id, deleted=True)

    @strawberry.mutation(description="Add a tag (idempotent).")
    async def add_image_tag(self, info: Info, id: ImageIdArg, tag: TagArg) -> Image:
        await images.add_tag(info.context.deps, info.context.caller(), str(id), tag)
        return await _reload(info, str(id))

    @strawberry.mutation(description="Remove a tag (it must exist).")
    async def remove_image_tag(self, info: Info, id: ImageIdArg, tag: TagArg) -> Image:
        await images.remove_tag(info.context.deps, info.context.caller(), str(id), tag)
        return await _reload(info, str(id))

    @strawberry.mutation(description="Set one custom property.")
    async def set_image_property(
        self, info: Info, id: ImageIdArg, key: KeyArg, value: ValueArg
    ) -> Image:
        rec = await images.set_property(
            info.context.deps, info.context.caller(), str(id), key, value
        )
        return Image(rec.image, rec)

    @strawberry.mutation(description="Remove one custom property (it must exist).")
    async def remove_image_property(self, info: Info, id: ImageIdArg, key: KeyArg) -> Image:
        rec = await images.remove_property(info.context.deps, info.context.caller(), str(id), key)
        return Image(rec.image, rec)

    @strawberry.mutation(
        description="Pause an image: it can no longer be downloaded or used (Glance's deactivate)."
    )
    async def pause_image(self, info: Info, id: ImageIdArg) -> Image:
        rec = await images.deactivate(info.context.deps, info.context.caller(), str(id))
        return Image(rec.image, rec)

    @strawberry.mutation(description="Unpause an image (Glance's reactivate).")
    async def unpause_image(self, info: Info, id: ImageIdArg) -> Image:
        rec = await images.reactivate(info.context.deps, info.context.caller(), str(id))
        return Image(rec.image, rec)

    @strawberry.mutation(description="Share a shared image with a project (status pending).")
    async def add_image_member(self, info: Info, id: ImageIdArg, member: MemberArg) -> Member:
        row = await members.add_member(info.context.deps, info.context.caller(), str(id), member)
        return Member.of(row)

    @strawberry.mutation(description="Accept, reject or reset a share (the member project only).")
    async def update_image_member(
        self, info: Info, id: ImageIdArg, member: MemberArg, status: MemberStatusArg
    ) -> Member:
        row = await members.update_member(
            info.context.deps, info.context.caller(), str(id), member, status.value
        )
        return Member.of(row)

    @strawberry.mutation(description="Stop sharing an image with a project.")
    async def remove_image_member(self, info: Info, id: ImageIdArg, member: MemberArg) -> bool:
        await members.remove_member(info.context.deps, info.context.caller(), str(id), member)
        return True


async def _reload(info: Info, image_id: str) -> Image:
    rec = await images.get(info.context.deps, info.context.caller(), image_id)
    return Image(rec.image, rec)


__all__ = ["ImageMutation", "ImageQuery", "replace"]
