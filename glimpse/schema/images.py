"""Image queries: the keyset connection over the neutral list query (filters: image_filters,
mutations: image_mutations)."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Annotated, Any

import strawberry

from glimpse.core.errors import InvalidInput
from glimpse.models import query as q
from glimpse.resolvers import images
from glimpse.schema import cursors
from glimpse.schema.context import Info
from glimpse.schema.image_args import ImageIdArg
from glimpse.schema.image_filters import (
    ImageFilter,
    _set,
    to_filters,
)
from glimpse.schema.types import Image


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
    node: Image = strawberry.field(description="The image.")
    page: strawberry.Private[images.Page]
    record: strawberry.Private[images.ImageRecord]

    @strawberry.field(description="Opaque position; pass as after/before.")
    def cursor(self) -> str:
        # Computed only when asked for: most pages ask for nodes and pageInfo only.
        return self.page.cursor(self.record).encode()


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


def _wants_total(fields: Any) -> bool:
    return any(sel.name == "totalCount" for f in fields for sel in getattr(f, "selections", []))


DETAIL_FIELDS = frozenset({"tags", "properties", "propertiesJson", "property", "stores"})


def _selected_names(selections: Any) -> Iterator[tuple[str, Any]]:
    """(name, selection) pairs of a strawberry selection list, fragments flattened."""
    for sel in selections or ():
        name = getattr(sel, "name", None)
        if name is None or not hasattr(sel, "arguments"):  # inline fragment or spread
            yield from _selected_names(getattr(sel, "selections", ()))
        else:
            yield name, sel


def _wants_details(fields: Any) -> bool:
    """Whether the page's nodes ask for tags, properties or stores: then the list query
    fetches them with the page (same statement, no DataLoader)."""
    for field in fields:
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
        return n, cursors.decode(before) if before else None, True
    n = default if first is None else first
    return n, cursors.decode(after) if after else None, False


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
        selected = info.selected_fields  # built from the AST on each access: once
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
            with_total=_wants_total(selected),
        )
        details = _wants_details(selected)
        page = await images.list_images(deps, ctx, query, with_details=details)
        edges = [
            ImageEdge(node=Image(r.image, r if details else None), page=page, record=r)
            for r in page.items
        ]
        items = page.items
        info_ = PageInfo(
            has_next_page=page.has_next if not reverse else keyset is not None,
            has_previous_page=page.has_next if reverse else keyset is not None,
            start_cursor=page.cursor(items[0]).encode() if items else None,
            end_cursor=page.cursor(items[-1]).encode() if items else None,
        )
        return ImageConnection(edges=edges, page_info=info_, total=page.total)

    @strawberry.field(description="One image by id, or null when absent or not visible.")
    async def image(self, info: Info, id: ImageIdArg) -> Image | None:
        info.context.caller()  # anonymous callers get UNAUTHENTICATED, not null
        record = await info.context.loaders.images.load(str(id))
        return Image(record.image, record) if record is not None else None
